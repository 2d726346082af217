"""Reads of the inbox: a drawn reviewer's or approver's open tasks, the case's earlier
steps as a chain member may see them (people as pseudonyms), and who hears of a return
or a rejection."""

import hashlib
import hmac

from django.conf import settings
from django.contrib.auth import get_user_model

from audit.models import AuditEvent
from counters.models import Case
from langzhong_si.compiled import CompiledRead
from risk.models import ReviewTask
from staff.roles import Role
from staff.scope import scope_filter, scope_of
from staff.selectors import users_with_role

# The bound of a person's tasks: the case's agency, not its site (a reviewer in the
# county hall is drawn for a station's case). A task of another agency is never found,
# even by its id and even if assigned.
_SCOPE_PATH = "case__agency"


def _open_tasks(assignee_id):
    """The person's open tasks with their case and item, soonest due first."""
    return (
        ReviewTask.objects.filter(assignee_id=assignee_id, status=ReviewTask.Status.OPEN)
        .select_related("case", "case__item")
        .order_by("due_at", "pk")
    )


# Compiled once per process (every inbox answer and poll that found a change reads it),
# for a scope of one agency, as a staff member's is (staff.services): what scope_filter
# keeps of _open_tasks for them.
_OPEN_TASKS_OF_AGENCY = CompiledRead(
    lambda assignee_id, agency_id: _open_tasks(assignee_id).filter(
        **{f"{_SCOPE_PATH}_id": agency_id}
    )
)


def inbox_tasks(*, user) -> list[ReviewTask]:
    scope = scope_of(user)
    if not scope.everything and len(scope.agency_ids) == 1:
        (agency_id,) = scope.agency_ids
        return _OPEN_TASKS_OF_AGENCY.all(user.pk, agency_id)
    return list(scope_filter(_open_tasks(user.pk), user, agency=_SCOPE_PATH))


# A task with its case and item, by key and assignee; compiled once (every decision
# reads it). The scope is checked on the row read (inbox_task).
_TASK_OF_ASSIGNEE = CompiledRead(
    lambda task_id, assignee_id: ReviewTask.objects.select_related("case", "case__item").filter(
        pk=task_id, assignee_id=assignee_id
    )
)


def inbox_task(*, user, task_id: int) -> ReviewTask:
    """A task as its drawn person may see it; anyone else gets DoesNotExist (a 404), as
    does its own assignee once its case's agency is out of their scope (_SCOPE_PATH)."""
    task = _TASK_OF_ASSIGNEE.first(task_id, user.pk)
    scope = scope_of(user)
    if task is None or not scope.allows_agency(task.case.agency_id):
        raise ReviewTask.DoesNotExist("No review task matches the given query.")
    return task


def chain_pseudonym(*, case, user_id: int) -> str:
    """A stable stand-in for a chain member, the same on every page of one case and
    unlinkable across cases."""
    key = settings.SECRET_KEY.encode()
    digest = hmac.new(key, f"pseudonym:{case.pk}:{user_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:4].upper()


def case_earlier_steps(*, case, before_task: ReviewTask) -> list[dict]:
    """Earlier decisions of this case for a chain member, people as pseudonyms only."""
    rows = [
        {
            "role": "handle",
            "pseudonym": chain_pseudonym(case=case, user_id=case.handler_id),
            "status": "",
            "comment": "",
            "decided_at": case.accepted_at,
        }
    ]
    earlier = (
        ReviewTask.objects.filter(case=case, decided_at__isnull=False)
        .exclude(pk=before_task.pk)
        .order_by("decided_at")
    )
    for task in earlier:
        rows.append(
            {
                "role": task.role,
                "pseudonym": chain_pseudonym(case=case, user_id=task.assignee_id),
                "status": task.status,
                "comment": task.comment,
                "decided_at": task.decided_at,
            }
        )
    return rows


def case_decision_recipients(*, case: Case) -> list:
    """Who hears of a return or rejection: the handling clerk, the clerk who last
    resubmitted the case, and the window leads of the zone the case was accepted in."""
    user_ids = {case.handler_id}
    resubmitter = (
        AuditEvent.objects.filter(
            object_type="counters.case",
            object_id=str(case.pk),
            event_type="case.status_changed",
            data__from=Case.Status.RETURNED,
        )
        .order_by("-id")
        .values_list("actor_id", flat=True)
        .first()
    )
    if resubmitter:
        user_ids.add(resubmitter)
    zone = ""
    if case.ticket_id and case.ticket.window_id:
        zone = case.ticket.window.zone
    if not zone:
        zone = getattr(getattr(case.handler, "staff_profile", None), "window_team", "")
    if zone:
        user_ids |= set(
            users_with_role(Role.WINDOW_LEAD)
            .filter(staff_profile__window_team=zone)
            .values_list("pk", flat=True)
        )
    return list(get_user_model().objects.filter(pk__in=user_ids, is_active=True).order_by("pk"))
