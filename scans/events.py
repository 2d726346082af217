"""Audit event kinds recorded for the case file's scans and personal data."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "case.document_added": _("Scan added to a case"),
    "personal_data.document_viewed": _("Scan opened"),
    "personal_data.id_revealed": _("Full ID number revealed"),
    "personal_data.key_rotated": _("Personal-data key rotated"),
}
event_kinds_declare(KINDS)
