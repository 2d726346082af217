from celery import shared_task
from django.conf import settings

HEARTBEAT_TASK = "operations.tasks.heartbeat"
BACKUP_TASK = "operations.tasks.backup_nightly"
RESTORE_DRILL_TASK = "operations.tasks.restore_drill_weekly"


@shared_task(name=HEARTBEAT_TASK, ignore_result=True)
def heartbeat() -> None:
    """Beat publishes this every HEARTBEAT_INTERVAL_SECONDS; a worker running it is alive."""
    from celery import current_task

    from operations.services import WORKER, heartbeat_record

    heartbeat_record(name=WORKER, detail=str(current_task.request.hostname or "")[:200])


@shared_task(name=BACKUP_TASK, ignore_result=True)
def backup_nightly() -> None:
    from operations.backup import backup_make

    backup_make(directory=settings.BACKUP_DIR)


@shared_task(name=RESTORE_DRILL_TASK, ignore_result=True)
def restore_drill_weekly() -> None:
    """Drill the newest bundle; a missing bundle is a failed drill (recorded as one)."""
    from operations.drill import restore_drill_latest

    restore_drill_latest()


RETENTION_REVIEW_TASK = "operations.tasks.retention_review_monthly"


@shared_task(name=RETENTION_REVIEW_TASK, ignore_result=True)
def retention_review_monthly() -> None:
    """List the case files past retention for the two-person destruction decision."""
    from operations.services import retention_review

    retention_review()
