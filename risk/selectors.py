import datetime
import hashlib
import hmac
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Q
from django.utils import timezone

from counters.models import Case
from risk.models import (
    DEFAULT_CHAIN,
    DailySeed,
    ItemRiskPolicy,
    LeavePeriod,
    Qualification,
    RecusalDeclaration,
    ReviewTask,
    RiskPolicy,
    StaffRelative,
    StepRole,
)
from staff.models import StaffProfile
from staff.roles import Role

_ROLE_GROUP = {
    StepRole.REVIEW: Role.REVIEWER,
    StepRole.APPROVAL: Role.APPROVER,
    StepRole.SECOND_APPROVAL: Role.APPROVER,
}


def qualification_levels(*, kind: str, on: datetime.date, users=None) -> dict[int, int]:
    """Each person's highest level of `kind` in force on a day."""
    grants = Qualification.objects.filter(kind=kind, valid_from__lte=on, revoked_at__isnull=True)
    grants = grants.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
    if users is not None:
        grants = grants.filter(user__in=users)
    return dict(grants.values("user").annotate(top=Max("level")).values_list("user", "top"))


def chain_for_item(item) -> tuple[list[str], int]:
    """The item's review chain and office hours per step: its own override, else its
    level's policy, else DOMAIN.md's default."""
    override = ItemRiskPolicy.objects.filter(item=item).first()
    if override is not None:
        return list(override.steps), override.step_hours
    policy = RiskPolicy.objects.filter(level=item.risk_level).first()
    if policy is not None:
        return list(policy.steps), policy.step_hours
    return [role.value for role in DEFAULT_CHAIN[item.risk_level]], 4


def review_pool(*, task: ReviewTask) -> tuple[list[int], list[dict]]:
    """The eligible pool for one task's draw and everyone left out, with the reason.

    Eligible: active, in the step's role, qualified for the case's level today, on duty
    and not on leave, under the open-task cap, and not recused (the handling clerk,
    the applicant, a declared relative of the applicant, or anyone who already held a
    task on this case).
    """
    case = task.case
    today = timezone.localdate()
    # Plain rows, not model instances: with thousands of eligible staff, building the
    # objects cost most of a draw (bench/draw_pool.py: 319 ms → see the issue notes).
    people = get_user_model().objects.filter(
        is_active=True, groups__name=_ROLE_GROUP[StepRole(task.role)].value
    )
    candidates = [
        Candidate(*row)
        for row in people.order_by("pk").values_list(
            "pk",
            "staff_profile__pk",
            "staff_profile__id_number_digest",
            "staff_profile__availability",
        )
    ]
    kind = (
        Qualification.Kind.REVIEW if task.role == StepRole.REVIEW else Qualification.Kind.APPROVAL
    )
    context = {
        "case": case,
        "levels": qualification_levels(kind=kind, on=today, users=people.values("pk")),
        "earlier": dict(
            ReviewTask.objects.filter(case=case, assignee__isnull=False)
            .exclude(pk=task.pk)
            .values_list("assignee_id", "status")
        ),
        "open_counts": dict(
            ReviewTask.objects.filter(status=ReviewTask.Status.OPEN)
            .values("assignee")
            .annotate(n=Count("pk"))
            .values_list("assignee", "n")
        ),
        "relatives": set(
            StaffRelative.objects.filter(id_number_digest=case.applicant_id_digest).values_list(
                "user_id", flat=True
            )
        ),
        "on_leave": set(
            LeavePeriod.objects.filter(start__lte=today, end__gte=today).values_list(
                "user_id", flat=True
            )
        ),
    }
    pool: list[int] = []
    excluded: list[dict] = []
    for user in candidates:
        reason = _recusal_reason(user, **context)
        if reason:
            excluded.append({"user": user.pk, "reason": reason})
        else:
            pool.append(user.pk)
    return pool, excluded


class Candidate(NamedTuple):
    pk: int
    profile_pk: int | None
    id_number_digest: str | None
    availability: str | None


