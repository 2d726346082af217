from draws.models import DailySeed


def draw_days_revealed(limit: int = 90) -> list[dict]:
    """The latest days whose seed is revealed, for the auditor's download page."""
    return list(
        DailySeed.objects.filter(revealed_at__isnull=False)
        .order_by("-day")
        .values("day", "commitment", "next_number")[:limit]
    )
