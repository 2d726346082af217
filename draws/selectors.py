from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from draws.models import DailySeed, Draw


def draw_days_revealed(limit: int = 90) -> list[dict]:
    """The latest days whose seed is revealed, with how many draws each made, for the
    auditor's download page."""
    made = (
        Draw.objects.filter(day=OuterRef("day"))
        .order_by()
        .values("day")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return list(
        DailySeed.objects.filter(revealed_at__isnull=False)
        .annotate(draws=Coalesce(Subquery(made), 0))
        .order_by("-day")
        .values("day", "commitment", "draws")[:limit]
    )
