import datetime
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Count, Exists, F, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from audit.models import AuditEvent
from catalog.models import ServiceItem
from langzhong_si.batch import audit_batch_reads_only
from langzhong_si.compiled import CompiledRead
from langzhong_si.prepared import prepared_execute
from risk.models import (
    DEFAULT_CHAIN,
    DEFAULT_SCOPE,
    DrawScope,
    ItemRiskPolicy,
    LeavePeriod,
    Qualification,
    RecusalDeclaration,
    ReviewTask,
    RiskPolicy,
    StaffRelative,
    StepRole,
)
from sites.models import Site
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


def _policy_value(field: str, *, item_id, level):
    """One field of the risk policy that governs an item: its own override, else its
    level's policy (NULL when neither exists; the fields are NOT NULL, so the two are
    never mixed). The one statement of that precedence in the ORM."""
    return Coalesce(
        Subquery(ItemRiskPolicy.objects.filter(item_id=item_id).values(field)[:1]),
        Subquery(RiskPolicy.objects.filter(level=level).values(field)[:1]),
    )


def items_with_chain(items):
    """`items` read with what chain_for_item needs (no query of its own afterwards)."""
    outer = {"item_id": OuterRef("pk"), "level": OuterRef("risk_level")}
    return items.annotate(
        policy_steps=_policy_value("steps", **outer),
        policy_step_hours=_policy_value("step_hours", **outer),
    )


def chain_for_item(item) -> tuple[list[str], int]:
    """The item's review chain and office hours per step: its own override, else its
    level's policy, else the default of docs/glossary.md. No query for an item read
    through items_with_chain, else one."""
    if not hasattr(item, "policy_steps"):
        item = items_with_chain(ServiceItem.objects.filter(pk=item.pk)).get()
    if item.policy_steps is not None:
        return list(item.policy_steps), item.policy_step_hours
    return [role.value for role in DEFAULT_CHAIN[item.risk_level]], 4


def draw_scope_for(*, case, role: str) -> str:
    """The scope a step of `case` draws from (what the pool query, _pool_sql, computes in SQL),
    for the record when nobody at all is in it."""
    field = "review_scope" if role == StepRole.REVIEW else "approval_scope"
    policy = _policy_value(field, item_id=case.item_id, level=case.risk_level)
    scope = ServiceItem.objects.filter(pk=case.item_id).values_list(policy, flat=True).first()
    return scope or str(DEFAULT_SCOPE[case.risk_level])


def review_pool(*, task: ReviewTask) -> tuple[list[int], list[dict]]:
    """The eligible pool for one task's draw and everyone left out, with the reason
    (review_pool_scoped, without the scope)."""
    pool, excluded, _scope = review_pool_scoped(task=task)
    return pool, excluded


def review_pool_scoped(*, task: ReviewTask) -> tuple[list[int], list[dict], str]:
    """The eligible pool for one task's draw, everyone left out with the reason, and
    the scope the pool came from (RiskPolicy's review_scope / approval_scope).

    Only the staff of the sites in the step's scope are considered (people elsewhere
    are not listed as excluded, like people outside the step's role), and only
    qualifications that hold at any site, or at one of those sites where the person
    works, count.

    Eligible: active, in the step's role, qualified for the case's level today, on duty
    and not on leave, under the open-task cap, and not recused (the handling clerk,
    the applicant or an employer's handling person, the agent, a declared relative of
    either, the staff member who helped the citizen apply (帮办代办), anyone holding
    another step of this round, or anyone who once let a task of this case run out).

    Continuity: in a resubmitted round a step goes back to the person who decided it in
    the round before, if they are still eligible; only otherwise is it drawn afresh. A
    return therefore never gives anyone a new throw of the dice.
    """
    case = task.case
    pool: list[int] = []
    excluded: list[dict] = []
    rows = _pool_rows(task)
    scope = rows[0]["scope"] if rows else draw_scope_for(case=case, role=task.role)
    for row in rows:
        reason = _pool_row_reason(row, case=case)
        if reason:
            excluded.append({"user": row["pk"], "reason": reason})
        else:
            pool.append(row["pk"])
    previous = _previous_round_holder(task)
    if previous in pool:
        excluded += [{"user": pk, "reason": "continuity"} for pk in pool if pk != previous]
        pool = [previous]
    return pool, excluded, scope


