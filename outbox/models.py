from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """Background work recorded in the same transaction as the change that needs it.

    The relay sends it to Celery after commit; the sweep re-sends anything not yet
    sent (broker down, process killed). Tasks are idempotent, so a message sent twice
    has one effect.
    """

    task_name = models.CharField(_("task"), max_length=128)
    kwargs = models.JSONField(_("arguments"), default=dict)
    # Business key (e.g. "review-draw:task:42") so recording the same work twice is a no-op.
    dedupe_key = models.CharField(_("deduplication key"), max_length=128, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    send_attempts = models.PositiveIntegerField(_("send attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [
            # The sweep's query: unsent messages, oldest first.
            models.Index(
                fields=["created_at"],
                name="outbox_unsent_idx",
                condition=models.Q(sent_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.dedupe_key
