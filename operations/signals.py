"""Celery hooks: a request's id travels with the tasks it starts (a message header) and
is the audit context while they run; every task run gives one JSON log line and one
count; the heartbeat task's publication and execution are beat's and the worker's
signs of life."""

import logging
import time

from celery.signals import before_task_publish, task_postrun, task_prerun, worker_ready

from audit.context import (
    RequestContext,
    current_request_context,
    reset_request_context,
    set_request_context,
)
from langzhong_si.requestid import request_id_accept
from operations.services import BEAT, WORKER, heartbeat_record, task_run_count
from operations.tasks import HEARTBEAT_TASK

logger = logging.getLogger("langzhong.task")
REQUEST_ID_HEADER = "langzhong_request_id"
_OUTCOMES = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried"}
# task id → (audit context token, start time), for the run in progress in this process.
_running: dict[str, tuple[object, float]] = {}


@before_task_publish.connect(weak=False, dispatch_uid="operations-publish")
def _on_publish(sender=None, headers=None, **kwargs) -> None:
    request_id = current_request_context().request_id
    if headers is not None and request_id:
        headers[REQUEST_ID_HEADER] = request_id
    if sender == HEARTBEAT_TASK:
        # Only beat sends the heartbeat task: its publication is beat's sign of life.
        try:
            heartbeat_record(name=BEAT)
        except Exception:  # noqa: BLE001 - the database's own check reports it
            logger.warning("beat heartbeat not recorded", exc_info=True)


def _header(task, name: str) -> str | None:
    value = getattr(task.request, name, None)
    if value is None:
        value = (getattr(task.request, "headers", None) or {}).get(name)
    return value


@task_prerun.connect(weak=False, dispatch_uid="operations-prerun")
def _on_prerun(sender=None, task_id=None, task=None, **kwargs) -> None:
    if task is None or task.request.is_eager:
        return  # runs inside its caller: the caller's context and log line stand
    request_id = request_id_accept(_header(task, REQUEST_ID_HEADER))
    token = set_request_context(RequestContext(request_id=request_id))
    _running[task_id] = (token, time.monotonic())


@task_postrun.connect(weak=False, dispatch_uid="operations-postrun")
def _on_postrun(sender=None, task_id=None, task=None, state=None, **kwargs) -> None:
    started = _running.pop(task_id, None)
    if started is None:
        return
    token, began = started
    outcome = _OUTCOMES.get(state or "", "other")
    try:
        logger.info(
            "task %s %s",
            task.name,
            outcome,
            extra={
                "event": "task",
                "task": task.name,
                "task_id": task_id,
                "outcome": outcome,
                "duration_ms": round((time.monotonic() - began) * 1000, 1),
            },
        )
        task_run_count(task_name=task.name, outcome=outcome)
    except Exception:  # noqa: BLE001 - counting must never fail a task
        logger.warning("task run of %s not counted", task.name, exc_info=True)
    finally:
        reset_request_context(token)


@worker_ready.connect(weak=False, dispatch_uid="operations-worker-ready")
def _on_worker_ready(sender=None, **kwargs) -> None:
    try:
        heartbeat_record(name=WORKER, detail="started")
    except Exception:  # noqa: BLE001
        logger.warning("worker heartbeat not recorded", exc_info=True)
