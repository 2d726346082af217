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


def _expected(day: datetime.date) -> dict[str, int]:
    start, end = _day_bounds(day)
    cases = Case.objects.exclude(status=Case.Status.NOTIFIED)
    return {
        K.RATING: Rating.objects.filter(created_at__gte=start, created_at__lt=end).count(),
        K.CASE_ACCEPTED: cases.filter(accepted_at__gte=start, accepted_at__lt=end).count(),
        K.CASE_COMPLETED: cases.filter(status__in=list(CASE_RESULTS))
        .annotate(done=Coalesce("finished_at", "accepted_at"))
        .filter(done__gte=start, done__lt=end)
        .count(),
    }


def reconciliation(day: datetime.date) -> list[ReconciliationRow]:
    """The day's business events against their deliveries, one row per kind."""
    start, end = _day_bounds(day)
    counts = {
        row["kind"]: row
        for row in Delivery.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
        .values("kind")
        .annotate(
            recorded=Count("pk"),
            sent=Count("pk", filter=Q(status__in=[S.SENT, S.ACKNOWLEDGED])),
            acknowledged=Count("pk", filter=Q(status=S.ACKNOWLEDGED)),
            failed=Count("pk", filter=Q(status=S.DEAD)),
            waiting=Count("pk", filter=Q(status__in=[S.PENDING, S.SENDING, S.RETRYING])),
        )
    }
    expected = _expected(day)
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


def dead_letters(*, limit: int = 200):
    """Failed deliveries, latest first, for the team lead to resend."""
    return Delivery.objects.filter(status=S.DEAD).order_by("-finished_at", "-pk")[:limit]


def deliveries_waiting() -> int:
    return Delivery.objects.filter(status__in=[S.PENDING, S.SENDING, S.RETRYING]).count()
