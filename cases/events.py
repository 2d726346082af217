"""Audit event kinds recorded by the case file and the case state machine."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "case.accepted": _("Case accepted"),
    "case.status_changed": _("Case status changed"),
    "case.step_advanced": _("Case moved to its next step"),
    "case.materials_supplied": _("Promised materials supplied"),
    "case.corrected": _("Returned case corrected"),
    "case.searched": _("Cases searched at the counter"),
    "personal_data.case_opened": _("Another clerk's case opened"),
}
event_kinds_declare(KINDS)
