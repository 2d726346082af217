from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """Background work recorded in the same transaction as the change that needs it.

    After commit the relay hands it to Celery and writes nothing; the task marks it done
    in its own transaction (outbox_message_done). The sweep re-sends what is not done:
    soon when the relay was refused (broker down), late when it was handed over (a task
    lost or failed for good). Tasks are idempotent, so a message sent twice has one effect.
    """

    task_name = models.CharField(_("task"), max_length=128)
    kwargs = models.JSONField(_("arguments"), default=dict)
    # Business key (e.g. "case-audit:42") so recording the same work twice is a no-op.
    dedupe_key = models.CharField(_("deduplication key"), max_length=128, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Last handed to the broker by the sweep. The relay right after commit records nothing
    # (a commit per message); a message it handed over counts as published at created_at.
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    # Set by the task, in the transaction of its effect: the work is done.
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    # Sends recorded: by the sweep, and the relay's refusals (its successes are not).
    send_attempts = models.PositiveIntegerField(_("send attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [
            # The sweep's query and the health backlog: messages not done, oldest first.
            models.Index(
                fields=["created_at"],
                name="outbox_not_done_idx",
                condition=models.Q(done_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.dedupe_key
