from celery import shared_task

HEARTBEAT_TASK = "operations.tasks.heartbeat"
RETENTION_REVIEW_TASK = "operations.tasks.retention_review_monthly"


@shared_task(name=HEARTBEAT_TASK, ignore_result=True)
def heartbeat() -> None:
    """Beat publishes this every HEARTBEAT_INTERVAL_SECONDS; a worker running it is alive."""
    from celery import current_task

    from operations.services import WORKER, heartbeat_record

    heartbeat_record(name=WORKER, detail=str(current_task.request.hostname or "")[:200])


@shared_task(name=RETENTION_REVIEW_TASK, ignore_result=True)
def retention_review_monthly() -> None:
    """List the case files past retention for the two-person destruction decision."""
    from operations.services import retention_review

    retention_review()
