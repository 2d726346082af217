"""Audit event kinds recorded by operations."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

RETENTION_REVIEWED = "operations.retention_reviewed"
DESTRUCTION_PROPOSED = "operations.destruction_proposed"
DESTRUCTION_APPROVED = "operations.destruction_approved"
DESTRUCTION_DECLINED = "operations.destruction_declined"
DESTRUCTION_WITHDRAWN = "operations.destruction_withdrawn"
DESTRUCTION_REFUSED = "operations.destruction_refused"
CASE_DESTROYED = "operations.case_destroyed"

KINDS = {
    RETENTION_REVIEWED: _("Case files past retention listed"),
    DESTRUCTION_PROPOSED: _("Destruction of a case file proposed"),
    DESTRUCTION_APPROVED: _("Destruction of a case file approved"),
    DESTRUCTION_DECLINED: _("Destruction of a case file declined"),
    DESTRUCTION_WITHDRAWN: _("Destruction proposal withdrawn by its proposer"),
    DESTRUCTION_REFUSED: _("Destruction request refused"),
    CASE_DESTROYED: _("Case file destroyed"),
}
event_kinds_declare(KINDS)
