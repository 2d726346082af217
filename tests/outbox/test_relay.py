"""The outbox: the relay after commit hands a message to the broker and writes nothing; the
task marks it done in its own transaction; the sweep sends again what the broker refused
(after the grace) and what was handed over but never done (after the redelivery timeout)."""

import datetime

import pytest
from celery import current_app
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from outbox import services
from outbox.models import OutboxMessage
from outbox.services import (
    DRAIN_NUDGE_SECONDS,
    OUTBOX_MESSAGE_KWARG,
    outbox_enqueue,
    outbox_given_up,
    outbox_message_done,
    outbox_messages_claim,
    outbox_messages_done,
    outbox_relay_pending,
)

pytestmark = pytest.mark.django_db

EFFECTS: list[int] = []


@current_app.task(name="tests.outbox.effect_record")
def effect_record(n: int, fail: bool = False, outbox_message_id: int | None = None) -> None:
    """A consuming task as the apps write them: its effect and the done mark commit together."""
    with transaction.atomic():
        outbox_message_done(message_id=outbox_message_id)
        if fail:
            raise RuntimeError("the task failed")
        EFFECTS.append(n)


class Broker:
    """The broker (outside the process): records what it is sent, refuses on demand."""

    def __init__(self, refuse_from: int | None = None):
        self.sent, self.refuse_from = [], refuse_from

    def send_task(self, name, kwargs=None, countdown=None):
        if self.refuse_from is not None and len(self.sent) >= self.refuse_from:
            raise ConnectionError("broker down")
        self.sent.append((name, kwargs) if countdown is None else (name, kwargs, countdown))


@pytest.fixture
def broker(monkeypatch):
    # Set and restored as the attribute tests/conftest.py sets (an item set on Celery's
    # settings outlives the test and leaves later worker tests running tasks inline).
    previous = current_app.conf.task_always_eager

    def install(**options):
        fake = Broker(**options)
        current_app.conf.task_always_eager = False
        monkeypatch.setattr(current_app, "send_task", fake.send_task)
        return fake

    yield install
    current_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def timing(settings):
    settings.OUTBOX_RELAY_GRACE_SECONDS = 10
    settings.OUTBOX_REDELIVER_SECONDS = 900
    settings.OUTBOX_GIVE_UP_SECONDS = 7200
    EFFECTS.clear()


def _enqueue(n: int, **kwargs) -> int:
    return outbox_enqueue(
        task_name="tests.outbox.effect_record", kwargs={"n": n, **kwargs}, dedupe_key=f"test:{n}"
    )


def _age(seconds: int, **fields) -> None:
    """Move the clock: the messages were created (or the named fields set) that long ago."""
    then = timezone.now() - datetime.timedelta(seconds=seconds)
    OutboxMessage.objects.update(created_at=then, **{field: then for field in fields})


def _pending(n: int) -> list[int]:
    """Messages whose relay never ran (the process died after the commit), past the
    redelivery timeout (and not yet given up)."""
    ids = [_enqueue(i) for i in range(n)]
    _age(1000)
    return ids


def test_the_relay_after_commit_hands_the_message_over_and_writes_nothing(
    broker, django_capture_on_commit_callbacks, django_assert_num_queries
):
    fake = broker()
    with django_capture_on_commit_callbacks() as callbacks:
        message_id = _enqueue(1)
    with django_assert_num_queries(0):
        for callback in callbacks:
            callback()
    assert fake.sent == [("tests.outbox.effect_record", {"n": 1, OUTBOX_MESSAGE_KWARG: message_id})]
    message = OutboxMessage.objects.get()
    assert (message.published_at, message.done_at, message.send_attempts) == (None, None, 0)


def test_a_message_whose_task_ran_is_done_and_not_sent_again(
    broker, django_capture_on_commit_callbacks
):
    fake = broker()
    with django_capture_on_commit_callbacks(execute=True):
        message_id = _enqueue(1)
    effect_record.apply(kwargs=fake.sent[0][1])  # the worker runs it
    assert EFFECTS == [1]
    assert OutboxMessage.objects.get(pk=message_id).done_at is not None
    _age(3600)
    assert outbox_relay_pending() == 0


def test_marking_a_message_done_is_one_statement(django_assert_num_queries):
    message_id = _enqueue(1)
    with django_assert_num_queries(1):
        outbox_message_done(message_id=message_id)
    with django_assert_num_queries(0):
        outbox_message_done(message_id=None)  # a task not started by the outbox


def test_the_same_work_enqueued_twice_is_one_message():
    first = _enqueue(7)
    assert _enqueue(7) is None
    assert list(OutboxMessage.objects.values_list("pk", flat=True)) == [first]


