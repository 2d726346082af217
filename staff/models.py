from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

QUALIFICATION_LEVELS = [(level, str(level)) for level in range(4)]


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
    # The highest risk level this person may review / approve; 0 means not at all.
    review_level = models.PositiveSmallIntegerField(
        _("review qualification"), choices=QUALIFICATION_LEVELS, default=0
    )
    approval_level = models.PositiveSmallIntegerField(
        _("approval qualification"), choices=QUALIFICATION_LEVELS, default=0
    )
    availability = models.CharField(
        _("availability"),
        max_length=16,
        choices=Availability.choices,
        default=Availability.ON_DUTY,
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(review_level__lte=3), name="staff_review_level_0_3"
            ),
            models.CheckConstraint(
                condition=models.Q(approval_level__lte=3), name="staff_approval_level_0_3"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.employee_number})"
