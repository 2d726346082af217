import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import ServiceItem
from counters.models import Case, Ticket, Window
from counters.selectors import case_public_progress
from langzhong_si.calendar import working_days_after
from ratings.models import Appeal, FollowUp, Rating
from sites.models import Site
from staff.roles import Role
from staff.scope import scope_filter, scope_of
from staff.selectors import user_has_role, users_with_role

# A case may be rated at completion (办结) once it has ended with an outcome for the
# citizen. An on-the-spot case is finished at the window: its acceptance rating covers it.
COMPLETION_RATED_STATES = (
    Case.Status.APPROVED,
    Case.Status.REJECTED,
    Case.Status.ENDED_UNSUPPLIED,
)


def ticket_awaiting_pad_rating(window: Window) -> Ticket | None:
    """The service a window's pad offers for rating: the window's most recently finished
    ticket, if it was served to the end within RATING_PAD_MINUTES and is not yet rated
    (ratings.services._pad_may_rate holds the same rule under lock)."""
    latest = (
        Ticket.objects.filter(window=window, finished_at__isnull=False)
        .select_related("item")
        .order_by("-finished_at", "-pk")
        .first()
    )
    since = timezone.now() - timezone.timedelta(minutes=settings.RATING_PAD_MINUTES)
    if (
        latest is None
        or latest.status != Ticket.Status.DONE
        or latest.finished_at < since
        or latest.ratings.filter(stage=Rating.Stage.ACCEPTANCE).exists()
    ):
        return None
    return latest


def open_follow_ups(person=None):
    """The follow-ups still awaiting a reply, at the sites `person` may see (all of them
    without a person: management commands)."""
    unreplied = FollowUp.objects.filter(replied_at__isnull=True)
    if person is not None:
        unreplied = scope_filter(unreplied, person, site="rating__site")
    return unreplied.select_related("rating", "rating__ticket", "rating__window").order_by(
        "callback_due"
    )


def follow_ups_for(person):
    """The follow-ups a person handles or reviews: a team lead sees every unfinished one,
    an assignee (a window lead) those assigned to them."""
    unfinished = scope_filter(
        FollowUp.objects.exclude(status__in=[FollowUp.Status.CLOSED, FollowUp.Status.ANNULLED]),
        person,
        site="rating__site",
    )
    if not user_has_role(person, Role.TEAM_LEAD):
        unfinished = unfinished.filter(assignee=person)
    return unfinished.select_related(
        "rating", "rating__ticket", "rating__window", "assignee"
    ).order_by("reply_due", "pk")


def follow_up_assignees(lead):
    """Who a follow-up can be given to: active team leads and window leads of the lead's
    agency."""
    return (
        (users_with_role(Role.TEAM_LEAD) | users_with_role(Role.WINDOW_LEAD))
        .filter(is_active=True, staff_profile__sites__agency_id__in=scope_of(lead).agency_ids)
        .distinct()
        .order_by("username")
    )


def bad_ratings_of_clerk(clerk):
    """The bad ratings of a clerk's services, for their appeal screen: the date, the
    item, the level and the reason only; never the ticket, the case or the citizen."""
    return (
        FollowUp.objects.filter(rating__clerk=clerk)
        .select_related("rating", "rating__ticket__item", "rating__case__item")
        .prefetch_related("appeals")
        .order_by("-rating__created_at")
    )


def pending_appeals_for(decider):
    """The appeals a team lead or auditor may decide: pending, and none they are part of
    (as appellant, the rated clerk, or a handler or reviewer of the follow-up)."""
    pending = Appeal.objects.filter(status=Appeal.Status.PENDING)
    return (
        scope_filter(pending, decider, site="follow_up__rating__site")
        .exclude(appellant=decider)
        .exclude(follow_up__rating__clerk=decider)
        .exclude(follow_up__assignee=decider)
        .exclude(follow_up__handled_by=decider)
        .exclude(follow_up__reviewed_by=decider)
        .select_related("follow_up", "follow_up__rating", "follow_up__rating__ticket__item")
        .order_by("filed_at")
    )


def handling_appealable(follow_up: FollowUp) -> bool:
    """Whether the citizen may still appeal this handling from the ticket page."""
    if follow_up.status not in (FollowUp.Status.REPLIED, FollowUp.Status.CLOSED):
        return False
    if follow_up.replied_at is None:
        return False
    last_day = working_days_after(
        timezone.localdate(follow_up.replied_at), settings.HANDLING_APPEAL_DAYS
    )
    return timezone.localdate() <= last_day and not any(
        appeal.kind == Appeal.Kind.HANDLING for appeal in follow_up.appeals.all()
    )


