"""Audit event kinds recorded by the security desk."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "auth.sign_in_code_issued": _("Sign-in code given"),
    "auth.sign_in_code_used": _("Sign-in code entered"),
    "auth.sign_in_code_refused": _("Wrong sign-in code entered"),
}
event_kinds_declare(KINDS)
