"""Audit event kinds recorded by the draws: seeds, draws, the auditor's bundles."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "seed.committed": _("Day's seed committed"),
    "seed.revealed": _("Day's seed revealed"),
    "draw.made": _("Random draw made"),
    "draws.bundle_downloaded": _("Day's draws downloaded for verification"),
}
event_kinds_declare(KINDS)
