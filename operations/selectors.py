import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from backups.drill import restore_drill_last
from operations.health import check_beat, check_worker
from staff.scope import scope_filter


def hall_banner() -> list[str]:
    """What the team lead must know now about the machinery behind the hall."""
    problems = []
    if not check_worker().ok:
        problems.append(
            _(
                "The background worker is not running: reviewers are not drawn and time "
                "limits do not fire."
            )
        )
    if not check_beat().ok:
        problems.append(
            _("The scheduler (beat) is not running: re-draws, time limits and nightly jobs stop.")
        )
    drill = restore_drill_last()
    overdue = timezone.now() - datetime.timedelta(days=settings.RESTORE_DRILL_MAX_AGE_DAYS)
    if drill is None or drill.occurred_at < overdue:
        problems.append(_("No restore drill has passed recently: backups are unproven."))
    elif not drill.passed:
        problems.append(_("The last restore drill failed: the backups may not restore."))
    return problems


# --- Archive retention ------------------------------------------------------------------
# Statuses in which a case file is still open: never due for destruction.
OPEN_CASE_STATUSES = ("in_review", "returned", "awaiting_materials")
RETENTION_YEARS = {"100y": 100, "50y": 50, "30y": 30, "10y": 10}  # "permanent": never


def retention_years(case) -> int | None:
    """The longest retention the case's item has had since the case was accepted (None:
    permanent at some point). An edit of the catalog that shortens a retention never
    brings an existing file's destruction forward."""
    held = {case.item.retention}
    versions = case.item.history.all()
    since = (case.guide_snapshot or {}).get("item_history_id")
    if since:
        versions = versions.filter(history_id__gte=since)
    held |= set(versions.values_list("retention", flat=True))
    if not held <= RETENTION_YEARS.keys():
        return None
    return max(RETENTION_YEARS[retention] for retention in held)


def retention_end(case) -> datetime.date | None:
    """The day `case`'s retention runs out, or None (permanent, or still open). As the
    archives rules count it: from 1 January of the year after the file closed."""
    years = retention_years(case)
    if years is None or case.status in OPEN_CASE_STATUSES:
        return None
    closed = timezone.localdate(case.finished_at or case.accepted_at)
    return datetime.date(closed.year + 1 + years, 1, 1)


def case_open_findings(case) -> int:
    from audit.models import Finding

    return Finding.objects.filter(case=case, result=Finding.Result.OPEN).count()


def retention_due_cases(today: datetime.date | None = None, limit: int = 500, *, user=None) -> list:
    """Closed case files whose retention has run out, not destroyed and not already
    proposed, oldest first, at most `limit`, of `user`'s sites if given (staff.scope);
    each carries `open_findings`."""
    from django.db.models import Count, Q
    from django.db.models.functions import Coalesce

    from audit.models import Finding
    from counters.models import Case

    today = today or timezone.localdate()
    due = Q()
    for retention, years in RETENTION_YEARS.items():
        # Closed before 1 January of (this year - years): its end is on or before today.
        start = timezone.make_aware(datetime.datetime(today.year - years, 1, 1))  # noqa: DTZ001
        due |= Q(item__retention=retention, closed__lt=start)
    candidates = (
        Case.objects.annotate(closed=Coalesce("finished_at", "accepted_at"))
        .filter(due)
        .exclude(status__in=OPEN_CASE_STATUSES)
        .exclude(destruction_decisions__status__in=["proposed", "destroyed"])
        .annotate(open_findings=Count("findings", filter=Q(findings__result=Finding.Result.OPEN)))
        .select_related("item")
        .order_by("closed", "pk")
    )
    if user is not None:
        candidates = scope_filter(candidates, user)
    # The SQL uses today's retention; each candidate is judged as the service will judge
    # it (the longest retention its item had), so nothing listed is then refused for it.
    due = []
    for case in candidates.iterator(chunk_size=200):
        ended = retention_end(case)
        if ended is not None and ended <= today:
            due.append(case)
            if len(due) >= limit:
                break
    return due


def destruction_decisions_pending(user):
    """The proposals awaiting a second person, of `user`'s sites."""
    from operations.models import DestructionDecision

    return (
        scope_filter(DestructionDecision.objects.all(), user, site="case__site")
        .filter(status=DestructionDecision.Status.PROPOSED)
        .select_related("case__item", "proposed_by__staff_profile")
        .order_by("proposed_at")
    )


def destruction_decisions_history(user, limit: int = 200):
    """The decisions taken, of `user`'s sites (a destroyed case keeps its site)."""
    from operations.models import DestructionDecision

    return (
        scope_filter(DestructionDecision.objects.all(), user, site="case__site")
        .exclude(status=DestructionDecision.Status.PROPOSED)
        .select_related(
            "case__item",
            "case__tombstone",
            "proposed_by__staff_profile",
            "decided_by__staff_profile",
        )  # fmt: skip
        .order_by("-decided_at")[:limit]
    )
