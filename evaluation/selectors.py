"""The figures the team lead plans, supervises and evaluates by (三改).

Every figure is counted from the business records; nothing here writes. A case's
"finished" day is its local date, compared with the promised completion date."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import (
    Avg,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from appointments.selectors import appointment_figures
from audit.models import Finding
from counters.models import Case, Queue, Ticket, Window
from draws.models import Draw
from evaluation.models import COMPONENTS, EvaluationWeights
from evaluation.periods import Period
from ratings.models import FollowUp, Rating
from ratings.selectors import ratings_counted
from risk.models import ReviewTask
from risk.selectors import pool_sizes
from sites.models import Site
from staff.roles import Role
from staff.scope import scope_filter, scope_of
from staff.selectors import user_roles

S = Case.Status
FINAL_STATES = (S.FINISHED, S.APPROVED, S.REJECTED)
OPEN_STATES = (S.IN_REVIEW, S.RETURNED, S.AWAITING_MATERIALS)
DECIDED_TASK_STATES = (
    ReviewTask.Status.APPROVED,
    ReviewTask.Status.RETURNED,
    ReviewTask.Status.REJECTED,
)
# A citizen who was given a notice for the same item this many days before an accepted
# case came twice: that case does not count as "run at most once".
ONE_VISIT_LOOKBACK_DAYS = 30

IN_TIME = Q(finished_at__date__lte=F("due_date"))


def _minutes(value: datetime.timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 60, 1)


def _rate(part: int, whole: int) -> float | None:
    return None if not whole else round(100 * part / whole, 1)


def _duration(end: str, start: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


# --- The live hall view ----------------------------------------------------------------


def _scoped(queryset, viewer, site: str = "site"):
    """The rows of the sites `viewer` may see (staff.scope); all of them without a viewer
    (management commands, the simulation)."""
    return queryset if viewer is None else scope_filter(queryset, viewer, site=site)


def _agency_ids(viewer):
    """The agencies `viewer` sees, None for every agency (no viewer, or the city view)."""
    if viewer is None:
        return None
    scope = scope_of(viewer)
    return None if scope.everything else scope.agency_ids


def hall_live(*, viewer=None, now: datetime.datetime | None = None) -> dict:
    """What the team lead watches during opening hours (a handful of queries)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    waits: dict[str, list[datetime.timedelta]] = {queue.value: [] for queue in Queue}
    tickets = _scoped(Ticket.objects.filter(service_date=today), viewer)
    for queue, issued_at in tickets.filter(status=Ticket.Status.WAITING).values_list(
        "queue", "issued_at"
    ):
        waits[queue].append(now - issued_at)
    queues = [
        {
            "queue": queue,
            "waiting": len(waits[queue.value]),
            "longest_wait": _minutes(max(waits[queue.value], default=None)),
            "average_wait": _minutes(
                sum(waits[queue.value], datetime.timedelta()) / len(waits[queue.value])
                if waits[queue.value]
                else None
            ),
        }
        for queue in Queue
    ]
    windows = [
        {
            "window": window,
            "clerk": window.clerk.staff_profile.display_name if window.clerk_id else "",
            "minutes": _minutes(now - window.state_since) if window.state_since else None,
        }
        for window in _scoped(Window.objects, viewer)
        .select_related("clerk__staff_profile", "current_ticket", "site")
        .order_by("site_id", "number")
    ]
    open_tasks = _scoped(
        ReviewTask.objects.filter(status__in=ReviewTask.OPEN_STATES), viewer, "case__site"
    )
    follow_ups = _scoped(FollowUp.objects.filter(replied_at__isnull=True), viewer, "rating__site")
    task_counts = open_tasks.aggregate(
        awaiting_draw=Count("pk", filter=Q(status=ReviewTask.Status.AWAITING_DRAW)),
        past_limit=Count("pk", filter=Q(status=ReviewTask.Status.OPEN, due_at__lt=now)),
    )
    return {
        "now": now,
        "queues": queues,
        "windows": windows,
        "calls_last_hour": tickets.filter(called_at__gte=now - datetime.timedelta(hours=1)).count(),
        "today": tickets.aggregate(
            issued=Count("pk"),
            served=Count("pk", filter=Q(status=Ticket.Status.DONE)),
            no_show=Count("pk", filter=Q(status=Ticket.Status.NO_SHOW)),
        ),
        "awaiting_draw": task_counts["awaiting_draw"],
        "tasks_past_limit": task_counts["past_limit"],
        "stalled_tasks": list(
            open_tasks.filter(
                Q(status=ReviewTask.Status.AWAITING_DRAW)
                | Q(status=ReviewTask.Status.OPEN, due_at__lt=now)
            )
            .select_related("case", "case__item")
            .order_by("created_at")[:8]
        ),
        "cases_past_due": _scoped(Case.objects, viewer)
        .filter(status__in=OPEN_STATES, due_date__lt=today)
        .count(),
        "follow_ups": list(
            follow_ups.select_related("rating__ticket", "rating__window").order_by(
                "reply_due", "pk"
            )[:8]
        ),
        "follow_ups_open": follow_ups.count(),
        # The viewer's agency's pools (a city viewer's: every agency's together).
        "sizes": pool_sizes(agency_ids=_agency_ids(viewer)),
    }


