"""Audit event kinds recorded by the staff app."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "account.activated": _("Account activated"),
    "account.deactivated": _("Account deactivated"),
    "api_token.issued": _("API token issued"),
    "api_token.revoked": _("API token revoked"),
    "auth.locked_out": _("Account locked after failed sign-ins"),
    "auth.password_set": _("Password set by someone else"),
    "auth.second_factor": _("Second factor confirmed"),
    "auth.second_factor_reset": _("Second factor reset"),
    "auth.superuser_retired": _("Installation superuser retired"),
    "auth.superuser_signed_in": _("Installation superuser signed in"),
    "auth.unlocked": _("Account unlocked"),
    "role.granted": _("Role granted"),
    "role.revoked": _("Role revoked"),
    "staff.created": _("Staff account created"),
    "staff.sites_changed": _("Staff member's sites changed"),
    "staff.employee_number_changed": _("Employee number changed"),
}
event_kinds_declare(KINDS)
