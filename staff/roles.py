from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """Each role is a Django group of the same name (created by a data migration)."""

    CLERK = "clerk", _("Clerk")
    REVIEWER = "reviewer", _("Reviewer")
    APPROVER = "approver", _("Approver")
    TEAM_LEAD = "team_lead", _("Team lead")
    WINDOW_LEAD = "window_lead", _("Window lead")
    AUDITOR = "auditor", _("Auditor")
    SYSTEM_ADMINISTRATOR = "system_administrator", _("System administrator")
    SECURITY_ADMINISTRATOR = "security_administrator", _("Security administrator")
    AUDIT_ADMINISTRATOR = "audit_administrator", _("Audit administrator")


# 三员分立: no account may hold two of these.
SEPARATED_ADMINISTRATOR_ROLES = frozenset(
    {Role.SYSTEM_ADMINISTRATOR, Role.SECURITY_ADMINISTRATOR, Role.AUDIT_ADMINISTRATOR}
)