@pytest.mark.postgres
def test_on_postgresql_enqueue_and_done_run_as_the_sessions_prepared_statements(settings):
    settings.DATABASE_PREPARED_STATEMENTS = True
    with CaptureQueriesContext(connection) as queries:
        first, second = _enqueue(1), _enqueue(2)
        assert outbox_message_done(message_id=first) is True
        assert outbox_message_done(message_id=first) is False  # done already: no row
    assert [query["sql"].split("(")[0].split()[:2] for query in queries] == [
        ["EXECUTE", "outbox_enqueue"], ["EXECUTE", "outbox_enqueue"],
        ["EXECUTE", "outbox_message_done"], ["EXECUTE", "outbox_message_done"],
    ]  # fmt: skip
    assert OutboxMessage.objects.get(pk=second).done_at is None
    assert OutboxMessage.objects.get(pk=first).done_at is not None


def test_a_message_handed_over_whose_task_never_ran_is_sent_again_after_the_redelivery_timeout(
    broker, django_capture_on_commit_callbacks
):
    fake = broker()
    with django_capture_on_commit_callbacks(execute=True):
        _enqueue(1)
    _age(901)  # the task was lost with its worker
    assert outbox_relay_pending() == 1
    assert len(fake.sent) == 2
    message = OutboxMessage.objects.get()
    assert message.published_at is not None and message.send_attempts == 1
    assert outbox_relay_pending() == 0, "published again: it waits another timeout"


def test_a_broker_backlog_shorter_than_the_redelivery_timeout_causes_no_second_send(
    broker, django_capture_on_commit_callbacks
):
    fake = broker()
    with django_capture_on_commit_callbacks(execute=True):
        _enqueue(1)
    _age(899)  # long past the grace, the task still queued behind others
    assert outbox_relay_pending() == 0
    assert len(fake.sent) == 1


def test_a_message_the_sweep_published_is_sent_again_only_after_the_redelivery_timeout(broker):
    fake = broker()
    _pending(1)
    assert outbox_relay_pending() == 1
    _age(899, published_at=True)
    assert outbox_relay_pending() == 0
    _age(901, published_at=True)
    assert outbox_relay_pending() == 1
    assert len(fake.sent) == 2
    assert OutboxMessage.objects.get().send_attempts == 2


def test_with_the_broker_down_the_relay_counts_the_refusal_and_the_sweep_sends_it_after_the_grace(
    broker, django_capture_on_commit_callbacks
):
    down = broker(refuse_from=0)
    with django_capture_on_commit_callbacks(execute=True):
        message_id = _enqueue(1)
    message = OutboxMessage.objects.get()
    assert (message.send_attempts, message.last_error) == (1, "broker down")
    assert outbox_relay_pending() == 0, "within the grace the relay may still be at it"
    _age(11)
    assert outbox_relay_pending() == 0, "still down"
    up = broker()
    assert outbox_relay_pending() == 1
    assert down.sent == [] and up.sent[0][1] == {"n": 1, OUTBOX_MESSAGE_KWARG: message_id}
    message.refresh_from_db()
    assert message.published_at is not None and message.last_error == ""


def test_in_eager_mode_the_task_runs_in_the_relay_and_marks_its_message_done(
    django_capture_on_commit_callbacks, django_assert_num_queries
):
    assert current_app.conf.task_always_eager  # tests/conftest.py: tasks run inline
    with django_capture_on_commit_callbacks() as callbacks:
        message_id = _enqueue(1)
    # The task's transaction (a savepoint inside the test's) and its one UPDATE; the relay
    # itself writes nothing.
    with django_assert_num_queries(3):
        callbacks[0]()
    assert EFFECTS == [1]
    assert OutboxMessage.objects.get(pk=message_id).done_at is not None


def test_a_task_that_fails_leaves_its_message_not_done_and_counted_for_the_sweep(
    django_capture_on_commit_callbacks,
):
    with pytest.raises(RuntimeError), django_capture_on_commit_callbacks(execute=True):
        _enqueue(1, fail=True)
    message = OutboxMessage.objects.get()
    assert message.done_at is None, "the mark rolled back with the task's transaction"
    assert (message.send_attempts, message.last_error) == (1, "the task failed")
    _age(11)
    OutboxMessage.objects.update(kwargs={"n": 1})  # fixed: it succeeds on the next send
    assert outbox_relay_pending() == 1
    assert EFFECTS == [1]
    assert OutboxMessage.objects.get().done_at is not None


