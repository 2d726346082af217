"""The audit chain's sequencer: business transactions insert plain rows; the sequencer
chains committed events after the fact, one at a time, and accounts for every key."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction

from audit.chain import audit_chain_all, audit_chain_run, audit_chain_status
from audit.models import AuditEvent, Finding
from audit.services import audit_event_record, audit_log_verify
from tests.audit.test_chain import _as_database_administrator
from tests.factories import held_in_another_transaction

pytestmark = pytest.mark.django_db

NOW = timedelta(0)  # `missing_after` for tests that do not want to wait two minutes


def _events(count: int) -> list[AuditEvent]:
    return [audit_event_record(event_type="test.event", data={"n": n}) for n in range(count)]


def test_recording_an_event_is_one_insert_without_lock_or_read(django_assert_num_queries):
    with transaction.atomic(), django_assert_num_queries(1) as queries:
        event = audit_event_record(event_type="test.event", data={"n": 1})
    sql = queries.captured_queries[0]["sql"]
    if sql.startswith("EXECUTE"):  # prepared on PostgreSQL (langzhong_si.saves): its text
        sql = connection.prepared_statements[sql.split()[1].split("(")[0]]
    assert sql.startswith("INSERT")
    assert (event.position, event.prev_hash, event.hash) == (None, None, None)


def test_the_sequencer_chains_waiting_events_in_key_order():
    events = _events(3)
    run = audit_chain_run()
    assert (run.ran, run.chained) == (True, 3)
    chained = list(AuditEvent.objects.order_by("position").values_list("pk", "position"))
    assert chained == [(event.pk, n) for n, event in enumerate(events, start=1)]
    assert audit_log_verify() is None
    assert audit_chain_status().waiting == 0


def test_events_left_unchained_by_a_crash_are_chained_by_the_next_run():
    first = _events(2)
    audit_chain_run()
    later = _events(2)  # committed, then the sequencer's process died before its run
    assert audit_chain_status().waiting == 2
    assert audit_chain_run().chained == 2
    positions = [AuditEvent.objects.get(pk=event.pk).position for event in first + later]
    assert positions == [1, 2, 3, 4]
    assert audit_log_verify() is None


def test_the_log_screen_and_its_api_show_waiting_events(client):
    from staff.roles import Role
    from tests.factories import make_staff, sign_in

    administrator = make_staff(Role.AUDIT_ADMINISTRATOR)
    _events(1)
    audit_chain_run()
    waiting = _events(1)[0]
    sign_in(client, administrator)
    page = client.get("/audit/log/").content.decode()
    assert 'data-testid="chain-waiting"' in page and "badge text-bg-light" in page
    rows = client.get("/api/audit/log/").json()
    by_key = {row["key"]: row for row in rows}
    assert by_key[waiting.pk]["position"] is None and by_key[waiting.pk]["hash"] is None


def test_verify_reports_how_many_events_wait():
    _events(2)
    audit_chain_run()
    _events(3)
    out = StringIO()
    call_command("verify_audit_log", stdout=out, stderr=StringIO())
    assert "2 events chained, 3 waiting to be chained" in out.getvalue()


def test_chain_audit_log_chains_everything_waiting():
    _events(3)
    out = StringIO()
    call_command("chain_audit_log", stdout=out)
    assert "chained 3 events; head #3, 0 waiting" in out.getvalue()


def test_a_commit_nudges_the_sequencer(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        event = audit_event_record(event_type="test.event")
        audit_event_record(event_type="test.event")
    assert len(callbacks) == 1  # one nudge per transaction, however many events
    event.refresh_from_db()
    assert event.position == 1


def test_with_a_real_broker_the_committing_process_chains_its_events_itself(
    django_capture_on_commit_callbacks, monkeypatch
):
    from celery import current_app

    from audit import chain

    monkeypatch.setattr(chain, "_last_nudge", [0.0])
    sent = []
    monkeypatch.setattr(current_app, "send_task", lambda *args, **kwargs: sent.append(args))
    # As in production: tasks go to a broker, whose queue may be seconds long.
    current_app.conf.task_always_eager = False
    try:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            event = audit_event_record(event_type="test.event")
    finally:
        current_app.conf.task_always_eager = True  # as tests/conftest.py sets it
    event.refresh_from_db()
    assert (event.position, sent) == (1, [])


def test_an_unchained_event_deleted_is_recorded_missing_and_raised_as_a_finding():
    first, deleted, last = _events(3)
    _as_database_administrator("DELETE FROM audit_auditevent WHERE id = %s", [deleted.pk])
    run = audit_chain_run(missing_after=NOW)
    assert run.keys_missing == [deleted.pk]
    finding = Finding.objects.get(rule="audit_key_missing")
    assert finding.evidence == {"keys": [[deleted.pk, deleted.pk]], "count": 1}
    record = AuditEvent.objects.get(event_type="audit.keys_missing")
    assert record.data == {"keys": [[deleted.pk, deleted.pk]]}
    assert record.position is not None  # the record of the loss is itself in the chain
    assert audit_log_verify() is None
    assert audit_chain_status().keys_missing == 1
    err = StringIO()
    call_command("verify_audit_log", stdout=StringIO(), stderr=err)
    assert "1 event keys went missing before chaining" in err.getvalue()


def test_a_key_missing_for_less_than_the_window_is_remembered_not_skipped():
    _first, deleted, _last = _events(3)
    _as_database_administrator("DELETE FROM audit_auditevent WHERE id = %s", [deleted.pk])
    run = audit_chain_run()  # within the in-flight window: it may still commit
    assert run.chained == 2 and run.keys_missing == []
    assert audit_chain_status().keys_pending == 1
    assert not Finding.objects.filter(rule="audit_key_missing").exists()
    # Much later the key has still not appeared: reported then, once.
    assert audit_chain_run(missing_after=NOW).keys_missing == [deleted.pk]
    assert audit_chain_run(missing_after=NOW).keys_missing == []
    assert audit_chain_status().keys_pending == 0


# --- PostgreSQL: concurrency, the lease and the trigger ------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_event_committed_late_with_an_earlier_key_is_chained_at_the_end():
    """Keys are taken at INSERT, commits happen later, in any order: the sequencer
    chains what has committed and picks the late one up on its next run."""
    _events(1)  # a log the sequencer has already started on
    audit_chain_all()
    inserted, release, done = threading.Event(), threading.Event(), threading.Event()
    late = {}

    def slow_transaction():
        try:
            with transaction.atomic():
                late["event"] = audit_event_record(event_type="test.event", data={"late": 1})
                inserted.set()
                release.wait(10)
        finally:
            connections.close_all()
            done.set()

    thread = threading.Thread(target=slow_transaction)
    thread.start()
    inserted.wait(10)
    early = audit_event_record(event_type="test.event", data={"late": 0})  # commits now
    audit_chain_all()
    assert late["event"].pk < early.pk
    assert AuditEvent.objects.get(pk=early.pk).position is not None
    assert audit_chain_status().keys_pending == 1  # the late key, still in flight
    release.set()
    done.wait(10)
    thread.join()
    audit_chain_run(missing_after=NOW)
    chained_late = AuditEvent.objects.get(pk=late["event"].pk)
    assert chained_late.position == AuditEvent.objects.get(pk=early.pk).position + 1
    assert audit_chain_status().keys_pending == 0
    assert not Finding.objects.filter(rule="audit_key_missing").exists()
    assert audit_log_verify() is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_only_one_sequencer_runs_at_a_time():
    audit_chain_run()  # creates the sequencer's row

    def hold_the_lease():
        assert audit_chain_run().ran

    with held_in_another_transaction(hold_the_lease):
        assert audit_chain_run().ran is False
    assert audit_chain_run().ran is True


def _refused(sql: str, params=None) -> bool:
    from django.db import InternalError

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except InternalError as error:
        assert "append-only" in str(error)
        return True
    return False


@pytest.mark.postgres
def test_the_trigger_lets_chain_fields_be_set_once_on_an_unchained_row_and_nothing_else():
    chained, waiting = _events(2)
    audit_chain_run(batch_size=1)
    chain = (
        "UPDATE audit_auditevent SET position = 99, prev_hash = 'a', hash = 'b', "
        "chained_at = now() WHERE id = %s"
    )
    assert _refused(chain, [chained.pk])
    assert _refused(  # chaining and changing the content together
        "UPDATE audit_auditevent SET position = 99, prev_hash = 'a', hash = 'b', "
        "chained_at = now(), event_type = 'forged' WHERE id = %s",
        [waiting.pk],
    )
    assert _refused("UPDATE audit_auditevent SET hash = 'b' WHERE id = %s", [waiting.pk])
    assert _refused("UPDATE audit_auditevent SET data = '{}' WHERE id = %s", [waiting.pk])
    assert _refused("DELETE FROM audit_auditevent WHERE id = %s", [waiting.pk])
    # The sequencer's own update: all four chain fields of an unchained row, once.
    assert not _refused(chain, [waiting.pk])
    assert _refused("UPDATE audit_auditevent SET position = 100 WHERE id = %s", [waiting.pk])
