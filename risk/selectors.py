import hashlib
import hmac

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count

from counters.models import Case
from risk.models import ReviewTask, StepRole
from staff.models import StaffProfile
from staff.roles import Role

_ROLE_GROUP = {
    StepRole.REVIEW: Role.REVIEWER,
    StepRole.APPROVAL: Role.APPROVER,
    StepRole.SECOND_APPROVAL: Role.APPROVER,
}


def review_pool(*, task: ReviewTask) -> tuple[list[int], list[dict]]:
    """The eligible pool for one task's draw and everyone left out, with the reason.

    Eligible: active, in the step's role, on duty, qualified for the case's level,
    under the open-task cap, and not recused (the handling clerk, the applicant, or
    anyone who already held a task on this case).
    """
    case = task.case
    candidates = (
        get_user_model()
        .objects.filter(is_active=True, groups__name=_ROLE_GROUP[StepRole(task.role)].value)
        .select_related("staff_profile")
        .order_by("pk")
    )
    earlier = dict(
        ReviewTask.objects.filter(case=case, assignee__isnull=False)
        .exclude(pk=task.pk)
        .values_list("assignee_id", "status")
    )
    open_counts = dict(
        ReviewTask.objects.filter(status=ReviewTask.Status.OPEN, assignee__in=candidates)
        .values("assignee")
        .annotate(n=Count("pk"))
        .values_list("assignee", "n")
    )
    pool: list[int] = []
    excluded: list[dict] = []
    for user in candidates:
        reason = _recusal_reason(
            user, task=task, case=case, earlier=earlier, open_counts=open_counts
        )
        if reason:
            excluded.append({"user": user.pk, "reason": reason})
        else:
            pool.append(user.pk)
    return pool, excluded


def _recusal_reason(user, *, task, case, earlier, open_counts) -> str:
    profile: StaffProfile | None = getattr(user, "staff_profile", None)
    if profile is None:
        return "no_staff_profile"
    if user.pk == case.handler_id:
        return "handling_clerk"
    if profile.id_number_digest and profile.id_number_digest == case.applicant_id_digest:
        return "applicant"
    if user.pk in earlier:
        return "absent_earlier" if earlier[user.pk] == ReviewTask.Status.EXPIRED else "in_chain"
    level = profile.review_level if task.role == StepRole.REVIEW else profile.approval_level
    if level < case.risk_level:
        return "not_qualified"
    if profile.availability != StaffProfile.Availability.ON_DUTY:
        return "unavailable"
    if open_counts.get(user.pk, 0) >= settings.REVIEW_OPEN_TASK_CAP:
        return "over_cap"
    return ""


def inbox_tasks(*, user):
    return (
        ReviewTask.objects.filter(assignee=user, status=ReviewTask.Status.OPEN)
        .select_related("case", "case__item")
        .order_by("due_at")
    )


def inbox_task(*, user, task_id: int) -> ReviewTask:
    """A task as its drawn person may see it; anyone else gets DoesNotExist (a 404)."""
    return ReviewTask.objects.select_related("case", "case__item").get(pk=task_id, assignee=user)


def chain_pseudonym(*, case: Case, user_id: int) -> str:
    """A stable stand-in for a chain member, the same on every page of one case and
    unlinkable across cases."""
    key = settings.SECRET_KEY.encode()
    digest = hmac.new(key, f"pseudonym:{case.pk}:{user_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:4].upper()


def case_earlier_steps(*, case: Case, before_task: ReviewTask) -> list[dict]:
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
