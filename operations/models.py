from django.db import models
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """The last time a background component showed it is alive: `worker` (a worker ran
    the heartbeat task) and `beat` (beat published it). Written by operations.services,
    read by /readyz, the live hall's banner and the metrics."""

    name = models.CharField(_("component"), max_length=32, primary_key=True)
    seen_at = models.DateTimeField(_("last seen"))
    detail = models.CharField(_("detail"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return self.name


class TaskRunCount(models.Model):
    """How many times each Celery task ran in a worker, by outcome. Kept in the database
    rather than in each worker's memory so one scrape of /metrics sees every worker on
    every host; monotonic, as Prometheus counters are."""

    task_name = models.CharField(_("task"), max_length=128)
    outcome = models.CharField(_("outcome"), max_length=16)
    count = models.PositiveBigIntegerField(_("count"), default=0)

    class Meta:
        verbose_name = _("task run count")
        verbose_name_plural = _("task run counts")
        constraints = [
            models.UniqueConstraint(
                fields=["task_name", "outcome"], name="operations_task_run_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.task_name} {self.outcome}"
