import datetime
from itertools import pairwise

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, F, Func, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.agency import person_agency_id
from counters.models import Case, Queue, Ticket, Window
from langzhong_si.compiled import CompiledRead
from sites.models import Site
from staff.scope import scope_filter

# Why a drawn clerk was left out of the ticket's next draw: their window was no longer
# ready, or was locked (a concurrent dispatch taking it, its clerk pausing or signing off).
DISPATCH_UNAVAILABLE = "unavailable"


def dispatch_series_problems(series, *, clerk_id: int | None, requeued: int = 0) -> list[str]:
    """What is wrong with one ticket's dispatch draws (`series`, in number order) given
    the clerk who serves it and how often it was re-queued; empty when nothing is.

    A dispatch round opens with a draw that leaves nobody out. Each later draw of the
    round names the clerk the draw before it chose as unavailable (that window was taken
    or locked meanwhile) and draws from the rest of the same pool. A round ends without a
    window only when its last draw had nobody else left to draw; the ticket then waits,
    and the next dispatch opens a new round from the ready windows as they then stand. A
    re-queued ticket (a no-show put back) also opens a new round after one that landed.
    The ticket is served by the choice of its last draw: no draw can be given effect out
    of turn, nor a round broken off to draw again, unseen.
    """
    problems = []
    if [draw.number for draw in series] != list(range(1, len(series) + 1)):
        problems.append("draw numbers are not 1, 2, 3, … without a gap")
    for earlier, later in pairwise(series):
        if not later.excluded:  # a new round
            if set(earlier.pool) == {earlier.chosen_id}:
                continue  # the round before found every window it drew taken
            if requeued > 0:
                requeued -= 1
                continue
            ended = f"draw {earlier.number}'s ended"
            problems.append(f"draw {later.number} opens a round before {ended}")
            continue
        left_out = {"user": earlier.chosen_id, "reason": DISPATCH_UNAVAILABLE}
        if later.excluded != [*earlier.excluded, left_out] or set(later.pool) != (
            set(earlier.pool) - {earlier.chosen_id}
        ):
            problems.append(f"draw {later.number} does not carry on from draw {earlier.number}")
    if clerk_id is not None and (not series or series[-1].chosen_id != clerk_id):
        problems.append("served by a clerk its last draw did not choose")
    return problems


# The clerk's window with the ticket it serves and its item; compiled once per process
# (every workbench answer, poll and counter page reads it).
_WINDOW_OF_CLERK = CompiledRead(
    lambda clerk_id: Window.objects.select_related("current_ticket", "current_ticket__item").filter(
        clerk_id=clerk_id
    )
)


def window_of(clerk) -> Window | None:
    window = _WINDOW_OF_CLERK.first(clerk.pk)
    ticket = window.current_ticket if window else None
    if ticket is not None and ticket.window_id == window.pk:
        ticket.window = window  # the row just read: the workbench shows its number
    return window


def sites_worked_at(user):
    """The sites the staff member works at (StaffProfile.sites): where they may sign on."""
    return Site.objects.filter(staff_profiles__user=user)


def windows_for_sign_on(user):
    """The windows of the sites the clerk works at: a clerk signs on nowhere else."""
    return (
        Window.objects.filter(site__in=sites_worked_at(user))
        .select_related("clerk__staff_profile", "site")
        .order_by("site_id", "number")
    )


def window_for_sign_on(user, *, number: int, site_id: int | None = None) -> Window:
    """The window numbered `number` at the clerk's site (or at `site_id`, for a clerk who
    works at several). Window.DoesNotExist for a number found at none of their sites;
    ValidationError when it is found at several and no site is named."""
    windows = windows_for_sign_on(user).filter(number=number)
    if site_id is not None:
        windows = windows.filter(site_id=site_id)
    found = list(windows[:2])
    if not found:
        raise Window.DoesNotExist
    if len(found) > 1:
        raise ValidationError(
            _("Window %(number)s exists at several of your sites: name the site.")
            % {"number": number},
            code="site",
        )
    return found[0]


def _ahead_of(ticket_id: int, before: Q):
    """The ticket, annotated with how many waiting tickets of its site, day and queue
    match `before` (which compares them with it through OuterRef)."""
    ahead = (
        Ticket.objects.filter(
            before,
            site_id=OuterRef("site_id"),
            service_date=OuterRef("service_date"),
            queue=OuterRef("queue"),
            status=Ticket.Status.WAITING,
        )
        .order_by()
        .annotate(n=Func(F("pk"), function="COUNT"))
        .values("n")
    )
    return Ticket.objects.filter(pk=ticket_id).only("pk").annotate(ahead=Subquery(ahead))


