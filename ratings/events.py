"""Audit event kinds recorded by 好差评: ratings, the handling of bad ones (核实整改)
and appeals (申诉)."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "rating.submitted": _("Rating submitted"),
    "follow_up.opened": _("Bad-rating follow-up opened"),
    # Kept for the events recorded before the follow-up had states.
    "follow_up.updated": _("Bad-rating follow-up updated"),
    "follow_up.assigned": _("Bad-rating follow-up assigned"),
    "follow_up.called_back": _("Bad rating verified by a callback"),
    "follow_up.replied": _("Rectification and reply recorded"),
    "follow_up.closed": _("Bad-rating handling accepted on review"),
    "follow_up.returned": _("Bad-rating handling returned for more rectification"),
    "follow_up.reopened": _("Bad-rating handling reopened on appeal"),
    "follow_up.annulled": _("Bad-rating follow-up annulled on appeal"),
    "appeal.filed": _("Rating appeal filed"),
    "appeal.upheld": _("Rating appeal upheld"),
    "appeal.dismissed": _("Rating appeal dismissed"),
}
event_kinds_declare(KINDS)