# Every person on a case, by the keyed digest of their ID number, and the recusal reasons
# their presence gives: the applicant (for an employer, its handling person 单位经办人) and
# the agent (代办人). Reasons for the applicant keep their original names.
_PERSON_REASONS = {"applicant": ("applicant", "relative"), "agent": ("agent", "agent_relative")}


def case_persons(case) -> dict[str, str]:
    """{ID digest: "applicant" | "agent"} for every person on `case` (a Case, or
    anything with its applicant_id_digest and agent_id_digest)."""
    persons = {}
    agent = getattr(case, "agent_id_digest", "")
    if agent:
        persons[agent] = "agent"
    if case.applicant_id_digest:
        persons[case.applicant_id_digest] = "applicant"
    return persons


def _persons_of_user(user_id: int, applicant_digest: str, agent_digest: str):
    """The user's own ID digest, and whether they declared the applicant, the agent as
    relatives (one row; compiled once, below)."""

    def declared(digest: str) -> Exists:
        return Exists(StaffRelative.objects.filter(user_id=user_id, id_number_digest=digest))

    return (
        get_user_model()
        .objects.filter(pk=user_id)
        .only("pk")
        .annotate(
            own_digest=F("staff_profile__id_number_digest"),
            applicant_declared=declared(applicant_digest),
            agent_declared=declared(agent_digest),
        )
    )


_PERSONS_OF_USER = CompiledRead(_persons_of_user, keys=(int, str, str))


def conflict_of_interest(
    *, user, applicant_id_digest: str = "", agent_id_digest: str = "", case=None
) -> str:
    """Why `user` may not handle a case at all, or "" when nothing stands in the way.
    Every person on the case counts: the applicant (or an employer's handling person)
    and the agent. "applicant" / "agent": the user is that person; "relative" /
    "agent_relative": a relative the user declared is. Pass the case, or its digests.
    One query."""
    if case is not None:
        persons = case_persons(case)
    else:
        persons = case_persons(
            _Persons(applicant_id_digest=applicant_id_digest, agent_id_digest=agent_id_digest)
        )
    if not persons:
        return ""
    by_role = {role: digest for digest, role in persons.items()}
    row = _PERSONS_OF_USER.first(user.pk, by_role.get("applicant", "-"), by_role.get("agent", "-"))
    if row is None:
        return ""
    own, relative, agent_relative = row.own_digest, row.applicant_declared, row.agent_declared
    if own and own in persons:
        return _PERSON_REASONS[persons[own]][0]
    # The applicant's relation is the stronger reason to record when both apply.
    if relative:
        return "relative"
    return "agent_relative" if agent_relative else ""


