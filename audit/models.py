from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kind_label


class AuditEvent(models.Model):
    """One business event in the append-only, hash-chained log.

    A business transaction inserts its events as plain rows (their `id`, from a database
    sequence, is the event's key) with no chain fields; the sequencer (`audit.chain`)
    later sets `position`, `prev_hash`, `hash` and `chained_at`, once, on committed rows.
    `hash` = SHA-256(prev_hash + canonical content); each row's prev_hash is the hash of
    the row at position - 1, so editing, deleting or inserting a row breaks the chain at
    that position (see `audit.services.audit_log_verify`).
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("Success")
        REFUSED = "refused", _("Refused")
        FAILURE = "failure", _("Failure")

    # Null while the event waits for the sequencer ("waiting" on the screens).
    position = models.BigIntegerField(_("position"), unique=True, null=True, blank=True)
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
    # The agency the event belongs to (its object's, its site's, its actor's), null for
    # deployment-wide acts. A plain integer, no foreign key: the log is below the sites
    # layer, and a partition (or a distributed shard) of it is keyed by this column.
    # Part of the hash from the first event that has one (audit.services._canonical).
    agency_id = models.IntegerField(_("agency"), null=True, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64, null=True, blank=True)
    hash = models.CharField(_("hash"), max_length=64, null=True, blank=True)
    chained_at = models.DateTimeField(_("chained at"), null=True, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        # The key (commit-independent insertion order); the chain's order is `position`.
        ordering = ["id"]
        indexes = [
            # The sequencer's queue: events not yet chained, by key.
            models.Index(
                fields=["id"],
                condition=models.Q(position__isnull=True),
                name="audit_event_waiting_idx",
            ),
            # The archive and auditors list one object's events.
            models.Index(fields=["object_type", "object_id"], name="audit_event_object_idx"),
            # Reports and the daily export filter by time and kind.
            models.Index(fields=["event_type", "occurred_at"], name="audit_event_type_time_idx"),
            # One agency's log, newest first by key (audit.selectors); the partition key.
            models.Index(fields=["agency_id", "id"], name="audit_event_agency_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.position or 'waiting'} {self.event_type}"

    @property
    def is_chained(self) -> bool:
        return self.position is not None

    @property
    def event_label(self) -> str:
        """The kind's translated label from its app's declaration (audit.kinds)."""
        return event_kind_label(self.event_type)


class Finding(models.Model):
    """Something continuous audit (a rule, or a random sample) puts in the auditors'
    queue. Findings are never deleted; an auditor records a result and closes them."""

    class Severity(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")

    class Result(models.TextChoices):
        OPEN = "", _("Not yet inspected")
        NO_ISSUE = "no_issue", _("No issue")
        ERROR = "error", _("Error")
        IRREGULARITY = "irregularity", _("Irregularity")

    RULE_LABELS = {
        "material_missing": _("Required material missing without 容缺"),
        "finished_late": _("Finished after its promised date"),
        "chain_not_distinct": _("The chain is not distinct people"),
        "repeated_pair": _("Same clerk and applicant 3+ times in 30 days"),
        "assisting_staff_drawable": _(
            "A reviewer or approver named as the staff member who helped: left out of the draw"
        ),
        "no_show_rate": _("No-show rate far above peers'"),
        "decision_outlier": _("Review decisions far from peers'"),
        "outside_office_hours": _("Action outside office hours"),
        "repeated_retake": _("Repeated cancel and re-take"),
        "sample": _("Random sample for re-inspection"),
        "pool_shrink": _("A draw pool shrank suddenly"),
        "audit_key_missing": _("An audit event vanished before it was chained"),
        "power_refused": _("A use of power refused (another agency's, a role not held, one's own)"),
        "sign_in_code_refused": _("A sign-in code typed wrong again and again"),
    }

    rule = models.CharField(_("rule"), max_length=48)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    case = models.ForeignKey(
        "counters.Case", verbose_name=_("case"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="findings",
    )  # fmt: skip
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("staff member concerned"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="audit_findings",
    )  # fmt: skip
    evidence = models.JSONField(_("evidence"), default=dict)
    # One finding per rule and object (and day for the nightly rules): re-running is harmless.
    dedupe_key = models.CharField(_("deduplication key"), max_length=128, unique=True)
    created_at = models.DateTimeField(_("found at"), auto_now_add=True)
    result = models.CharField(_("result"), max_length=16, choices=Result.choices, blank=True)
    error_kind = models.CharField(_("kind of error"), max_length=64, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    inspected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("inspected by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    inspected_at = models.DateTimeField(_("inspected at"), null=True, blank=True)

    class Meta:
        verbose_name = _("audit finding")
        verbose_name_plural = _("audit findings")
        ordering = ["result", "-created_at"]
        indexes = [
            # The auditors' queue: open findings, newest first.
            models.Index(fields=["result", "-created_at"], name="audit_finding_queue_idx"),
            # Period reports: findings raised in a date range.
            models.Index(fields=["created_at"], name="audit_finding_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} #{self.pk}"

    def delete(self, *args, **kwargs):
        raise PermissionError("audit findings are never deleted")

    @property
    def rule_label(self) -> str:
        return str(self.RULE_LABELS.get(self.rule, self.rule))


class ChainSequencer(models.Model):
    """The audit chain sequencer's one row: whoever holds its row lock is the only
    sequencer (a lease PostgreSQL frees when the holder's transaction or connection ends;
    on SQLite the write transaction is already exclusive). It also remembers which event
    keys it has looked at, so a key that never appears is reported, not skipped."""

    # Every key up to here has been seen (present, or recorded missing)...
    scanned_through = models.BigIntegerField(_("keys scanned through"), null=True, blank=True)
    # ...except these: [key, first seen missing (ISO time)], still possibly in flight.
    pending_keys = models.JSONField(_("keys not yet seen"), default=list, blank=True)
    ran_at = models.DateTimeField(_("last run"), null=True, blank=True)

    class Meta:
        verbose_name = _("audit chain sequencer")
        verbose_name_plural = _("audit chain sequencer")

    def __str__(self) -> str:
        return f"sequencer through key {self.scanned_through}"
