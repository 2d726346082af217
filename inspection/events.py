"""Audit event kinds recorded by inspection."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "audit.inspected": _("Finding inspected"),
    "audit.log_read": _("Audit log read"),
    "audit.sampled": _("Case sampled for re-inspection"),
    "personal_data.archive_exported": _("Case e-archive exported"),
}
event_kinds_declare(KINDS)
