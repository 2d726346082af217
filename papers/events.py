"""Audit event kinds recorded by the counter's papers."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "case.signature_added": _("Applicant's signature kept in the case file"),
    "case.paper_printed": _("Case paper printed"),
}
event_kinds_declare(KINDS)
