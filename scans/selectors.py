"""Who may open a case file's scans (within staff.scope)."""

from counters.models import CaseDocument
from risk.models import ReviewTask
from staff.roles import Role
from staff.scope import scope_of
from staff.selectors import user_has_role


def document_for_viewer(*, user, document_id: int):
    """A scan as the counter or the case's chain may open it: any clerk of the case's
    site (services' recusal applies to what they do, the opening is logged), or anyone
    drawn for a task on the case within its agency (a hall reviewer drawn for a station's
    case). Others, and everyone of another agency, get DoesNotExist (a 404)."""
    document = CaseDocument.objects.select_related("case").get(pk=document_id)
    case = document.case
    scope = scope_of(user)
    at_counter = (
        case.handler_id == user.pk or user_has_role(user, Role.CLERK)
    ) and scope.allows_site(case.site_id)
    in_chain = (
        scope.allows_agency(case.agency_id)
        and ReviewTask.objects.filter(case=case, assignee=user).exists()
    )
    if not (at_counter or in_chain):
        raise CaseDocument.DoesNotExist
    return document
