from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One business event in the append-only, hash-chained log.

    `hash` = SHA-256(prev_hash + canonical content); each row's prev_hash is the hash of
    the row at position - 1, so editing, deleting or inserting a row breaks the chain at
    that position (see `audit.services.audit_log_verify`).
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("Success")
        REFUSED = "refused", _("Refused")
        FAILURE = "failure", _("Failure")

    position = models.BigIntegerField(_("position"), unique=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        # Staff accounts are deactivated, never deleted, while their events are kept.
        on_delete=models.PROTECT,
        related_name="+",
    )
    event_type = models.CharField(_("event type"), max_length=64)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS
    )
    data = models.JSONField(_("data"), default=dict)
    source_ip = models.GenericIPAddressField(_("source IP"), null=True, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["position"]
        indexes = [
            # The archive and auditors list one object's events.
            models.Index(fields=["object_type", "object_id"], name="audit_event_object_idx"),
            # Reports and the daily export filter by time and kind.
            models.Index(fields=["event_type", "occurred_at"], name="audit_event_type_time_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.position} {self.event_type}"
