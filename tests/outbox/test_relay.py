"""The outbox sweep: pending messages sent in order, marked sent together."""

import datetime

import pytest
from celery import current_app

from outbox.models import OutboxMessage
from outbox.services import outbox_enqueue, outbox_relay_pending

pytestmark = pytest.mark.django_db


class Broker:
    """The broker (outside the process): records what it is sent, refuses on demand."""

    def __init__(self, refuse_from: int | None = None):
        self.sent, self.refuse_from = [], refuse_from

    def send_task(self, name, kwargs):
        if self.refuse_from is not None and len(self.sent) >= self.refuse_from:
            raise ConnectionError("broker down")
        self.sent.append((name, kwargs))


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


def _pending(n: int) -> list[int]:
    ids = [
        outbox_enqueue(task_name="test.task", kwargs={"n": i}, dedupe_key=f"test:{i}")
        for i in range(n)
    ]
    OutboxMessage.objects.update(created_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    return ids


def test_the_sweep_sends_every_pending_message_in_one_read_and_one_write(
    broker, django_assert_num_queries
):
    fake = broker()
    _pending(3)
    with django_assert_num_queries(2):
        assert outbox_relay_pending() == 3
    assert [kwargs for _, kwargs in fake.sent] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
    assert set(OutboxMessage.objects.values_list("send_attempts", flat=True)) == {1}
    assert outbox_relay_pending() == 0, "sent messages are not sent again"


def test_a_broker_refusal_stops_the_sweep_and_keeps_what_was_sent_marked(broker):
    broker(refuse_from=1)
    first, second, third = _pending(3)
    assert outbox_relay_pending() == 1
    rows = {row.pk: row for row in OutboxMessage.objects.all()}
    assert rows[first].sent_at is not None
    assert (rows[second].sent_at, rows[second].send_attempts) == (None, 1)
    assert rows[second].last_error == "broker down"
    assert (rows[third].sent_at, rows[third].send_attempts) == (None, 0)
