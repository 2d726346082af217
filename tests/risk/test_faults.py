"""Nothing lost, nothing doubled: a real Celery worker process on real Redis, with a
duplicated message, a worker killed mid-task and a broker outage."""

from datetime import timedelta

import psycopg2
import pytest
from django.db import connection
from django.utils import timezone

from audit.bulk import bulk_writes_allowed
from audit.models import AuditEvent
from draws.models import Draw
from langzhong_si.celery import app as celery_app
from outbox.models import OutboxMessage
from outbox.services import outbox_relay_pending
from risk import services as risk_services
from risk.models import Qualification, ReviewTask
from tests.factories import case_submitted
from tests.worker import (
    broker,
    celery_worker,
    log_count,
    private_queue,
    redis_server,
    wait_until,
)

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]
DRAW_TASK = "risk.tasks.review_task_draw"


def _awaiting_its_draw(hall) -> ReviewTask:
    """A case whose review found nobody eligible at the intake (the one qualified
    reviewer's qualifications revoked for it, crafted in the database, restored after
    without the message a grant sends): its task awaits the draw that the worker runs."""
    with bulk_writes_allowed():
        Qualification.objects.filter(user=hall.zhou).update(revoked_at=timezone.now())
    task = case_submitted(hall).tasks.get()
    assert task.status == ReviewTask.Status.AWAITING_DRAW
    with bulk_writes_allowed():
        Qualification.objects.filter(user=hall.zhou).update(revoked_at=None)
    return task


def _assigned_once(task: ReviewTask) -> None:
    task.refresh_from_db()
    assert task.status == ReviewTask.Status.OPEN
    assert Draw.objects.filter(subject=f"review-task:{task.pk}").count() == 1
    assert (
        AuditEvent.objects.filter(event_type="review_task.assigned", object_id=str(task.pk)).count()
        == 1
    )


def test_a_duplicated_message_draws_once(hall, tmp_path):
    task = _awaiting_its_draw(hall)
    with celery_worker(tmp_path):
        for _ in range(3):
            celery_app.send_task(DRAW_TASK, kwargs={"task_id": task.pk})
        wait_until(lambda: log_count(tmp_path, "worker", f"{DRAW_TASK}[") >= 6, what="3 runs")
    _assigned_once(task)


@pytest.mark.postgres
def test_a_worker_killed_mid_task_is_redelivered_and_draws_once(hall, tmp_path):
    with private_queue() as queue:
        # Hold the task's row so the first worker blocks inside the draw.
        db = connection.settings_dict
        blocker = psycopg2.connect(
            dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"],
            password=db.get("PASSWORD") or None,
        )  # fmt: skip
        fast_redelivery = {
            "CELERY_BROKER_VISIBILITY_TIMEOUT": "3",
            "CELERY_BROKER_RESTORE_INTERVAL": "1",
            "CELERY_BROKER_RESTORE_THROTTLE": "1",
        }
        with celery_worker(tmp_path, queue=queue, name="first", **fast_redelivery) as first:
            wait_until(lambda: log_count(tmp_path, "first", "ready.") >= 1, what="first worker")

            def hold_the_draws():
                # Every draw inserts its row (draws share no row lock); holding the table
                # against inserts blocks the worker mid-task.
                blocker.cursor().execute("LOCK TABLE risk_draw IN SHARE ROW EXCLUSIVE MODE")

            # Whatever fails here, the table is let go before the worker is stopped (a
            # worker stopping waits for its task, which waits for the table), and this
            # process never waits on the lock for long itself.
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '30s'")
            try:
                task = _awaiting_its_draw(hall)
                hold_the_draws()
                celery_app.send_task(DRAW_TASK, kwargs={"task_id": task.pk})
                wait_until(lambda: log_count(tmp_path, "first", "received") >= 1, what="delivery")
                first.kill()  # SIGKILL, mid-task
                first.wait(timeout=10)
            finally:
                blocker.rollback()
                with connection.cursor() as cursor:
                    cursor.execute("SET lock_timeout = 0")
        blocker.close()
        task.refresh_from_db()
        assert task.status == ReviewTask.Status.AWAITING_DRAW
        with celery_worker(tmp_path, queue=queue, name="second", **fast_redelivery):
            wait_until(
                lambda: ReviewTask.objects.filter(pk=task.pk, status="open").exists(),
                timeout=40,
                what="redelivery to the second worker",
            )
    _assigned_once(task)


def test_with_the_broker_down_staff_work_succeeds_and_every_draw_happens_once_after(hall, tmp_path):
    port = 6391
    url = f"redis://127.0.0.1:{port}/0"
    with broker(url), private_queue() as queue:
        # The broker is not running: intakes draw by themselves, the grant that makes
        # someone eligible again for the tasks awaiting a draw commits, its retry waits.
        drawn = case_submitted(hall).tasks.get()
        assert drawn.status == ReviewTask.Status.OPEN
        tasks = [_awaiting_its_draw(hall) for _ in range(3)]
        with bulk_writes_allowed():
            Qualification.objects.filter(user=hall.zhou).update(revoked_at=timezone.now())
        risk_services.qualification_grant(user=hall.zhou, kind="review", level=3, reason="恢复")
        # (The fixture's own grants sent theirs at its commit, to the other broker.)
        refused = OutboxMessage.objects.filter(
            dedupe_key__startswith="retry-awaiting:", send_attempts=1, done_at__isnull=True
        ).values_list("pk", flat=True)
        assert len(refused) == 1
        retries = OutboxMessage.objects.filter(pk__in=list(refused))
        assert ReviewTask.objects.filter(status="awaiting_draw").count() == 3
        with redis_server(port, tmp_path), celery_worker(tmp_path, queue=queue):
            retries.update(created_at=timezone.now() - timedelta(seconds=60))  # past the grace
            assert outbox_relay_pending() == 1
            assert outbox_relay_pending() == 0, "sent messages are not sent again"
            wait_until(lambda: ReviewTask.objects.filter(status="open").count() == 4, what="draws")
            wait_until(lambda: not retries.filter(done_at__isnull=True).exists(), what="done")
    for task in [drawn, *tasks]:
        _assigned_once(task)
