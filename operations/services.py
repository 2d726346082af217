from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from operations.models import Heartbeat, TaskRunCount

WORKER = "worker"
BEAT = "beat"


def heartbeat_record(*, name: str, detail: str = "") -> None:
    """Record that `name` (WORKER, BEAT) is alive now."""
    now = timezone.now()
    if not Heartbeat.objects.filter(name=name).update(seen_at=now, detail=detail[:200]):
        try:
            with transaction.atomic():
                Heartbeat.objects.create(name=name, seen_at=now, detail=detail[:200])
        except IntegrityError:  # another process created it first: ours is as good
            Heartbeat.objects.filter(name=name).update(seen_at=now, detail=detail[:200])


def task_run_count(*, task_name: str, outcome: str) -> None:
    """Add one run of `task_name` with `outcome` (succeeded, failed, retried)."""
    rows = TaskRunCount.objects.filter(task_name=task_name[:128], outcome=outcome)
    if rows.update(count=F("count") + 1):
        return
    try:
        with transaction.atomic():
            TaskRunCount.objects.create(task_name=task_name[:128], outcome=outcome, count=1)
    except IntegrityError:
        rows.update(count=F("count") + 1)