# --- Period reports --------------------------------------------------------------------


def period_report(period: Period, *, viewer=None, today: datetime.date | None = None) -> dict:
    """Every figure of the period report (tickets, cases, one visit, ratings, audit,
    draws), each counted from the records of cases accepted / tickets issued in it, at
    the sites `viewer` may see (the team lead: the agency; the city viewer: every
    agency), with the main figures again per site."""
    today = today or timezone.localdate()
    cases = _scoped(
        Case.objects.filter(accepted_at__gte=period.start, accepted_at__lt=period.end), viewer
    )
    tickets = _scoped(
        Ticket.objects.filter(service_date__gte=period.first, service_date__lte=period.last),
        viewer,
    )
    ratings = _scoped(
        ratings_counted().filter(created_at__gte=period.start, created_at__lt=period.end), viewer
    )
    return {
        "period": period,
        "by_site": _site_figures(_scoped(Site.objects, viewer, "pk"), tickets, cases, ratings),
        "tickets": _ticket_figures(tickets),
        "appointments": appointment_figures(first=period.first, last=period.last),
        "cases": _case_figures(cases, today),
        "one_visit": _one_visit_figures(cases),
        "by_level": _counted(
            cases.exclude(status=S.NOTIFIED).values("risk_level").order_by("risk_level"),
            "risk_level",
        ),
        "by_category": list(
            cases.exclude(status=S.NOTIFIED)
            .values(name=F("item__category__name"))
            .annotate(n=Count("pk"))
            .order_by("-n", "name")
        ),
        "top_items": list(
            cases.exclude(status=S.NOTIFIED)
            .values(code=F("item__code"), name=F("item__name"))
            .annotate(n=Count("pk"))
            .order_by("-n", "code")[:15]
        ),
        "by_applicant": _applicant_kind_figures(cases),
        "daily": _daily_series(period, cases, tickets),
        "ratings": _rating_figures(period, today, ratings, tickets),
        "audit": _audit_figures(period),
        "draws": _draw_figures(period),
    }


# The applicant-kind dimension: persons and employers (单位) part the cases; "via an
# agent" (代办人) counts the cases of either kind that an agent brought.
APPLICANT_KINDS = (
    ("person", Q(applicant_kind="person")),
    ("employer", Q(applicant_kind="employer")),
    ("agent", ~Q(agent_id_digest="")),
)


