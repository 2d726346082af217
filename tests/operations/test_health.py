"""/healthz and /readyz (req. 43): each dependency's state, 503 when one is not ready."""

import datetime
import re

import pytest
from django.utils import timezone

from langzhong_si.celery import app as celery_app
from operations import health
from operations.models import Heartbeat
from operations.services import BEAT, WORKER, heartbeat_record
from outbox.models import OutboxMessage
from tests.worker import broker

pytestmark = pytest.mark.django_db


@pytest.fixture
def alive(db):
    """A worker and beat seen just now."""
    heartbeat_record(name=WORKER)
    heartbeat_record(name=BEAT)


def _readyz(client):
    response = client.get("/readyz")
    return response.status_code, response.json()


def test_healthz_answers_without_consulting_anything(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_green_when_every_dependency_is_ready(client, alive):
    status, body = _readyz(client)
    assert status == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {
        "database", "migrations", "broker", "worker", "beat", "outbox", "audit_chaining",
    }  # fmt: skip
    assert all(check["ok"] for check in body["checks"].values())


def test_readyz_turns_red_when_no_worker_was_seen_within_a_minute(client, alive):
    Heartbeat.objects.filter(name=WORKER).update(
        seen_at=timezone.now() - datetime.timedelta(seconds=61)
    )
    status, body = _readyz(client)
    assert status == 503
    assert body["checks"]["worker"]["ok"] is False
    # 61 s, or a little more on a slow machine (the request reads the clock again).
    assert re.search(r"last seen 6[1-9] s ago", body["checks"]["worker"]["detail"])
    assert body["checks"]["beat"]["ok"] is True


def test_readyz_turns_red_when_beat_stopped(client, alive):
    Heartbeat.objects.filter(name=BEAT).update(
        seen_at=timezone.now() - datetime.timedelta(minutes=5)
    )
    status, body = _readyz(client)
    assert status == 503
    assert body["checks"]["beat"]["ok"] is False
    assert body["checks"]["worker"]["ok"] is True


def test_readyz_turns_red_when_worker_and_beat_were_never_seen(client):
    status, body = _readyz(client)
    assert status == 503
    assert body["checks"]["worker"]["detail"].endswith("never seen")


def test_readyz_turns_red_when_the_broker_is_unreachable(client, alive):
    # A port where nothing listens: the broker is "stopped".
    with broker("redis://127.0.0.1:1/7"):
        status, body = _readyz(client)
    assert status == 503
    assert body["checks"]["broker"]["ok"] is False
    assert "127.0.0.1" not in body["checks"]["broker"]["detail"]


def test_readyz_turns_red_when_the_database_is_unreachable(client, alive, django_db_blocker):
    with django_db_blocker.block():
        from django.db import connection

        connection.close()
        status, body = _readyz(client)
    assert status == 503
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["worker"] == {"ok": False, "detail": "database down"}


def _messages(n: int, *, minutes: int, refused: bool) -> None:
    for k in range(n):
        message = OutboxMessage.objects.create(task_name="x", kwargs={}, dedupe_key=f"k{k}")
        OutboxMessage.objects.filter(pk=message.pk).update(
            created_at=timezone.now() - datetime.timedelta(minutes=minutes),
            send_attempts=1 if refused else 0,
        )


def test_readyz_turns_red_when_the_outbox_backlog_passes_its_limit(client, alive, settings):
    settings.OUTBOX_BACKLOG_LIMIT = 1
    _messages(2, minutes=5, refused=True)  # the broker refused them: the sweep must send
    status, body = _readyz(client)
    assert status == 503
    assert body["checks"]["outbox"] == {"ok": False, "detail": "2 to send again (limit 1)"}


def test_work_queued_behind_busy_workers_leaves_readyz_green(client, alive, settings):
    settings.OUTBOX_BACKLOG_LIMIT = 1
    _messages(2, minutes=5, refused=False)  # handed to the broker, not yet run
    status, body = _readyz(client)
    assert body["checks"]["outbox"] == {"ok": True, "detail": "0 to send again (limit 1)"}


def test_readyz_turns_red_when_the_audit_chain_lags(client, alive, settings, monkeypatch):
    settings.AUDIT_CHAINING_LAG_LIMIT = 10
    monkeypatch.setattr(health, "audit_events_unchained", lambda: 11)
    status, body = _readyz(client)
    assert status == 503
    assert body["checks"]["audit_chaining"]["ok"] is False


def test_readyz_turns_red_when_a_migration_is_not_applied(client, alive, monkeypatch):
    monkeypatch.setattr(health, "_migrated_until", 0.0)
    monkeypatch.setattr(
        health.MigrationExecutor, "migration_plan", lambda self, targets: [("m", False)]
    )
    status, body = _readyz(client)
    assert status == 503
    assert body["checks"]["migrations"] == {"ok": False, "detail": "1 not applied"}


def test_the_chaining_lag_counts_events_recorded_but_not_yet_chained():
    from audit.chain import audit_chain_all
    from audit.services import audit_event_record
    from operations.chaining import audit_events_unchained

    audit_chain_all()
    audit_event_record(event_type="auth.sign_in_failed", data={"username": "x"})
    audit_event_record(event_type="auth.sign_in_failed", data={"username": "y"})
    assert audit_events_unchained() == 2
    audit_chain_all()
    assert audit_events_unchained() == 0


def test_the_worker_records_its_heartbeat_when_it_runs_the_heartbeat_task():
    celery_app.tasks["operations.tasks.heartbeat"].apply()
    assert health.check_worker().ok


def test_the_readiness_command_exits_1_naming_what_is_not_ready(alive):
    from django.core.management import CommandError, call_command

    call_command("readiness", "beat", "worker")
    Heartbeat.objects.filter(name=BEAT).delete()
    with pytest.raises(CommandError, match="not ready: beat"):
        call_command("readiness", "beat")