def _recusal_reason(user, *, case, levels, earlier, open_counts, relatives, on_leave) -> str:
    if user.profile_pk is None:
        return "no_staff_profile"
    if user.pk == case.handler_id:
        return "handling_clerk"
    if user.id_number_digest and user.id_number_digest == case.applicant_id_digest:
        return "applicant"
    if user.pk in relatives:
        return "relative"
    if user.pk in earlier:
        return "absent_earlier" if earlier[user.pk] == ReviewTask.Status.EXPIRED else "in_chain"
    if levels.get(user.pk, 0) < case.risk_level:
        return "not_qualified"
    if user.pk in on_leave or user.availability == StaffProfile.Availability.ON_LEAVE:
        return "on_leave"
    if user.availability != StaffProfile.Availability.ON_DUTY:
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


def case_progress_for_clerk(*, case: Case) -> dict:
    """What the handling clerk may know of the chain: whether the current step waits for a
    qualified person, and the reasons given for a return, never who gave them."""
    current = ReviewTask.objects.filter(
        case=case, review_round=case.review_round, status__in=ReviewTask.OPEN_STATES
    ).first()
    returned = (
        ReviewTask.objects.filter(case=case, status=ReviewTask.Status.RETURNED)
        .order_by("-decided_at")
        .values_list("comment", flat=True)
    )
    return {
        "awaiting_qualified": current is not None
        and current.status == ReviewTask.Status.AWAITING_DRAW,
        "return_reasons": list(returned),
    }


def draw_days_revealed(limit: int = 90) -> list[dict]:
    """The latest days whose seed is revealed, for the auditor's download page."""
    return list(
        DailySeed.objects.filter(revealed_at__isnull=False)
        .order_by("-day")
        .values("day", "commitment", "next_number")[:limit]
    )


def recusal_is_due(confirmed_at: datetime.datetime | None) -> bool:
    if confirmed_at is None:
        return True
    return confirmed_at < timezone.now() - datetime.timedelta(days=settings.RECUSAL_CONFIRM_DAYS)


def recusal_status(*, user) -> dict:
    """What a staff member sees of their own declaration: whether their ID number is
    recorded, their relatives (relation and date, never a number) and the last
    confirmation."""
    profile = StaffProfile.objects.filter(user=user).first()
    declaration = RecusalDeclaration.objects.filter(user=user).first()
    confirmed_at = declaration.confirmed_at if declaration else None
    labels = dict(StaffRelative.Relation.choices)
    return {
        "has_profile": profile is not None,
        "own_id_recorded": bool(profile and profile.id_number_digest),
        "relatives": [
            {"pk": pk, "relation": labels.get(relation, relation), "declared_at": declared_at}
            for pk, relation, declared_at in StaffRelative.objects.filter(user=user)
            .order_by("declared_at", "pk")
            .values_list("pk", "relation", "declared_at")
        ],
        "confirmed_at": confirmed_at,
        "due": recusal_is_due(confirmed_at),
    }


def recusal_overview() -> list[dict]:
    """The team lead's list: who has declared and when they last confirmed. Counts and
    dates only; no number or digest leaves this function."""
    relatives = dict(
        StaffRelative.objects.values("user").annotate(n=Count("pk")).values_list("user", "n")
    )
    rows = []
    for user_id, name, number, has_own, confirmed_at in (
        StaffProfile.objects.filter(user__is_active=True)
        .annotate(has_own=~Q(id_number_digest=""))
        .order_by("employee_number")
        .values_list(
            "user_id",
            "display_name",
            "employee_number",
            "has_own",
            "user__recusal_declaration__confirmed_at",
        )
    ):
        rows.append(
            {
                "name": name,
                "employee_number": number,
                "own_id_recorded": bool(has_own),
                "relatives": relatives.get(user_id, 0),
                "confirmed_at": confirmed_at,
                "due": recusal_is_due(confirmed_at),
            }
        )
    return rows
