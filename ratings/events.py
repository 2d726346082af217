"""Audit event kinds recorded by 好差评: ratings and the follow-ups of bad ones."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "rating.submitted": _("Rating submitted"),
    "follow_up.opened": _("Bad-rating follow-up opened"),
    "follow_up.updated": _("Bad-rating follow-up updated"),
}
event_kinds_declare(KINDS)