def _applicant_kind_figures(cases) -> list[dict]:
    """Per applicant kind: cases received, accepted, final, final within the limit and the
    share within the limit, and how many of them a hall staff member helped (帮办代办)."""
    aggregates = {}
    for kind, where in APPLICANT_KINDS:
        aggregates |= {
            f"{kind}_received": Count("pk", filter=where),
            f"{kind}_accepted": Count("pk", filter=where & ~Q(status=S.NOTIFIED)),
            f"{kind}_final": Count("pk", filter=where & Q(status__in=FINAL_STATES)),
            f"{kind}_in_time": Count("pk", filter=where & IN_TIME & Q(status__in=FINAL_STATES)),
            f"{kind}_assisted": Count("pk", filter=where & Q(assisting_staff__isnull=False)),
        }
    totals = cases.aggregate(**aggregates)
    return [
        {
            "kind": kind,
            "received": totals[f"{kind}_received"],
            "accepted": totals[f"{kind}_accepted"],
            "final": totals[f"{kind}_final"],
            "in_time": totals[f"{kind}_in_time"],
            "in_time_rate": _rate(totals[f"{kind}_in_time"], totals[f"{kind}_final"]),
            "assisted": totals[f"{kind}_assisted"],
        }
        for kind, _where in APPLICANT_KINDS
    ]


def _counted(rows, key: str) -> list[dict]:
    return [{"key": row[key], "n": row["n"]} for row in rows.annotate(n=Count("pk"))]


def _site_figures(sites, tickets, cases, ratings) -> list[dict]:
    """Per site (grouped by agency for the city viewer): tickets issued, cases accepted,
    final and final in time, ratings, satisfied and bad (annulled ratings left out)."""
    by_site: dict[int, dict] = {}
    for rows in (
        tickets.values("site").annotate(tickets=Count("pk")),
        cases.exclude(status=S.NOTIFIED)
        .values("site")
        .annotate(
            accepted=Count("pk"),
            final=Count("pk", filter=Q(status__in=FINAL_STATES)),
            in_time=Count("pk", filter=Q(IN_TIME, status__in=FINAL_STATES)),
        ),
        ratings.values("site").annotate(
            ratings=Count("pk"),
            satisfied=Count("pk", filter=Q(level__gte=3)),
            bad=Count("pk", filter=Q(level__lt=3)),
        ),
    ):
        for row in rows:
            by_site.setdefault(row.pop("site"), {}).update(row)
    result = []
    for site in sites.select_related("agency").order_by("agency__code", "kind", "code"):
        row = {"tickets": 0, "accepted": 0, "final": 0, "in_time": 0, "ratings": 0,
               "satisfied": 0, "bad": 0, **by_site.get(site.pk, {})}  # fmt: skip
        row.update(
            agency=site.agency.name,
            agency_code=site.agency.code,
            site=site.name,
            site_code=site.code,
            in_time_rate=_rate(row["in_time"], row["final"]),
            satisfaction_rate=_rate(row["satisfied"], row["ratings"]),
        )
        result.append(row)
    return result


def _ticket_figures(tickets) -> dict:
    figures = tickets.aggregate(
        issued=Count("pk"),
        served=Count("pk", filter=Q(status=Ticket.Status.DONE)),
        no_show=Count("pk", filter=Q(status=Ticket.Status.NO_SHOW)),
        cancelled=Count("pk", filter=Q(status=Ticket.Status.CANCELLED)),
        consultations=Count("pk", filter=Q(is_consultation=True)),
        priority=Count("pk", filter=Q(is_priority=True)),
        back_office=Count("pk", filter=Q(queue=Queue.BACK_OFFICE)),
        average_wait=Avg(_duration("called_at", "issued_at"), filter=Q(called_at__isnull=False)),
        average_service=Avg(
            _duration("finished_at", "called_at"), filter=Q(status=Ticket.Status.DONE)
        ),
    )
    figures["average_wait"] = _minutes(figures["average_wait"])
    figures["average_service"] = _minutes(figures["average_service"])
    return figures


