"""Upward reporting's reads: the daily reconciliation and the dead-letter list."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from counters.models import Case
from ratings.models import Rating
from reporting.models import PLATFORM_OF, Delivery
from reporting.payloads import CASE_RESULTS
from staff.scope import scope_filter

S = Delivery.Status
K = Delivery.Kind


@dataclass(frozen=True)
class ReconciliationRow:
    kind: str
    label: str
    platform: str
    # Business events of the day (from the records themselves) and their deliveries.
    expected: int
    recorded: int
    sent: int  # handed over, acknowledged or not
    acknowledged: int
    failed: int  # dead letters
    waiting: int  # not yet delivered: pending, being sent, retrying

    @property
    def not_recorded(self) -> int:
        """Events with no delivery (reporting was off, or they predate it)."""
        return max(self.expected - self.recorded, 0)


def _day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    return start, start + datetime.timedelta(days=1)


def _agencies(queryset, viewer, path: str = "agency"):
    """The rows of the agencies `viewer` may see (all of them without a viewer)."""
    return queryset if viewer is None else scope_filter(queryset, viewer, agency=path)


def _expected(day: datetime.date, viewer) -> dict[str, int]:
    start, end = _day_bounds(day)
    cases = _agencies(Case.objects.exclude(status=Case.Status.NOTIFIED), viewer)
    ratings = _agencies(Rating.objects, viewer)
    return {
        K.RATING: ratings.filter(created_at__gte=start, created_at__lt=end).count(),
        K.CASE_ACCEPTED: cases.filter(accepted_at__gte=start, accepted_at__lt=end).count(),
        K.CASE_COMPLETED: cases.filter(status__in=list(CASE_RESULTS))
        .annotate(done=Coalesce("finished_at", "accepted_at"))
        .filter(done__gte=start, done__lt=end)
        .count(),
    }


def reconciliation(day: datetime.date, *, viewer=None) -> list[ReconciliationRow]:
    """The day's business events against their deliveries, one row per kind, of the
    agencies `viewer` may see."""
    start, end = _day_bounds(day)
    counts = {
        row["kind"]: row
        for row in _agencies(Delivery.objects, viewer)
        .filter(occurred_at__gte=start, occurred_at__lt=end)
        .values("kind")
        .annotate(
            recorded=Count("pk"),
            sent=Count("pk", filter=Q(status__in=[S.SENT, S.ACKNOWLEDGED])),
            acknowledged=Count("pk", filter=Q(status=S.ACKNOWLEDGED)),
            failed=Count("pk", filter=Q(status=S.DEAD)),
            waiting=Count("pk", filter=Q(status__in=[S.PENDING, S.SENDING, S.RETRYING])),
        )
    }
    expected = _expected(day, viewer)
    rows = []
    for kind in K:
        found = counts.get(kind.value, {})
        rows.append(
            ReconciliationRow(
                kind=kind.value,
                label=str(kind.label),
                platform=str(Delivery.Platform(PLATFORM_OF[kind]).label),
                expected=expected[kind],
                **{
                    name: found.get(name, 0)
                    for name in ("recorded", "sent", "acknowledged", "failed", "waiting")
                },
            )
        )
    return rows


def dead_letters(*, viewer=None, limit: int = 200):
    """Failed deliveries of the viewer's agency, latest first, for the team lead to resend."""
    dead = _agencies(Delivery.objects.filter(status=S.DEAD), viewer)
    return dead.order_by("-finished_at", "-pk")[:limit]


def deliveries_waiting(*, viewer=None) -> int:
    waiting = Delivery.objects.filter(status__in=[S.PENDING, S.SENDING, S.RETRYING])
    return _agencies(waiting, viewer).count()


def dead_letter_counts() -> dict[str, int]:
    """The dead letters waiting for a resend, per agency code ("" for deliveries that
    predate agencies): what operations exposes as a metric."""
    rows = (
        Delivery.objects.filter(status=S.DEAD)
        .values("agency__code")
        .annotate(n=Count("pk"))
        .order_by("agency__code")
    )
    return {row["agency__code"] or "": row["n"] for row in rows}
