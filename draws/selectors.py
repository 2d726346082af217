from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from draws.models import DailySeed, Draw


def draw_days_revealed(*, agency_id: int, limit: int = 90) -> list[dict]:
    """The latest days whose seed of the agency is revealed, with how many draws the
    agency made each, for its auditor's download page."""
    made = (
        Draw.objects.filter(day=OuterRef("day"), agency_id=agency_id)
        .order_by()
        .values("day")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return list(
        DailySeed.objects.filter(agency_id=agency_id, revealed_at__isnull=False)
        .annotate(draws=Coalesce(Subquery(made), 0))
        .order_by("-day")
        .values("day", "commitment", "draws")[:limit]
    )
