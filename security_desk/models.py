from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class SignInCode(models.Model):
    """A one-time code the security administrator gives a person in hand, which a
    password someone else set (a new account's first, an administrator's reset) waits
    for before it opens anything (staff.middleware). The administrator who set the
    password never sees it; the one who gives it never sees the password: no single
    administrator can sign in as another person. Kept only as a keyed digest."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("sign-in code", "open")
        USED = "used", pgettext_lazy("sign-in code", "entered")
        REPLACED = "replaced", _("replaced by a newer code")
        REFUSED = "refused", _("ended by wrong entries")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sign_in_codes"
    )
    digest = models.CharField(max_length=64)
    # The password it was given for: a later reset, or the person's own change, leaves it
    # opening nothing.
    password_record = models.ForeignKey(
        "staff.PasswordRecord", on_delete=models.CASCADE, related_name="+"
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    wrong_entries = models.PositiveSmallIntegerField(default=0)
    # Changed only through security_desk.transitions.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in code")
        verbose_name_plural = _("sign-in codes")
        constraints = [
            # One code open per person: a new one ends the one before.
            models.UniqueConstraint(
                fields=["user"], condition=Q(status="open"), name="sign_in_code_one_open"
            ),
            # Open until it ends, and it ends once.
            models.CheckConstraint(
                condition=Q(status="open", ended_at__isnull=True)
                | (~Q(status="open") & Q(ended_at__isnull=False)),
                name="sign_in_code_ended_when_not_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.issued_at:%Y-%m-%d %H:%M} · {self.get_status_display()}"