def test_the_sweep_sends_every_pending_message_in_one_read_and_one_write(
    broker, django_assert_num_queries
):
    fake = broker()
    _pending(3)
    with django_assert_num_queries(2):
        assert outbox_relay_pending() == 3
    assert [kwargs["n"] for _, kwargs in fake.sent] == [0, 1, 2]
    assert not OutboxMessage.objects.filter(published_at__isnull=True).exists()
    assert set(OutboxMessage.objects.values_list("send_attempts", flat=True)) == {1}
    assert outbox_relay_pending() == 0, "published messages are not sent again at once"


def test_a_broker_refusal_stops_the_sweep_and_keeps_what_was_sent_recorded(broker):
    broker(refuse_from=1)
    first, second, third = _pending(3)
    assert outbox_relay_pending() == 1
    rows = {row.pk: row for row in OutboxMessage.objects.all()}
    assert rows[first].published_at is not None
    assert (rows[second].published_at, rows[second].send_attempts) == (None, 1)
    assert rows[second].last_error == "broker down"
    assert (rows[third].published_at, rows[third].send_attempts) == (None, 0)


def test_a_message_not_done_hours_after_its_commit_is_given_up_and_no_longer_sent(
    broker, django_capture_on_commit_callbacks
):
    fake = broker()
    with django_capture_on_commit_callbacks(execute=True):
        message_id = _enqueue(1)
    _age(7199, published_at=True)  # its task fails every time it runs
    assert outbox_relay_pending() == 1
    _age(7201, published_at=True)
    assert outbox_relay_pending() == 0
    assert len(fake.sent) == 2
    assert list(outbox_given_up().values_list("pk", flat=True)) == [message_id]


def test_a_second_run_of_a_message_finds_it_done_and_is_told_so():
    message_id = _enqueue(1)
    assert outbox_message_done(message_id=message_id) is True
    assert outbox_message_done(message_id=message_id) is False


# It reads every source file, as the rule tests that write a sample into the checkout do.
@pytest.mark.xdist_group("checkout")
def test_every_task_sent_through_the_outbox_takes_its_message_id():
    """A task enqueued through the outbox must mark its message done (or it is sent again
    every OUTBOX_REDELIVER_SECONDS until given up): it takes `outbox_message_id`. A new
    call of outbox_enqueue elsewhere fails here until its task is listed."""
    import inspect
    from pathlib import Path

    from appointments.services import TEXT_SEND_TASK
    from audit.findings import CASE_AUDIT_TASK
    from inbox.notices import SMS_SEND_TASK
    from reporting.tasks_names import REPORT_DELIVER_TASK
    from risk.services import RETRY_AWAITING_TASK, REVIEW_DRAW_TASK

    # (REVIEW_DRAW_TASK: the messages of the release before, which drew through the outbox.)
    tasks = {TEXT_SEND_TASK, SMS_SEND_TASK, CASE_AUDIT_TASK, REPORT_DELIVER_TASK,
             RETRY_AWAITING_TASK, REVIEW_DRAW_TASK}  # fmt: skip
    for name in tasks:
        assert OUTBOX_MESSAGE_KWARG in inspect.signature(current_app.tasks[name].run).parameters
    root = Path(__file__).resolve().parents[2]
    calls = sum(
        path.read_text(encoding="utf-8").count("outbox_enqueue(")
        for path in root.glob("*/*.py")
        if path.parts[-2] not in {"tests", "outbox", ".venv"}
    )
    assert calls == 6, "a new outbox_enqueue call: list its task above"


# --- Messages done many at a time by a drain task ------------------------------------------

DRAINED: list[list[int]] = []


@current_app.task(name="tests.outbox.drain")
def drain() -> int:
    """A drain as the apps write them: claims what waits, does it, marks it done."""
    with transaction.atomic():
        claimed = outbox_messages_claim(task_name="tests.outbox.effect_record", limit=100)
        DRAINED.append([kwargs["n"] for _, kwargs in claimed])
        return outbox_messages_done(message_ids=[message_id for message_id, _ in claimed])


def _enqueue_drained(n: int) -> int:
    return outbox_enqueue(
        task_name="tests.outbox.effect_record", kwargs={"n": n}, dedupe_key=f"test:{n}",
        drain="tests.outbox.drain",
    )  # fmt: skip


