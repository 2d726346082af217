from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from counters.models import Case, CaseDocument, HallDevice, Queue, Ticket, Window
from langzhong_si.identity import id_suffix_normalise
from langzhong_si.ratelimit import (
    FailureBudget,
    failure_budgets_release,
    failure_budgets_reserve,
)


def window_of(clerk) -> Window | None:
    return (
        Window.objects.select_related("current_ticket", "current_ticket__item")
        .filter(clerk=clerk)
        .first()
    )


def windows_for_sign_on():
    return Window.objects.select_related("clerk__staff_profile").order_by("number")


def tickets_ahead(ticket: Ticket) -> int:
    """Waiting tickets that the dispatch will serve before this one."""
    if ticket.status != Ticket.Status.WAITING:
        return 0
    before = (
        Q(is_priority=True, issued_at__lt=ticket.issued_at)
        if ticket.is_priority
        else (Q(is_priority=True) | Q(issued_at__lt=ticket.issued_at))
    )
    return Ticket.objects.filter(
        before,
        service_date=ticket.service_date,
        queue=ticket.queue,
        status=Ticket.Status.WAITING,
    ).count()


def recent_calls(limit: int = 6):
    return (
        Ticket.objects.filter(service_date=timezone.localdate(), called_at__isnull=False)
        .select_related("window")
        .order_by("-called_at")[:limit]
    )


def waiting_counts() -> dict[str, int]:
    rows = (
        Ticket.objects.filter(service_date=timezone.localdate(), status=Ticket.Status.WAITING)
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


def clerk_case(*, clerk, case_id: int) -> Case:
    """A case as its handling clerk may see it; other clerks get DoesNotExist (404)."""
    return Case.objects.select_related("item").get(pk=case_id, handler=clerk)


def document_for_viewer(*, user, document_id: int):
    """A scan as one of its case's chain may open it: the handling clerk or anyone
    drawn for a task on the case. Others get DoesNotExist (a 404)."""
    from risk.models import ReviewTask

    document = CaseDocument.objects.select_related("case").get(pk=document_id)
    case = document.case
    allowed = (
        case.handler_id == user.pk or ReviewTask.objects.filter(case=case, assignee=user).exists()
    )
    if not allowed:
        raise CaseDocument.DoesNotExist
    return document


def case_for_citizen(*, number: str, id_suffix: str) -> Case | None:
    """The case a citizen may follow: its number and the last four characters of the
    applicant's ID number must both match."""
    suffix = id_suffix_normalise(id_suffix)
    case = Case.objects.select_related("item").filter(number=number.strip()).first()
    if case is None or len(suffix) != 4 or case.applicant_id_masked[-4:] != suffix:
        return None
    return case


class ProgressLookupsExhausted(Exception):
    """Too many failed look-ups of this case number, or from this client, lately."""


def case_for_citizen_limited(*, number: str, id_suffix: str, client: str) -> Case | None:
    """case_for_citizen, counting only failures: per case number (guessing one case's
    ID suffix from however many addresses) and per client (one address trying many
    cases). A successful look-up never counts against a budget; but once a budget is
    spent, every look-up it covers, right or wrong, is refused until the window ends, so
    wrong guesses at one case number can hold its citizen off the page for that long
    (the ticket slip's QR page stays open to them)."""
    window = settings.PROGRESS_FAILURE_WINDOW_SECONDS
    budgets = [
        FailureBudget("progress-case", number.strip(), settings.PROGRESS_FAILURES_PER_CASE, window),
        FailureBudget("progress-client", client, settings.PROGRESS_FAILURES_PER_CLIENT, window),
    ]
    if not failure_budgets_reserve(budgets):
        raise ProgressLookupsExhausted
    case = case_for_citizen(number=number, id_suffix=id_suffix)
    if case is not None:
        failure_budgets_release(budgets)
    return case


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


def ticket_awaiting_pad_rating(window: Window) -> Ticket | None:
    """The service a window's pad offers for rating: the window's most recently finished
    ticket, if it was served to the end within RATING_PAD_MINUTES and is not yet rated
    (counters.services._pad_may_rate holds the same rule under lock)."""
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
        or latest.ratings.exists()
    ):
        return None
    return latest


def kiosk_slip(*, kiosk, ticket_id: int) -> Ticket:
    """The slip a kiosk may show: a ticket it issued itself within KIOSK_SLIP_SECONDS.
    Any other ticket is DoesNotExist (its QR code would let the next person at the kiosk
    cancel or rate someone else's ticket)."""
    since = timezone.now() - timezone.timedelta(seconds=settings.KIOSK_SLIP_SECONDS)
    return Ticket.objects.select_related("item", "window").get(
        pk=ticket_id, issued_by=kiosk, issued_at__gte=since
    )


def hall_devices():
    return HallDevice.objects.select_related("window").order_by("kind", "window__number", "pk")


def ticket_for_citizen(token: str) -> Ticket:
    return Ticket.objects.select_related("item", "window").get(public_token=token)


def lead_queue_today() -> dict:
    today = timezone.localdate()
    tickets = Ticket.objects.filter(service_date=today).select_related("item", "window")
    return {
        "pending_priority": tickets.filter(status=Ticket.Status.WAITING, is_priority=False).exclude(
            priority_reason=""
        ),
        "no_shows": tickets.filter(status=Ticket.Status.NO_SHOW).order_by("-finished_at"),
        "flagged": tickets.filter(flagged_retake=True).order_by("-issued_at"),
    }


def open_follow_ups():
    from counters.models import FollowUp

    return (
        FollowUp.objects.filter(replied_at__isnull=True)
        .select_related("rating", "rating__ticket", "rating__window")
        .order_by("callback_due")
    )