def _ahead(before) -> CompiledRead:
    """Compiled once: the ticket with how many waiting tickets come before it, `before`
    being that rule given the time (`now`, the slots that have started)."""
    return CompiledRead(
        lambda ticket_id, now: _ahead_of(ticket_id, before(Q(booked_slot_start__lte=now))),
        keys=(int, datetime.datetime),
    )


_PRIORITY = Q(is_priority=True)
_EARLIER = Q(issued_at__lt=OuterRef("issued_at"))

# By the dispatch's order (services.waiting_order: priority first, then a started slot,
# then the order of issue), what comes before a ticket that is priority or not, and
# whose booked slot has started or not (a walk-in's never has).
_AHEAD = {
    (True, True): _ahead(lambda started: _PRIORITY & started & _EARLIER),
    (True, False): _ahead(lambda started: _PRIORITY & (started | _EARLIER)),
    (False, True): _ahead(lambda started: _PRIORITY | (started & _EARLIER)),
    (False, False): _ahead(lambda started: _PRIORITY | started | _EARLIER),
}


def tickets_ahead(ticket: Ticket) -> int:
    """Waiting tickets that the dispatch will serve before this one, in the order of
    services.waiting_order (appointments whose slot has started come before walk-ins,
    among priority tickets as among the others)."""
    if ticket.status != Ticket.Status.WAITING:
        return 0
    now = timezone.now()
    started = ticket.booked_slot_start is not None and ticket.booked_slot_start <= now
    found = _AHEAD[ticket.is_priority, started].first(ticket.pk, now)
    return found.ahead if found is not None else 0


def recent_calls(*, site_id: int, limit: int = 6):
    """The latest calls of one site (its call display shows no other site's)."""
    return (
        Ticket.objects.filter(
            site_id=site_id, service_date=timezone.localdate(), called_at__isnull=False
        )
        .select_related("window")
        .order_by("-called_at")[:limit]
    )


def waiting_counts(*, site_id: int) -> dict[str, int]:
    rows = (
        Ticket.objects.filter(
            site_id=site_id, service_date=timezone.localdate(), status=Ticket.Status.WAITING
        )
        .values("queue")
        .annotate(n=Count("pk"))
    )
    counts = {queue.value: 0 for queue in Queue}
    counts.update({row["queue"]: row["n"] for row in rows})
    return counts


def clerk_recent_cases(clerk, limit: int = 10):
    return (
        Case.objects.filter(handler=clerk).select_related("item").order_by("-accepted_at")[:limit]
    )


def case_public_progress(case: Case) -> dict:
    from risk.models import ReviewTask

    rejection = (
        ReviewTask.objects.filter(case=case, status=ReviewTask.Status.REJECTED)
        .values_list("comment", flat=True)
        .first()
    )
    name = case.applicant_name
    return {
        "case": case,
        "masked_name": name[0] + "*" * (len(name) - 1) if len(name) > 1 else name,
        "missing": [
            row["name"] for row in case.checklist if row["required"] and not row["received"]
        ],
        "rejection": rejection or "",
    }


def kiosk_slip(*, kiosk, ticket_id: int) -> Ticket:
    """The slip a kiosk may show: a ticket it issued itself within KIOSK_SLIP_SECONDS.
    Any other ticket is DoesNotExist (its QR code would let the next person at the kiosk
    cancel or rate someone else's ticket)."""
    since = timezone.now() - timezone.timedelta(seconds=settings.KIOSK_SLIP_SECONDS)
    return Ticket.objects.select_related("item", "window", "site").get(
        pk=ticket_id, issued_by=kiosk, issued_at__gte=since
    )


def ticket_for_citizen(token: str) -> Ticket:
    return Ticket.objects.select_related("item", "window", "site").get(public_token=token)


def lead_queue_today(user) -> dict:
    """Today's tickets a lead acts on, of the sites `user` may see (staff.scope)."""
    today = timezone.localdate()
    tickets = scope_filter(Ticket.objects.filter(service_date=today), user).select_related(
        "item", "window", "site"
    )
    return {
        "pending_priority": tickets.filter(status=Ticket.Status.WAITING, is_priority=False).exclude(
            priority_reason=""
        ),
        "no_shows": tickets.filter(status=Ticket.Status.NO_SHOW).order_by("-finished_at"),
        "flagged": tickets.filter(flagged_retake=True).order_by("-issued_at"),
    }


def assisting_staff_choices(clerk):
    """The hall staff `clerk` may record as having helped a citizen apply (帮办代办):
    active accounts with a staff profile at a site of the clerk's own agency (another
    county's staff did not help at this hall; naming one would only take them out of
    draws they are not in)."""
    at_agency = Site.objects.filter(
        agency_id=person_agency_id(clerk), staff_profiles__user_id=OuterRef("pk")
    )
    return (
        get_user_model()
        .objects.filter(Exists(at_agency), is_active=True, staff_profile__isnull=False)
        .select_related("staff_profile")
        .order_by("staff_profile__employee_number", "pk")
    )
