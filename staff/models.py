from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from audit.bulk import AuditedManager


class StaffProfile(models.Model):
    class Availability(models.TextChoices):
        ON_DUTY = "on_duty", _("On duty")
        PAUSED = "paused", _("Paused")
        ON_LEAVE = "on_leave", _("On leave")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="staff_profile",
    )
    display_name = models.CharField(_("display name"), max_length=64)
    employee_number = models.CharField(_("employee number"), max_length=16, unique=True)
    # Keyed hash of the staff member's own ID number, so a draw can recuse them from
    # their own application without storing the number.
    id_number_digest = models.CharField(_("ID number digest"), max_length=64, blank=True)
    window_team = models.CharField(_("window team"), max_length=64, blank=True)
    # The sites the person works at (all in one agency). A clerk, reviewer, approver or
    # window lead sees and is drawn at these only; a team lead, auditor or administrator
    # sees their agency (staff.scope).
    sites = models.ManyToManyField(
        "sites.Site", verbose_name=_("sites"), related_name="staff_profiles", blank=True
    )
    availability = models.CharField(
        _("availability"),
        max_length=16,
        choices=Availability.choices,
        default=Availability.ON_DUTY,
    )
    objects = AuditedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return f"{self.display_name} ({self.employee_number})"


class Notification(models.Model):
    """An in-app notice for a staff member (new task, time limit near, empty pool...)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    message = models.CharField(_("message"), max_length=300)
    link = models.CharField(_("link"), max_length=200, blank=True)
    # The business event it reports, so a repeated message never doubles a notice.
    dedupe_key = models.CharField(_("deduplication key"), max_length=128, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [
            # The badge: a person's unread notices.
            models.Index(
                fields=["recipient"],
                name="staff_notification_unread_idx",
                condition=models.Q(read_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return self.message


class PasswordRecord(models.Model):
    """A password a staff member has set (its hash only): for "no reuse of the last
    five" and for the 90-day change. Written by the password validator's hook."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="password_records",
    )
    password_hash = models.CharField(_("password hash"), max_length=128)
    set_at = models.DateTimeField(_("set at"))
    # Someone else (an administrator) set it: the person must choose their own at their
    # next sign-in, before any other page (staff.passwords.password_expired).
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("set by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("password record")
        verbose_name_plural = _("password records")
        indexes = [models.Index(fields=["user", "-set_at"], name="staff_password_latest_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.set_at:%Y-%m-%d}"


class ApiToken(models.Model):
    """An integration account's API key. Only its SHA-256 digest is stored (the key is
    shown once, at issue) with a short prefix to tell keys apart; it expires and can be
    revoked. Issued and revoked through staff.services, each an audit event."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="api_tokens",
    )
    prefix = models.CharField(_("key prefix"), max_length=8)
    # Unique: its index is the authentication's one look-up per request.
    digest = models.CharField(_("key digest"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="staff_apitoken_expires_after_creation",
            )
        ]

    def __str__(self) -> str:
        # Never the key (the admin's log and lists show this).
        return f"{self.prefix}… ({self.user_id})"
