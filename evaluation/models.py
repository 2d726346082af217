from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

from audit.bulk import AuditedManager

# The score's components, in the order sheets show them.
COMPONENTS = ("volume", "speed", "on_time", "satisfaction", "quality", "audit")


class EvaluationWeights(models.Model):
    """The weights of the composite evaluation score, as the team lead set them.

    Append-only: each change is a new row with who set it and why, so every past
    sheet can be re-scored with the weights it was signed under."""

    volume = models.PositiveSmallIntegerField(_("volume"), default=20)
    speed = models.PositiveSmallIntegerField(_("handling speed"), default=15)
    on_time = models.PositiveSmallIntegerField(_("on-time rate"), default=25)
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction"), default=20)
    quality = models.PositiveSmallIntegerField(_("returns and rejections"), default=10)
    audit = models.PositiveSmallIntegerField(_("audit errors"), default=10)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("set by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    set_at = models.DateTimeField(_("set at"))
    reason = models.CharField(_("reason"), max_length=200)
    objects = AuditedManager()

    class Meta:
        verbose_name = _("evaluation weights")
        verbose_name_plural = _("evaluation weights")
        get_latest_by = ["set_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Exact(
                    F("volume")
                    + F("speed")
                    + F("on_time")
                    + F("satisfaction")
                    + F("quality")
                    + F("audit"),
                    100,
                ),
                name="evaluation_weights_sum_100",
            ),
        ]

    def __str__(self) -> str:
        return " / ".join(str(getattr(self, name)) for name in COMPONENTS)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COMPONENTS}
