"""Audit event kinds recorded by the audit app itself."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "admin.added": _("Added in the admin"),
    "admin.changed": _("Changed in the admin"),
    "admin.deleted": _("Deleted in the admin"),
    "admin.action": _("Admin action"),
    "audit.finding": _("Audit finding raised"),
    "audit.keys_missing": _("Audit event keys missing before chaining"),
    "auth.signed_in": _("Signed in"),
    "auth.signed_out": _("Signed out"),
    "auth.sign_in_failed": _("Sign-in failed"),
    "power.refused": _("Use of power refused"),
    "record.edited": _("Reference data edited"),
    "record.deleted": _("Reference data deleted"),
}
event_kinds_declare(KINDS)
