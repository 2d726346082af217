"""Who may open a case file's scans."""

from counters.models import CaseDocument
from risk.models import ReviewTask
from staff.roles import Role
from staff.selectors import user_has_role


def document_for_viewer(*, user, document_id: int):
    """A scan as the case's chain or the counter may open it: any clerk (services'
    recusal applies to what they do, the opening is logged) or anyone drawn for a task on
    the case. Others get DoesNotExist (a 404)."""
    document = CaseDocument.objects.select_related("case").get(pk=document_id)
    case = document.case
    allowed = (
        case.handler_id == user.pk
        or user_has_role(user, Role.CLERK)
        or ReviewTask.objects.filter(case=case, assignee=user).exists()
    )
    if not allowed:
        raise CaseDocument.DoesNotExist
    return document
