from django.db import models
from django.utils.translation import gettext_lazy as _


class Delivery(models.Model):
    """One business event reported upward (a rating, a case's acceptance or completion),
    recorded in the transaction of the event itself and delivered after commit.

    `key` is the idempotency key the platform deduplicates on: every attempt, a resend
    included, sends the same key and the same body (`payload`, built once)."""

    class Platform(models.TextChoices):
        RATINGS = "ratings", _("好差评 platform")
        CASES = "cases", _("Case platform")

    class Kind(models.TextChoices):
        RATING = "rating", _("Rating")
        CASE_ACCEPTED = "case_accepted", _("Case accepted")
        CASE_COMPLETED = "case_completed", _("Case completed")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        RETRYING = "retrying", _("Failed, will retry")
        SENT = "sent", _("Handed over")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        DEAD = "dead", _("Failed (dead letter)")

    key = models.CharField(_("idempotency key"), max_length=128, unique=True)
    platform = models.CharField(_("platform"), max_length=16, choices=Platform.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    object_id = models.PositiveBigIntegerField(_("record"))
    # The agency whose event it is (its sender id goes out with it; its team lead sees
    # and resends it). Null only for deliveries recorded before agencies existed.
    agency = models.ForeignKey(
        "sites.Agency",
        verbose_name=_("agency"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # When the business event happened: the reconciliation's day.
    occurred_at = models.DateTimeField(_("occurred at"))
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    payload = models.JSONField(_("body sent"), null=True, blank=True)
    transport = models.CharField(_("transport"), max_length=8, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # Failures since the delivery was recorded or last resent: the backoff's exponent.
    failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    # Retrying: when the next attempt is due; sending: when a stalled attempt may be taken
    # over (its worker died).
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    acknowledged_id = models.CharField(_("acknowledged id"), max_length=128, blank=True)
    finished_at = models.DateTimeField(_("delivered or failed at"), null=True, blank=True)
    resends = models.PositiveSmallIntegerField(_("resends"), default=0)

    class Meta:
        verbose_name = _("report delivery")
        verbose_name_plural = _("report deliveries")
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="reporting_one_per_event"),
        ]
        indexes = [
            # The retry sweep: deliveries not yet delivered, by when they are due.
            models.Index(
                fields=["next_attempt_at"],
                name="reporting_due_idx",
                condition=models.Q(status__in=["pending", "sending", "retrying"]),
            ),
            # The daily reconciliation and the dead-letter list.
            models.Index(fields=["occurred_at"], name="reporting_occurred_idx"),
            models.Index(
                fields=["finished_at"],
                name="reporting_dead_idx",
                condition=models.Q(status="dead"),
            ),
        ]

    def __str__(self) -> str:
        return self.key


class DeliveryAttempt(models.Model):
    """One try at handing a delivery over: what the platform answered, or why not."""

    class Outcome(models.TextChoices):
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        SENT = "sent", _("Handed over")
        RETRY = "retry", _("Failed, will retry")
        REFUSED = "refused", _("Refused")

    delivery = models.ForeignKey(
        Delivery, verbose_name=_("delivery"), on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField(_("attempt"))
    transport = models.CharField(_("transport"), max_length=8)
    started_at = models.DateTimeField(_("started at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="reporting_attempt_once"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}"


# Which platform hears of each kind of event.
PLATFORM_OF = {
    Delivery.Kind.RATING: Delivery.Platform.RATINGS,
    Delivery.Kind.CASE_ACCEPTED: Delivery.Platform.CASES,
    Delivery.Kind.CASE_COMPLETED: Delivery.Platform.CASES,
}
