"""The simulated period's figures per site of the agency: where citizens came, how long
they waited, what was accepted and how it was rated. Counted as the period report counts
them (evaluation.selectors): tickets by service date, cases by acceptance, ratings by
when they were given; each by the site the ticket or case belongs to."""

from django.db.models import Avg, Count, Q

from counters.models import Case, Ticket
from evaluation.periods import Period
from evaluation.selectors import _duration, _minutes, _rate
from ratings.models import Rating
from sites.selectors import agency_sites


def site_breakdown(period: Period, *, agency_id: int) -> list[dict]:
    """One row per site of the agency (hall first), with zeros where nothing happened:
    three grouped queries, whatever the number of sites."""
    tickets = _by_site(
        Ticket.objects.filter(
            agency_id=agency_id, service_date__gte=period.first, service_date__lte=period.last
        ),
        issued=Count("pk"),
        served=Count("pk", filter=Q(status=Ticket.Status.DONE)),
        average_wait=Avg(_duration("called_at", "issued_at"), filter=Q(called_at__isnull=False)),
    )
    cases = _by_site(
        Case.objects.filter(
            agency_id=agency_id, accepted_at__gte=period.start, accepted_at__lt=period.end
        ),
        received=Count("pk"),
        notified=Count("pk", filter=Q(status=Case.Status.NOTIFIED)),
        forwarded=Count("pk", filter=Q(status=Case.Status.FORWARDED)),
    )
    ratings = _by_site(
        Rating.objects.filter(
            ticket__agency_id=agency_id, created_at__gte=period.start, created_at__lt=period.end
        ),
        site="ticket__site",
        total=Count("pk"),
        satisfied=Count("pk", filter=Q(level__gte=3)),
        bad=Count("pk", filter=Q(level__lt=3)),
    )
    rows = []
    for site in agency_sites(agency_id=agency_id, active_only=False):
        ticket = tickets.get(site.pk, {"issued": 0, "served": 0, "average_wait": None})
        case = cases.get(site.pk, {"received": 0, "notified": 0, "forwarded": 0})
        rating = ratings.get(site.pk, {"total": 0, "satisfied": 0, "bad": 0})
        rows.append(
            {
                "site": site,
                "tickets": ticket["issued"],
                "served": ticket["served"],
                "average_wait": _minutes(ticket["average_wait"]),
                "cases_accepted": case["received"] - case["notified"],
                "forwarded": case["forwarded"],
                "ratings": rating["total"],
                "bad_ratings": rating["bad"],
                "satisfaction_rate": _rate(rating["satisfied"], rating["total"]),
            }
        )
    return rows


def _by_site(queryset, *, site: str = "site", **aggregates) -> dict[int, dict]:
    return {row[site]: row for row in queryset.values(site).annotate(**aggregates).order_by(site)}
