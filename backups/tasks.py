from celery import shared_task
from django.conf import settings

# The names keep their `operations.` prefix: beat schedules and messages already queued by
# a release from before backups had its own app name them so.
BACKUP_TASK = "operations.tasks.backup_nightly"
RESTORE_DRILL_TASK = "operations.tasks.restore_drill_weekly"


@shared_task(name=BACKUP_TASK, ignore_result=True)
def backup_nightly() -> None:
    from backups.bundle import backup_make

    backup_make(directory=settings.BACKUP_DIR)


@shared_task(name=RESTORE_DRILL_TASK, ignore_result=True)
def restore_drill_weekly() -> None:
    """Drill the newest bundle; a missing bundle is a failed drill (recorded as one)."""
    from backups.drill import restore_drill_latest

    restore_drill_latest()