def _pool_sql(vendor: str, scope_field: str) -> str:
    """The pool query (see _pool_rows) for a database and a step's scope column. Written
    as SQL, not built with the ORM: compiling the ORM's version (ten subqueries) cost more
    CPU than running it, on every draw."""
    key = (vendor, scope_field)
    if key not in _POOL_SQL:
        user = get_user_model()
        profile_sites = StaffProfile.sites.through._meta.db_table
        # "continued": the person supplied materials, corrected, or resubmitted a return.
        returned_from = (
            "e.data ->> 'from'" if vendor == "postgresql" else "json_extract(e.data, '$.from')"
        )
        # Table names from the models; every value is a parameter.
        _POOL_SQL[key] = f"""
WITH scope AS (
  SELECT COALESCE(
    (SELECT {scope_field} FROM {ItemRiskPolicy._meta.db_table} WHERE item_id = %(item)s LIMIT 1),
    (SELECT {scope_field} FROM {RiskPolicy._meta.db_table} WHERE level = %(level)s LIMIT 1),
    %(default_scope)s) AS name
), in_scope AS (
  SELECT s.id FROM {Site._meta.db_table} s, scope
  WHERE s.agency_id = %(agency)s AND (
    (scope.name = %(scope_site)s AND s.id = %(site)s) OR scope.name = %(scope_agency)s
    OR (scope.name = %(scope_hall)s AND s.kind = %(kind_hall)s))
)
SELECT u.id, scope.name,
  (SELECT MAX(q.level) FROM {Qualification._meta.db_table} q
   WHERE q.user_id = u.id AND q.kind = %(kind)s AND q.valid_from <= %(today)s
     AND q.revoked_at IS NULL AND (q.valid_to IS NULL OR q.valid_to >= %(today)s)
     AND (q.site_id IS NULL OR (q.site_id IN (SELECT id FROM in_scope) AND EXISTS (
       SELECT 1 FROM {profile_sites} ps JOIN {StaffProfile._meta.db_table} p
         ON p.id = ps.staffprofile_id WHERE p.user_id = u.id AND ps.site_id = q.site_id)))),
  (SELECT COUNT(*) FROM {ReviewTask._meta.db_table} t
   WHERE t.assignee_id = u.id AND t.status = %(open)s),
  EXISTS (SELECT 1 FROM {LeavePeriod._meta.db_table} lp
          WHERE lp.user_id = u.id AND lp.start <= %(today)s AND lp."end" >= %(today)s),
  EXISTS (SELECT 1 FROM {StaffRelative._meta.db_table} r
          WHERE r.user_id = u.id AND r.id_number_digest = %(applicant)s),
  EXISTS (SELECT 1 FROM {StaffRelative._meta.db_table} r
          WHERE r.user_id = u.id AND r.id_number_digest = %(agent)s),
  EXISTS (SELECT 1 FROM {AuditEvent._meta.db_table} e
          WHERE e.actor_id = u.id AND e.object_type = %(case_type)s
            AND e.object_id = %(case_key)s
            AND (e.event_type IN ('{_CONTINUED[0]}', '{_CONTINUED[1]}')
                 OR (e.event_type = '{_CONTINUED[2]}' AND {returned_from} = 'returned'))),
  EXISTS (SELECT 1 FROM {ReviewTask._meta.db_table} o
          WHERE o.case_id = %(case)s AND o.assignee_id = u.id AND o.id <> %(task)s
            AND o.status = %(expired)s),
  EXISTS (SELECT 1 FROM {ReviewTask._meta.db_table} o
          WHERE o.case_id = %(case)s AND o.assignee_id = u.id AND o.id <> %(task)s
            AND o.review_round = %(round)s AND o.status <> %(expired)s),
  p.id, p.id_number_digest, p.availability
FROM {user._meta.db_table} u
CROSS JOIN scope
LEFT JOIN {StaffProfile._meta.db_table} p ON p.user_id = u.id
WHERE u.is_active
  AND EXISTS (SELECT 1 FROM {user.groups.through._meta.db_table} ug
              JOIN {Group._meta.db_table} g ON g.id = ug.group_id
              WHERE ug.user_id = u.id AND g.name = %(group)s)
  AND EXISTS (SELECT 1 FROM {profile_sites} ps2 JOIN {StaffProfile._meta.db_table} p2
                ON p2.id = ps2.staffprofile_id
              WHERE p2.user_id = u.id AND ps2.site_id IN (SELECT id FROM in_scope))
ORDER BY u.id"""  # noqa: S608
    return _POOL_SQL[key]


_POOL_SQL: dict[tuple[str, str], str] = {}
# The case's events whose actor is its handling clerk for the pool ("continued"):
# materials supplied, a correction, a returned case resubmitted (the last: a status change
# from "returned").
_CONTINUED = ("case.materials_supplied", "case.corrected", "case.status_changed")
_CASE_TYPE = "counters.case"


def _continued_on(case_key: str):
    """The events of the case `case_key` the pool's "continued" could read, among those
    its transaction has not written yet (any actor, any status change: a superset)."""
    return lambda event: (
        (event.object_type, event.object_id) == (_CASE_TYPE, case_key)
        and event.event_type in _CONTINUED
    )


_POOL_COLUMNS = (
    "pk", "scope", "level", "open_tasks", "on_leave", "relative", "agent_relative",
    "continued", "expired", "in_chain", "profile_pk", "id_number_digest", "availability",
)  # fmt: skip


