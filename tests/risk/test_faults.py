"""Nothing lost, nothing doubled: a real Celery worker process on real Redis, with a
duplicated message, a worker killed mid-task and a broker outage."""

from datetime import timedelta

import psycopg2
import pytest
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent
from cases import services as case_services
from counters import services as counter_services
from draws.models import Draw
from langzhong_si.celery import app as celery_app
from outbox.models import OutboxMessage
from outbox.services import outbox_relay_pending
from risk.models import ReviewTask
from tests.factories import make_id_number
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


def _submit(hall, *, before_accept=None):
    counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    counter_services.window_declare_ready(clerk=hall.li_na)
    counter_services.ticket_issue(item=hall.item)
    if before_accept:
        before_accept()
    case = case_services.case_accept(
        clerk=hall.li_na,
        item_id=hall.item.pk,
        applicant_name="王大山",
        id_number=make_id_number(),
        received_material_ids={hall.material.pk},
    )
    counter_services.ticket_finish(clerk=hall.li_na)
    return case


def _assigned_once(task: ReviewTask) -> None:
    task.refresh_from_db()
    assert task.status == ReviewTask.Status.OPEN
    assert Draw.objects.filter(subject=f"review-task:{task.pk}").count() == 1
    assert (
        AuditEvent.objects.filter(event_type="review_task.assigned", object_id=str(task.pk)).count()
        == 1
    )


def test_a_duplicated_message_draws_once(hall, tmp_path):
    with celery_worker(tmp_path):
        case = _submit(hall)
        task = case.tasks.get()
        wait_until(lambda: ReviewTask.objects.filter(pk=task.pk, status="open").exists())
        for _ in range(2):
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
                case = _submit(hall, before_accept=hold_the_draws)
                task = case.tasks.get()
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
        cases = [_submit(hall) for _ in range(3)]  # the broker is not running
        draws = OutboxMessage.objects.filter(dedupe_key__startswith="review-draw:")
        assert draws.filter(done_at__isnull=True, send_attempts=1).count() == 3, "refused"
        assert not ReviewTask.objects.filter(status="open").exists()
        with redis_server(port, tmp_path), celery_worker(tmp_path, queue=queue):
            draws.update(created_at=timezone.now() - timedelta(seconds=60))  # past the grace
            assert outbox_relay_pending() == 3
            assert outbox_relay_pending() == 0, "sent messages are not sent again"
            wait_until(lambda: ReviewTask.objects.filter(status="open").count() == 3)
            wait_until(lambda: not draws.filter(done_at__isnull=True).exists())
    for case in cases:
        _assigned_once(case.tasks.get())
