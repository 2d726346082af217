from itertools import combinations

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
    # The city's (or province's) view over the agencies of a deployment: every agency's
    # screens and reports, read-only. No agency business is done in this role.
    CITY_VIEWER = "city_viewer", _("City-level viewer")
    # A machine, not a person: the only kind of account that may hold an API token.
    INTEGRATION = "integration", _("Integration account")


# 三员分立: no account may hold two of these.
SEPARATED_ADMINISTRATOR_ROLES = frozenset(
    {Role.SYSTEM_ADMINISTRATOR, Role.SECURITY_ADMINISTRATOR, Role.AUDIT_ADMINISTRATOR}
)

# The roles a review or approval step is drawn from: granting or revoking them, or
# (de)activating an account that holds one, changes who can be drawn.
DRAWN_ROLES = frozenset({Role.REVIEWER, Role.APPROVER})

# Roles that need a person's judgement or a person's accountability. An integration
# account holds none of them: it may act as an intake channel (the clerk's operations)
# and nothing else.
HUMAN_ONLY_ROLES = frozenset(set(Role) - {Role.CLERK, Role.INTEGRATION})

# Pairs no account may hold together, refused by the service, by a signal on every change
# of a user's groups and by a database trigger (staff migrations 0005 and 0007; a test
# checks the trigger's table against this one).
#  - the three administrators (三员分立);
#  - the auditor (稽核) against the business posts they inspect (业务经办与稽核内控分离);
#  - an integration account against every role a person must hold.
INCOMPATIBLE_ROLES: frozenset[frozenset[Role]] = frozenset(
    {frozenset(pair) for pair in combinations(sorted(SEPARATED_ADMINISTRATOR_ROLES), 2)}
    | {
        frozenset({Role.AUDITOR, business})
        for business in (Role.CLERK, Role.REVIEWER, Role.APPROVER, Role.TEAM_LEAD)
    }
    | {frozenset({Role.INTEGRATION, human}) for human in HUMAN_ONLY_ROLES}
    # The city-level viewer sees every agency: held with any other role, that role's acts
    # would reach every agency too. It is a role of its own.
    | {frozenset({Role.CITY_VIEWER, other}) for other in Role if other != Role.CITY_VIEWER}
)


def incompatible_pair(held: set[str]) -> tuple[str, str] | None:
    """The first incompatible pair among role names `held`, or None."""
    for first, second in incompatible_pairs():
        if first in held and second in held:
            return first, second
    return None


def incompatible_pairs() -> list[tuple[str, str]]:
    """The table as sorted pairs of role names (for messages, SQL and tests)."""
    return sorted(tuple(sorted(role.value for role in pair)) for pair in INCOMPATIBLE_ROLES)