def _case_figures(cases, today: datetime.date) -> dict:
    figures = cases.aggregate(
        received=Count("pk"),
        notified=Count("pk", filter=Q(status=S.NOTIFIED)),
        forwarded=Count("pk", filter=Q(status=S.FORWARDED)),
        on_the_spot=Count("pk", filter=Q(status=S.FINISHED, deferred_due__isnull=True)),
        final=Count("pk", filter=Q(status__in=FINAL_STATES)),
        final_in_time=Count("pk", filter=Q(IN_TIME, status__in=FINAL_STATES)),
        approved=Count("pk", filter=Q(status=S.APPROVED)),
        rejected=Count("pk", filter=Q(status=S.REJECTED)),
        open_overdue=Count("pk", filter=Q(status__in=OPEN_STATES, due_date__lt=today)),
        in_progress=Count("pk", filter=Q(status__in=OPEN_STATES, due_date__gte=today)),
        deferred=Count("pk", filter=Q(deferred_due__isnull=False)),
        deferred_ended=Count("pk", filter=Q(status=S.ENDED_UNSUPPLIED)),
        deferred_waiting=Count("pk", filter=Q(status=S.AWAITING_MATERIALS)),
    )
    figures["accepted"] = figures["received"] - figures["notified"]
    figures["within_limit"] = figures["final_in_time"] - figures["on_the_spot"]
    figures["finished_late"] = figures["final"] - figures["final_in_time"]
    figures["overdue"] = figures["finished_late"] + figures["open_overdue"]
    figures["deferred_supplied"] = (
        figures["deferred"] - figures["deferred_ended"] - figures["deferred_waiting"]
    )
    # The agency's headline: counter cases finished on the spot or within their limit.
    figures["in_time_rate"] = _rate(figures["final_in_time"], figures["final"])
    return figures


def _one_visit_figures(cases) -> dict:
    earlier_notice = Case.objects.filter(
        applicant_id_digest=OuterRef("applicant_id_digest"),
        item_id=OuterRef("item_id"),
        status=S.NOTIFIED,
        accepted_at__lt=OuterRef("accepted_at"),
        accepted_at__gte=OuterRef("accepted_at") - datetime.timedelta(days=ONE_VISIT_LOOKBACK_DAYS),
    )
    figures = (
        cases.exclude(status=S.NOTIFIED)
        .annotate(came_before=Exists(earlier_notice))
        .aggregate(
            accepted=Count("pk"),
            one_visit=Count("pk", filter=Q(came_before=False)),
        )
    )
    figures["rate"] = _rate(figures["one_visit"], figures["accepted"])
    return figures