def _pool_rows(task: ReviewTask) -> list[dict]:
    """Everyone in the step's role at a site in its scope with all that decides their
    eligibility for this task, in one query (a draw is on the hot path): their
    qualification level today, open tasks, leave, the case's recusals (clerk,
    relative, earlier holder) and the scope.

    The scope (the item's override, else its level's policy, else the default:
    _policy_value's order) names the sites: the case's own site, every site of its
    agency, or its agency's hall — always within the case's agency, so a case is never
    drawn to a person of another agency. A qualification counts when it holds at any
    site, or at a site of the scope where the person works."""
    case = task.case
    role = StepRole(task.role)
    kind = Qualification.Kind.REVIEW if role == StepRole.REVIEW else Qualification.Kind.APPROVAL
    field = "review_scope" if role == StepRole.REVIEW else "approval_scope"
    params = {
        # The case, its item and level, the step, today.
        "item": case.item_id, "level": case.risk_level, "agency": case.agency_id,
        "default_scope": str(DEFAULT_SCOPE[case.risk_level]), "site": case.site_id,
        "kind": str(kind), "today": timezone.localdate(), "case_key": str(case.pk),
        # A task not written yet (drawn before it is: review_step_open) is no row: 0.
        "applicant": case.applicant_id_digest, "case": case.pk, "task": task.pk or 0,
        "agent": getattr(case, "agent_id_digest", "") or "-", "round": task.review_round,
        "group": _ROLE_GROUP[role].value, "case_type": _CASE_TYPE,
        # The constants the statement compares with.
        "scope_site": str(DrawScope.SITE), "scope_agency": str(DrawScope.AGENCY),
        "scope_hall": str(DrawScope.HALL), "kind_hall": str(Site.Kind.HALL),
        "open": str(ReviewTask.Status.OPEN), "expired": str(ReviewTask.Status.EXPIRED),
    }  # fmt: skip
    # The draw's transaction's own audit events, not written yet, are read only where
    # they could make someone the handling clerk: the rest wait for its one write.
    continued = _continued_on(params["case_key"])
    with connection.cursor() as cursor, audit_batch_reads_only(AuditEvent, continued):
        sql = _pool_sql(connection.vendor, field)
        prepared_execute(connection, cursor, f"risk_pool_{field}", sql, params)
        return [dict(zip(_POOL_COLUMNS, row, strict=True)) for row in cursor.fetchall()]


def _pool_row_reason(row: dict, *, case) -> str:
    """Why a row is left out of the pool ("" when it is in), the first reason that applies."""
    if row["profile_pk"] is None:
        return "no_staff_profile"
    if row["pk"] == case.handler_id or row["continued"]:
        return "handling_clerk"
    persons = case_persons(case)
    if row["id_number_digest"] and row["id_number_digest"] in persons:
        return _PERSON_REASONS[persons[row["id_number_digest"]]][0]
    if row["relative"]:
        return "relative"
    if row["agent_relative"]:
        return "agent_relative"
    # 帮办代办: the staff member who helped the citizen apply never judges the case.
    if row["pk"] == getattr(case, "assisting_staff_id", None):
        return "assisting_staff"
    if row["expired"]:
        return "absent_earlier"
    if row["in_chain"]:
        return "in_chain"
    user = Candidate(row["pk"], row["profile_pk"], row["id_number_digest"], row["availability"])
    return _standing_reason(
        user,
        case.risk_level,
        levels={row["pk"]: row["level"] or 0},
        open_counts={row["pk"]: row["open_tasks"] or 0},
        on_leave={row["pk"]} if row["on_leave"] else set(),
    )


class _Persons(NamedTuple):
    applicant_id_digest: str
    agent_id_digest: str


def pool_sizes(*, agency_ids=None) -> list[dict]:
    """How many people a draw could choose from right now, per step role and risk level,
    before any one case's recusals (the team lead's live hall; the pool-shrink rule).
    A second approval draws from the approvers' pool."""
    sizes = []
    today = timezone.localdate()
    shared = {"open_counts": _open_counts(), "on_leave": _on_leave(today)}
    for role in (StepRole.REVIEW, StepRole.APPROVAL):
        people, candidates = _candidates(role, agency_ids=agency_ids)
        standing = {"levels": _levels(people=people, role=role, today=today), **shared}
        for level in (1, 2, 3):
            size = sum(
                1
                for user in candidates
                if user.profile_pk is not None and not _standing_reason(user, level, **standing)
            )
            sizes.append({"role": role.value, "level": level, "size": size})
    return sizes