# --- The public monthly results (好差评 结果公开) -------------------------------------------
#
# Published without sign-in, so they carry no personal data: no names, tickets, cases,
# windows or clerks, only counts per item and for the hall. A row with fewer than
# RATING_RESULTS_MIN_COUNT ratings shows no figures: for a rarely used item, "1 bad
# rating in March" together with what a clerk remembers of that month's few applicants
# names the citizen who rated, and the national rules oblige the hall to keep the rater's
# identity confidential (国办发〔2019〕51号; GB/T 39734-2020). The same rule keeps a
# single clerk's rating from being read off an item only one person handles.


@dataclass
class ResultsRow:
    label: str
    ratings: int = 0
    satisfied: int = 0
    bad: int = 0
    resolved_in_time: int = 0
    suppressed: bool = False

    @property
    def satisfaction_rate(self) -> float | None:
        if self.suppressed or not self.ratings:
            return None
        return round(100 * self.satisfied / self.ratings, 1)


def _month_bounds(first: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    start = timezone.make_aware(datetime.datetime.combine(first, datetime.time()))
    end = timezone.make_aware(datetime.datetime.combine(following, datetime.time()))
    return start, end


def ratings_counted():
    """Ratings that count in every figure: those whose follow-up was annulled on appeal
    (found unjust) are left out (results, reports, evaluation)."""
    annulled = FollowUp.objects.filter(rating=OuterRef("pk"), status=FollowUp.Status.ANNULLED)
    return Rating.objects.exclude(Exists(annulled))


def monthly_results(first: datetime.date, *, agency_id: int) -> dict:
    """The agency's published figures for the month: the agency's, then one row per site
    and one per item rated. A rating whose follow-up was annulled on appeal (found
    unjust) is left out of every figure; a bad rating counts as resolved in time once
    its handling was closed on review with the reply given by its due date."""
    start, end = _month_bounds(first)
    resolved = FollowUp.objects.filter(
        rating=OuterRef("pk"),
        status=FollowUp.Status.CLOSED,
        replied_at__date__lte=F("reply_due"),
    )
    counted = (
        ratings_counted()
        .filter(agency_id=agency_id, created_at__gte=start, created_at__lt=end)
        .annotate(item_id=Coalesce("case__item_id", "ticket__item_id"))
    )
    figures = {
        "ratings": Count("pk"),
        "satisfied": Count("pk", filter=Q(level__gte=3)),
        "bad": Count("pk", filter=Q(level__lt=3)),
        "resolved_in_time": Count("pk", filter=Q(level__lt=3) & Q(Exists(resolved))),
    }
    hall = ResultsRow(label="", **counted.aggregate(**figures))
    per_item = counted.filter(item_id__isnull=False).values("item_id").annotate(**figures)
    names = dict(
        ServiceItem.objects.filter(pk__in=[row["item_id"] for row in per_item]).values_list(
            "pk", "name"
        )
    )
    items = [
        ResultsRow(label=names[row.pop("item_id")], **row) for row in per_item.order_by("item_id")
    ]
    per_site = {row.pop("site_id"): row for row in counted.values("site_id").annotate(**figures)}
    sites = [
        ResultsRow(label=site.name, **per_site.get(site.pk, {}))
        for site in Site.objects.filter(agency_id=agency_id, active=True)
    ]
    for row in [hall, *sites, *items]:
        if row.ratings < settings.RATING_RESULTS_MIN_COUNT:
            row.satisfied = row.bad = row.resolved_in_time = 0
            row.suppressed = True
    items.sort(key=lambda row: (row.suppressed, -row.ratings, row.label))
    return {"month": first, "hall": hall, "sites": sites, "items": items}


def ticket_cases_for_citizen(ticket: Ticket) -> list[dict]:
    """The ticket page's cases: each one's public progress, and whether the citizen may
    now rate its completion."""
    rated = set(
        Rating.objects.filter(ticket=ticket, stage=Rating.Stage.COMPLETION).values_list(
            "case_id", flat=True
        )
    )
    rows = []
    for case in ticket.cases.all():
        row = case_public_progress(case)
        row["may_rate"] = case.status in COMPLETION_RATED_STATES and case.pk not in rated
        rows.append(row)
    return rows


def ticket_follow_ups(ticket: Ticket) -> list[dict]:
    """What the citizen sees of the handling of their bad ratings: its state, the reply
    given, any appeal and its decision; not who handled it."""
    follow_ups = (
        FollowUp.objects.filter(rating__ticket=ticket)
        .select_related("rating", "rating__case")
        .prefetch_related("appeals")
        .order_by("rating__created_at")
    )
    return [
        {
            "follow_up": follow_up,
            "appeal": next(
                (a for a in follow_up.appeals.all() if a.kind == Appeal.Kind.HANDLING), None
            ),
            "may_appeal": handling_appealable(follow_up),
        }
        for follow_up in follow_ups
    ]
