"""Audit event kinds recorded by the case file and the case state machine."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "case.accepted": _("Case accepted"),
    "case.status_changed": _("Case status changed"),
    "case.step_advanced": _("Case moved to its next step"),
    "case.materials_supplied": _("Promised materials supplied"),
    "case.document_added": _("Scan added to a case"),
    "case.corrected": _("Returned case corrected"),
    "case.signature_added": _("Applicant's signature kept in the case file"),
    "case.paper_printed": _("Case paper printed"),
    "case.searched": _("Cases searched at the counter"),
    "personal_data.case_opened": _("Another clerk's case opened"),
    "personal_data.document_viewed": _("Scan opened"),
    "personal_data.id_revealed": _("Full ID number revealed"),
    "personal_data.key_rotated": _("Personal-data key rotated"),
}
event_kinds_declare(KINDS)