def pool_people(*, agency_ids=None) -> list[dict]:
    """Everyone who can hold a review or approval step, with what decides whether they
    can be drawn today (the team lead's pool page). No ID numbers, no relatives."""
    today = timezone.localdate()
    people = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[Role.REVIEWER.value, Role.APPROVER.value])
        .filter(_of_agencies(agency_ids))
        .distinct()
        .select_related("staff_profile")
        .prefetch_related("groups")
        .order_by("staff_profile__employee_number", "pk")
    )
    review = qualification_levels(kind=Qualification.Kind.REVIEW, on=today)
    approval = qualification_levels(kind=Qualification.Kind.APPROVAL, on=today)
    on_leave = _on_leave(today)
    open_counts = _open_counts()
    rows = []
    for person in people:
        profile = getattr(person, "staff_profile", None)
        if profile is None:
            continue
        groups = {group.name for group in person.groups.all()}
        rows.append({
            "user": person, "profile": profile,
            "reviewer": Role.REVIEWER.value in groups, "approver": Role.APPROVER.value in groups,
            "review_level": review.get(person.pk, 0), "approval_level": approval.get(person.pk, 0),
            "on_leave_today": person.pk in on_leave, "open_tasks": open_counts.get(person.pk, 0),
            "over_cap": open_counts.get(person.pk, 0) >= settings.REVIEW_OPEN_TASK_CAP,
        })  # fmt: skip
    return rows


def _of_agencies(agency_ids, *, field: str = "pk") -> Q:
    """People working in `agency_ids` (None: anywhere): a team lead sees their own."""
    if agency_ids is None:
        return Q()
    working = StaffProfile.objects.filter(sites__agency_id__in=agency_ids).values("user")
    return Q(**{f"{field}__in": working})


def _candidates(role: str, *, agency_ids=None):
    # Plain rows, not model instances: with thousands of eligible staff, building the
    # objects cost most of a draw (bench/draw_pool.py: 319 ms → 64 ms).
    people = get_user_model().objects.filter(
        _of_agencies(agency_ids), is_active=True, groups__name=_ROLE_GROUP[StepRole(role)].value
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
    return people, candidates


def _levels(*, people, role: str, today: datetime.date) -> dict[int, int]:
    kind = Qualification.Kind.REVIEW if role == StepRole.REVIEW else Qualification.Kind.APPROVAL
    return qualification_levels(kind=kind, on=today, users=people.values("pk"))


def _open_counts() -> dict[int, int]:
    return dict(
        ReviewTask.objects.filter(status=ReviewTask.Status.OPEN)
        .values("assignee")
        .annotate(n=Count("pk"))
        .values_list("assignee", "n")
    )


def _on_leave(today: datetime.date) -> set[int]:
    return set(
        LeavePeriod.objects.filter(start__lte=today, end__gte=today).values_list(
            "user_id", flat=True
        )
    )


def _previous_round_holder(task: ReviewTask) -> int | None:
    """The person who decided this step in the case's latest earlier round, for the
    first attempt of a resubmitted round."""
    if task.review_round <= 1 or task.attempt != 1:
        return None
    return (
        ReviewTask.objects.filter(
            case_id=task.case_id,
            step=task.step,
            review_round__lt=task.review_round,
            status__in=[ReviewTask.Status.APPROVED, ReviewTask.Status.RETURNED],
        )
        .order_by("-review_round")
        .values_list("assignee_id", flat=True)
        .first()
    )


class Candidate(NamedTuple):
    pk: int
    profile_pk: int | None
    id_number_digest: str | None
    availability: str | None


def _standing_reason(user, level: int, *, levels, open_counts, on_leave) -> str:
    if levels.get(user.pk, 0) < level:
        return "not_qualified"
    if user.pk in on_leave or user.availability == StaffProfile.Availability.ON_LEAVE:
        return "on_leave"
    if user.availability != StaffProfile.Availability.ON_DUTY:
        return "unavailable"
    if open_counts.get(user.pk, 0) >= settings.REVIEW_OPEN_TASK_CAP:
        return "over_cap"
    return ""


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


def recusal_overview(*, agency_ids=None) -> list[dict]:
    """The team lead's list: who has declared and when they last confirmed. Counts and
    dates only; no number or digest leaves this function."""
    relatives = dict(
        StaffRelative.objects.values("user").annotate(n=Count("pk")).values_list("user", "n")
    )
    rows = []
    for user_id, name, number, has_own, confirmed_at in (
        StaffProfile.objects.filter(_of_agencies(agency_ids, field="user"), user__is_active=True)
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
                "user_id": user_id,
                "name": name,
                "employee_number": number,
                "own_id_recorded": bool(has_own),
                "relatives": relatives.get(user_id, 0),
                "confirmed_at": confirmed_at,
                "due": recusal_is_due(confirmed_at),
            }
        )
    return rows
