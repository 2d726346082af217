"""Audit event kinds recorded by upward reporting."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "reporting.dead_lettered": _("Report delivery failed (dead letter)"),
    "reporting.resent": _("Failed report delivery resent"),
}
event_kinds_declare(KINDS)
