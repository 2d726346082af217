from django.conf import settings
from django.utils import timezone

from counters.models import Ticket, Window
from ratings.models import FollowUp


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
        or latest.ratings.exists()
    ):
        return None
    return latest


def open_follow_ups():
    return (
        FollowUp.objects.filter(replied_at__isnull=True)
        .select_related("rating", "rating__ticket", "rating__window")
        .order_by("callback_due")
    )
