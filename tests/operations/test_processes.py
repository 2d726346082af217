"""Real processes: /readyz follows a real worker and a real beat starting and stopping,
a request's id reaches the audit events of the task it started, and a worker's task
runs are counted for the metrics."""

import os
import subprocess
import sys
import time

import pytest

from audit.models import AuditEvent
from langzhong_si.celery import app as celery_app
from operations.models import TaskRunCount
from tests.worker import ROOT, celery_worker, wait_until
from tests.worker import test_database_url as database_url

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]
MAX_AGE = 5


def _check(client, name: str) -> bool:
    return client.get("/readyz").json()["checks"][name]["ok"]


def test_readyz_follows_a_real_worker_starting_and_stopping(client, settings, tmp_path):
    settings.HEARTBEAT_MAX_AGE_SECONDS = MAX_AGE
    assert not _check(client, "worker")
    with celery_worker(tmp_path):
        wait_until(lambda: _check(client, "worker"), timeout=60, what="the worker's heartbeat")
        celery_app.send_task("operations.tasks.heartbeat")
        wait_until(
            lambda: TaskRunCount.objects.filter(
                task_name="operations.tasks.heartbeat", outcome="succeeded"
            ).exists(),
            timeout=30,
            what="the heartbeat task counted",
        )
    time.sleep(MAX_AGE + 1)
    assert not _check(client, "worker")


def test_readyz_follows_a_real_beat_starting_and_stopping(client, settings, tmp_path):
    settings.HEARTBEAT_MAX_AGE_SECONDS = MAX_AGE
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "HEARTBEAT_INTERVAL_SECONDS": "1",
        # Beat's messages go to a queue nobody consumes.
        "CELERY_TASK_DEFAULT_QUEUE": f"test-beat-{os.getpid()}",
        "DRAW_COMMITMENT_DIR": str(tmp_path / "draw-commitments"),
    }
    log = (tmp_path / "beat.log").open("w")
    beat = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "langzhong_si", "beat",
         "--schedule", str(tmp_path / "beat-schedule"), "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_until(lambda: _check(client, "beat"), timeout=60, what="beat's heartbeat")
    finally:
        beat.terminate()
        beat.wait(timeout=10)
        log.close()
    time.sleep(MAX_AGE + 1)
    assert not _check(client, "beat")


def test_a_request_id_flows_into_the_audit_events_of_its_tasks(hall, client, tmp_path):
    """The clerk's intake request names its id; the worker's review draw, started by it
    through the outbox, records its audit event under the same id."""
    from counters import services
    from tests.factories import make_id_number, sign_in

    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    services.ticket_issue(item=hall.item)
    sign_in(client, hall.li_na)
    with celery_worker(tmp_path):
        response = client.post(
            "/api/counter/intake/",
            {
                "item": hall.item.pk,
                "applicant_name": "王大山",
                "id_number": make_id_number(),
                "received_material_ids": [hall.material.pk],
            },
            content_type="application/json",
            headers={"X-Request-ID": "intake-0001-abcdef"},
        )
        assert response.status_code in (200, 201), response.content
        wait_until(
            lambda: AuditEvent.objects.filter(event_type="review_task.assigned").exists(),
            timeout=60,
            what="the worker's draw",
        )
    assigned = AuditEvent.objects.get(event_type="review_task.assigned")
    assert assigned.request_id == "intake-0001-abcdef"
