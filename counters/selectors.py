from django.db.models import Count, Q
from django.utils import timezone

from counters.models import Case, Queue, Ticket, Window


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