@pytest.fixture
def clock(monkeypatch):
    """The process's monotonic clock, moved by hand; no nudge sent before."""
    now = [1000.0]
    monkeypatch.setattr(services.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(services, "_last_drain_nudge", {})
    DRAINED.clear()
    return now


def test_a_drained_message_nudges_its_drain_at_commit_and_is_not_sent_on_its_own(
    broker, clock, django_capture_on_commit_callbacks
):
    fake = broker()
    with django_capture_on_commit_callbacks(execute=True):
        _enqueue_drained(1)
    assert fake.sent == [("tests.outbox.drain", None, DRAIN_NUDGE_SECONDS)]


def test_the_commits_of_one_nudge_interval_send_one_drain_that_runs_after_them_all(
    broker, clock, django_capture_on_commit_callbacks
):
    fake = broker()
    for n, moment in enumerate((1000.0, 1000.2, 1000.49, 1000.5)):
        clock[0] = moment
        with django_capture_on_commit_callbacks(execute=True):
            _enqueue_drained(n)
    # The first, at 1000.0, runs at 1000.5, after the commits up to then; the fourth
    # commit, at 1000.5, sends the next.
    assert [entry[0] for entry in fake.sent] == ["tests.outbox.drain"] * 2


def test_a_drain_nudge_the_broker_refuses_is_logged_and_changes_nothing(
    broker, clock, django_capture_on_commit_callbacks, caplog
):
    broker(refuse_from=0)
    with django_capture_on_commit_callbacks(execute=True):
        message_id = _enqueue_drained(1)
    assert "outbox drain nudge of tests.outbox.drain failed" in caplog.text
    message = OutboxMessage.objects.get(pk=message_id)
    assert (message.done_at, message.send_attempts) == (None, 0)


def test_in_eager_mode_the_commit_runs_the_drain_inline(clock, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message_id = _enqueue_drained(1)
    assert DRAINED == [[1]]
    assert OutboxMessage.objects.get(pk=message_id).done_at is not None


def test_a_claim_takes_its_tasks_messages_not_done_and_still_tried_oldest_first(clock):
    given_up, first, done, second, third = (_enqueue_drained(n) for n in range(5))
    OutboxMessage.objects.filter(pk=given_up).update(
        created_at=timezone.now() - datetime.timedelta(seconds=7201)
    )
    OutboxMessage.objects.filter(pk=first).update(created_at=timezone.now())  # newest now
    outbox_message_done(message_id=done)
    outbox_enqueue(task_name="tests.outbox.other", kwargs={}, dedupe_key="test:other")
    with transaction.atomic():
        claimed = outbox_messages_claim(task_name="tests.outbox.effect_record", limit=2)
    assert claimed == [(second, {"n": 3}), (third, {"n": 4})]
    with transaction.atomic():
        claimed = outbox_messages_claim(task_name="tests.outbox.effect_record", limit=5)
    assert [message_id for message_id, _ in claimed] == [second, third, first]


def test_a_message_its_drain_left_undone_is_sent_on_its_own_after_the_redelivery_timeout(
    broker, clock
):
    fake = broker()
    message_id = _enqueue_drained(1)  # committed; its drain never ran
    _age(1000)
    assert outbox_relay_pending() == 1
    assert fake.sent == [("tests.outbox.effect_record", {"n": 1, OUTBOX_MESSAGE_KWARG: message_id})]


def test_marking_claimed_messages_done_is_one_statement_and_skips_those_done(
    django_assert_num_queries,
):
    ids = [_enqueue_drained(n) for n in range(3)]
    outbox_message_done(message_id=ids[0])
    with django_assert_num_queries(1):
        assert outbox_messages_done(message_ids=ids) == 2


def test_a_drained_message_recorded_with_batched_writes_is_written_with_them_once(
    broker, clock, django_capture_on_commit_callbacks
):
    from langzhong_si.batch import audit_writes_batched

    fake = broker()
    for _ in range(2):  # the same work recorded again: still one message
        with (
            django_capture_on_commit_callbacks(execute=True),
            transaction.atomic(),
            CaptureQueriesContext(connection) as recorded,
            audit_writes_batched(),
        ):
            assert _enqueue_drained(1) is None  # its id is not read back
            assert not recorded.captured_queries  # nothing written yet
            # A read of its table writes it first: the transaction sees its own work.
            assert OutboxMessage.objects.filter(dedupe_key="test:1").count() == 1
        clock[0] += 1  # the next commit's nudge is not held back by this one's
    assert [entry[0] for entry in fake.sent] == ["tests.outbox.drain"] * 2


def test_a_drained_message_recorded_with_batched_writes_goes_with_its_rolled_back_savepoint(clock):
    from langzhong_si.batch import audit_writes_batched

    with transaction.atomic(), audit_writes_batched():
        _enqueue_drained(1)
        try:
            with transaction.atomic():
                _enqueue_drained(2)
                raise RuntimeError
        except RuntimeError:
            pass
    assert list(OutboxMessage.objects.values_list("dedupe_key", flat=True)) == ["test:1"]