def _daily_series(period: Period, cases, tickets) -> list[dict]:
    accepted = dict(
        cases.exclude(status=S.NOTIFIED)
        .annotate(day=TruncDate("accepted_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    tickets = dict(
        tickets.values("service_date").annotate(n=Count("pk")).values_list("service_date", "n")
    )
    return [
        {"day": day, "tickets": tickets.get(day, 0), "accepted": accepted.get(day, 0)}
        for day in period.days
    ]


def _rating_figures(period: Period, today: datetime.date, ratings, tickets) -> dict:
    figures = ratings.aggregate(
        total=Count("pk"),
        satisfied=Count("pk", filter=Q(level__gte=3)),
        bad=Count("pk", filter=Q(level__lt=3)),
    )
    by_level = dict(ratings.values("level").annotate(n=Count("pk")).values_list("level", "n"))
    figures["by_level"] = [
        {"level": level, "n": by_level.get(level.value, 0)} for level in Rating.Level
    ]
    figures["satisfaction_rate"] = _rate(figures["satisfied"], figures["total"])
    served = tickets.filter(status=Ticket.Status.DONE).aggregate(
        served=Count("pk"),
        rated=Count("pk", filter=Q(Exists(Rating.objects.filter(ticket=OuterRef("pk"))))),
    )
    figures.update(served)
    figures["rated_rate"] = _rate(served["rated"], served["served"])
    figures["follow_ups"] = FollowUp.objects.filter(rating__in=ratings.values("pk")).aggregate(
        opened=Count("pk"),
        called_back=Count("pk", filter=Q(callback_at__isnull=False)),
        replied=Count("pk", filter=Q(replied_at__isnull=False)),
        replied_late=Count("pk", filter=Q(replied_at__date__gt=F("reply_due"))),
        overdue=Count("pk", filter=Q(replied_at__isnull=True, reply_due__lt=today)),
    )
    return figures


def _audit_figures(period: Period) -> dict:
    findings = Finding.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
    rows = findings.values("rule", "result").annotate(n=Count("pk")).order_by("rule", "result")
    by_rule: dict[str, dict] = {}
    for row in rows:
        entry = by_rule.setdefault(
            row["rule"],
            {
                "rule": row["rule"],
                "label": str(Finding.RULE_LABELS.get(row["rule"], row["rule"])),
                "total": 0,
                "open": 0,
                "no_issue": 0,
                "errors": 0,
            },
        )
        bucket = {
            Finding.Result.OPEN: "open",
            Finding.Result.NO_ISSUE: "no_issue",
        }.get(row["result"], "errors")
        entry[bucket] += row["n"]
        entry["total"] += row["n"]
    totals = findings.aggregate(
        total=Count("pk"),
        inspected=Count("pk", filter=~Q(result=Finding.Result.OPEN)),
        errors=Count(
            "pk", filter=Q(result__in=[Finding.Result.ERROR, Finding.Result.IRREGULARITY])
        ),
        sampled=Count("pk", filter=Q(rule="sample")),
        sample_errors=Count(
            "pk",
            filter=Q(rule="sample", result__in=[Finding.Result.ERROR, Finding.Result.IRREGULARITY]),
        ),
    )
    totals["by_rule"] = sorted(by_rule.values(), key=lambda entry: -entry["total"])
    return totals


def _draw_figures(period: Period) -> dict:
    by_purpose = dict(
        Draw.objects.filter(day__gte=period.first, day__lte=period.last)
        .values("purpose")
        .annotate(n=Count("pk"))
        .values_list("purpose", "n")
    )
    tasks = ReviewTask.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
    figures = tasks.aggregate(
        tasks=Count("pk"),
        redrawn=Count("pk", filter=Q(attempt__gt=1)),
        expired=Count("pk", filter=Q(status=ReviewTask.Status.EXPIRED)),
        waited_longest=Max(_duration("assigned_at", "created_at")),
    )
    figures["waited_longest"] = _minutes(figures["waited_longest"])
    figures["by_purpose"] = [
        {"purpose": purpose, "label": purpose.label, "n": by_purpose.get(purpose.value, 0)}
        for purpose in Draw.Purpose
    ]
    figures["total"] = sum(by_purpose.values())
    return figures


# --- Staff evaluation (考评) ---------------------------------------------------------------


class Kind:
    CLERK = "clerk"
    DECIDER = "decider"  # reviewers and approvers


@dataclass
class EvaluationRow:
    user_id: int
    name: str
    employee_number: str
    kind: str
    # The person's agency (its code): the city viewer's roll-up reads the rows by agency.
    agency: str = ""
    volume: int = 0
    cases_accepted: int = 0
    # Of cases_accepted, by applicant kind: employers' (单位) and those via an agent (代办人).
    employer_cases: int = 0
    agent_cases: int = 0
    notices: int = 0
    average_minutes: float | None = None
    final: int = 0
    on_time: int = 0
    ratings: int = 0
    satisfied: int = 0
    submitted: int = 0
    returns: int = 0
    rejections: int = 0
    expired: int = 0
    audit_errors: int = 0
    components: dict = field(default_factory=dict)
    score: float | None = None

    @property
    def on_time_rate(self) -> float | None:
        return _rate(self.on_time, self.final)

    @property
    def satisfaction_rate(self) -> float | None:
        return _rate(self.satisfied, self.ratings)


def evaluation_weights_current() -> EvaluationWeights:
    """The weights in force (the defaults until the team lead sets others)."""
    latest = EvaluationWeights.objects.order_by("-set_at", "-pk").first()
    return latest or EvaluationWeights(set_at=timezone.now(), reason="")


def evaluation_scope(viewer, period: Period) -> set[int] | None:
    """Whose evaluation `viewer` may see: everyone (None) for the city viewer; the staff
    of their agency for the team lead; for a window lead, the clerks who served at a
    window of their zone and sites in the period; for anyone else who is evaluated,
    only themselves."""
    roles = user_roles(viewer)
    if Role.CITY_VIEWER in roles:
        return None
    if Role.TEAM_LEAD in roles:
        return set(
            get_user_model()
            .objects.filter(staff_profile__sites__in=scope_of(viewer).site_ids)
            .values_list("pk", flat=True)
        )
    if Role.WINDOW_LEAD in roles:
        zone = getattr(getattr(viewer, "staff_profile", None), "window_team", "")
        return set(
            _scoped(Ticket.objects, viewer)
            .filter(
                window__zone=zone,
                service_date__gte=period.first,
                service_date__lte=period.last,
                clerk__isnull=False,
            )
            .values_list("clerk_id", flat=True)
            .distinct()
        )
    if roles & {Role.CLERK, Role.REVIEWER, Role.APPROVER}:
        return {viewer.pk}
    raise PermissionDenied


def staff_evaluation(
    period: Period, *, scope: set[int] | None = None, weights: EvaluationWeights | None = None
) -> list[EvaluationRow]:
    """One row per clerk and per reviewer/approver for the period, scored against
    their peers of the same kind. `scope` limits the rows returned, not the peers."""
    weights = weights or evaluation_weights_current()
    users = get_user_model().objects.filter(
        groups__name__in=[Role.CLERK, Role.REVIEWER, Role.APPROVER]
    )
    people = {
        row["pk"]: row
        for row in users.values(
            "pk",
            "username",
            "staff_profile__display_name",
            "staff_profile__employee_number",
            "staff_profile__sites__agency__code",  # one agency per person (staff.scope)
        ).distinct()
    }
    clerk_ids = set(users.filter(groups__name=Role.CLERK).values_list("pk", flat=True))
    rows: dict[tuple[int, str], EvaluationRow] = {}

    def row_for(user_id: int, kind: str) -> EvaluationRow:
        if (user_id, kind) not in rows:
            person = people.get(user_id, {})
            rows[(user_id, kind)] = EvaluationRow(
                user_id=user_id,
                name=person.get("staff_profile__display_name") or person.get("username", "?"),
                employee_number=person.get("staff_profile__employee_number") or "",
                kind=kind,
                agency=person.get("staff_profile__sites__agency__code") or "",
            )
        return rows[(user_id, kind)]

    for user_id in people:
        row_for(user_id, Kind.CLERK if user_id in clerk_ids else Kind.DECIDER)
    _clerk_figures(period, row_for)
    _decider_figures(period, row_for)
    for user_id, errors in (
        Finding.objects.filter(
            created_at__gte=period.start,
            created_at__lt=period.end,
            subject__isnull=False,
            result__in=[Finding.Result.ERROR, Finding.Result.IRREGULARITY],
        )
        .values("subject")
        .annotate(n=Count("pk"))
        .values_list("subject", "n")
    ):
        for kind in (Kind.CLERK, Kind.DECIDER):
            if (user_id, kind) in rows:
                rows[(user_id, kind)].audit_errors = errors
    result = list(rows.values())
    for kind in (Kind.CLERK, Kind.DECIDER):
        _score([row for row in result if row.kind == kind], weights)
    if scope is not None:
        result = [row for row in result if row.user_id in scope]
    return sorted(result, key=lambda row: (row.agency, row.kind, row.employee_number, row.user_id))


def _clerk_figures(period: Period, row_for) -> None:
    for row in (
        Ticket.objects.filter(
            status=Ticket.Status.DONE, called_at__gte=period.start, called_at__lt=period.end
        )
        .values("clerk")
        .annotate(n=Count("pk"), average=Avg(_duration("finished_at", "called_at")))
    ):
        target = row_for(row["clerk"], Kind.CLERK)
        target.volume, target.average_minutes = row["n"], _minutes(row["average"])
    for row in (
        Case.objects.filter(accepted_at__gte=period.start, accepted_at__lt=period.end)
        .values("handler")
        .annotate(
            accepted=Count("pk", filter=~Q(status=S.NOTIFIED)),
            employer=Count("pk", filter=~Q(status=S.NOTIFIED) & Q(applicant_kind="employer")),
            agent=Count("pk", filter=~Q(status=S.NOTIFIED) & ~Q(agent_id_digest="")),
            notices=Count("pk", filter=Q(status=S.NOTIFIED)),
            final=Count("pk", filter=Q(status__in=FINAL_STATES)),
            on_time=Count("pk", filter=Q(IN_TIME, status__in=FINAL_STATES)),
            submitted=Count("pk", filter=Q(review_round__gte=1)),
        )
    ):
        target = row_for(row["handler"], Kind.CLERK)
        target.cases_accepted, target.notices = row["accepted"], row["notices"]
        target.employer_cases, target.agent_cases = row["employer"], row["agent"]
        target.final, target.on_time, target.submitted = (
            row["final"],
            row["on_time"],
            row["submitted"],
        )
    for row in (
        ReviewTask.objects.filter(
            decided_at__gte=period.start,
            decided_at__lt=period.end,
            status__in=[ReviewTask.Status.RETURNED, ReviewTask.Status.REJECTED],
        )
        .values("case__handler")
        .annotate(
            returns=Count("pk", filter=Q(status=ReviewTask.Status.RETURNED)),
            rejections=Count("pk", filter=Q(status=ReviewTask.Status.REJECTED)),
        )
    ):
        target = row_for(row["case__handler"], Kind.CLERK)
        target.returns, target.rejections = row["returns"], row["rejections"]
    for row in (
        ratings_counted()
        .filter(created_at__gte=period.start, created_at__lt=period.end)
        .values("clerk")
        .annotate(n=Count("pk"), satisfied=Count("pk", filter=Q(level__gte=3)))
    ):
        target = row_for(row["clerk"], Kind.CLERK)
        target.ratings, target.satisfied = row["n"], row["satisfied"]


def _decider_figures(period: Period, row_for) -> None:
    for row in (
        ReviewTask.objects.filter(
            decided_at__gte=period.start, decided_at__lt=period.end, assignee__isnull=False
        )
        .values("assignee")
        .annotate(
            decided=Count("pk", filter=Q(status__in=DECIDED_TASK_STATES)),
            on_time=Count(
                "pk", filter=Q(status__in=DECIDED_TASK_STATES, decided_at__lte=F("due_at"))
            ),
            expired=Count("pk", filter=Q(status=ReviewTask.Status.EXPIRED)),
            average=Avg(
                _duration("decided_at", "assigned_at"), filter=Q(status__in=DECIDED_TASK_STATES)
            ),
        )
    ):
        target = row_for(row["assignee"], Kind.DECIDER)
        target.volume = target.final = row["decided"]
        target.on_time, target.expired = row["on_time"], row["expired"]
        target.average_minutes = _minutes(row["average"])
        # A task re-drawn away from its absent person counts as one not done in time.
        target.final += row["expired"]


def _score(rows: list[EvaluationRow], weights: EvaluationWeights) -> None:
    """Each component on 0–100, then the weighted mean over the components that apply
    (a reviewer has no ratings; someone with no volume is not scored)."""
    most = max((row.volume for row in rows), default=0)
    fastest = min((row.average_minutes for row in rows if row.average_minutes), default=None)
    for row in rows:
        if not row.volume:
            row.components, row.score = {}, None
            continue
        quality = None
        if row.kind == Kind.CLERK and row.submitted:
            quality = max(0.0, 100 * (1 - (row.returns + row.rejections) / row.submitted))
        components = {
            "volume": 100 * row.volume / most,
            "speed": (100 * fastest / row.average_minutes) if row.average_minutes else None,
            "on_time": row.on_time_rate,
            "satisfaction": row.satisfaction_rate,
            "quality": quality,
            "audit": max(0.0, 100.0 - 10 * row.audit_errors),
        }
        row.components = {
            name: None if value is None else round(value, 1) for name, value in components.items()
        }
        applicable = [name for name in COMPONENTS if components[name] is not None]
        total_weight = sum(getattr(weights, name) for name in applicable)
        row.score = (
            round(
                sum(getattr(weights, name) * components[name] for name in applicable)
                / total_weight,
                1,
            )
            if total_weight
            else None
        )
