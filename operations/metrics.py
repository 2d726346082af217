"""Prometheus metrics (prometheus_client).

Two kinds, so several gunicorn processes and hosts answer alike:
- per request (count by view, method and status; latency histogram by view): counted in
  the process that served it; with PROMETHEUS_MULTIPROC_DIR set (gunicorn with several
  workers) every process writes its samples there and a scrape adds them up;
- the hall's state (waiting tickets, draws, pools, review tasks, outbox, audit chain,
  Celery task runs, sign-in failures, heartbeats, backups and drills): computed from the
  database at each scrape, so any process answers for the whole deployment.

Labels are code names only (a view's name, a queue letter, a task name, a role and a
level): no person, case number, ID number or address is ever a label or a value.
"""

from __future__ import annotations

import os
import time

from django.db.models import Count, Max, Q
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

PREFIX = "langzhong"
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

REQUESTS = Counter(
    f"{PREFIX}_http_requests",
    "HTTP requests answered, by view, method and status",
    ["view", "method", "status"],
)
LATENCY = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "Time to answer an HTTP request, by view",
    ["view"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def request_observe(*, view: str, method: str, status: int, seconds: float) -> None:
    method = method if method in _METHODS else "other"
    REQUESTS.labels(view=view, method=method, status=str(status)).inc()
    LATENCY.labels(view=view).observe(seconds)


def _gauge(name: str, documentation: str, value: float | None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(f"{PREFIX}_{name}", documentation)
    if value is not None:
        family.add_metric([], value)
    return family


class HallCollector:
    """The deployment's state, read from the database at scrape time."""

    def collect(self):
        yield from _hall_metrics()
        yield from _chain_metrics()
        yield from _background_metrics()
        yield from _security_metrics()
        yield from _backup_metrics()

    def describe(self):
        return []  # computed at scrape: nothing to check at registration


def _hall_metrics():
    from counters.models import Queue, Ticket
    from draws.models import Draw
    from risk.models import ReviewTask
    from risk.selectors import pool_sizes

    now = timezone.now()
    today = timezone.localdate(now)
    waiting = GaugeMetricFamily(
        f"{PREFIX}_tickets_waiting",
        "Tickets waiting to be called today, by queue",
        labels=["queue"],
    )
    counts = dict(
        Ticket.objects.filter(service_date=today, status=Ticket.Status.WAITING)
        .values_list("queue")
        .annotate(n=Count("pk"))
    )
    for queue in Queue:
        waiting.add_metric([queue.value], counts.get(queue.value, 0))
    yield waiting

    draws = GaugeMetricFamily(
        f"{PREFIX}_draws_today", "Random draws made today, by purpose", labels=["purpose"]
    )
    made = dict(Draw.objects.filter(day=today).values_list("purpose").annotate(n=Count("pk")))
    for purpose in Draw.Purpose:
        draws.add_metric([purpose.value], made.get(purpose.value, 0))
    yield draws

    pools = GaugeMetricFamily(
        f"{PREFIX}_draw_pool_size",
        "People a review or approval draw could choose from now, by role and risk level",
        labels=["role", "level"],
    )
    sizes = pool_sizes()
    for row in sizes:
        pools.add_metric([row["role"], str(row["level"])], row["size"])
    yield pools
    yield _gauge(
        "draw_pools_empty",
        "Draw pools (role and level) with nobody to draw",
        sum(1 for row in sizes if row["size"] == 0),
    )

    tasks = ReviewTask.objects.filter(status__in=ReviewTask.OPEN_STATES).aggregate(
        open=Count("pk"),
        awaiting=Count("pk", filter=Q(status=ReviewTask.Status.AWAITING_DRAW)),
        overdue=Count("pk", filter=Q(status=ReviewTask.Status.OPEN, due_at__lt=now)),
    )
    yield _gauge("review_tasks_open", "Review and approval tasks not yet decided", tasks["open"])
    yield _gauge(
        "review_tasks_awaiting_draw",
        "Review tasks waiting because their draw found nobody (an empty pool)",
        tasks["awaiting"],
    )
    yield _gauge(
        "review_tasks_overdue", "Open review tasks past their step's time limit", tasks["overdue"]
    )


def _chain_metrics():
    from audit.models import AuditEvent
    from operations.chaining import audit_events_unchained

    length = AuditEvent.objects.aggregate(length=Max("position"))["length"] or 0
    yield _gauge("audit_chain_length", "Events in the hash-chained audit log", length)
    yield _gauge(
        "audit_chain_lag", "Audit events appended but not yet chained", audit_events_unchained()
    )


def _background_metrics():
    from operations.health import heartbeat_age, outbox_backlog
    from operations.models import TaskRunCount
    from operations.services import BEAT, WORKER
    from outbox.services import outbox_given_up, outbox_pending

    yield _gauge(
        "outbox_backlog",
        "Outbox messages the sweep has to send again (broker refused, or not done in time)",
        outbox_backlog(),
    )
    yield _gauge(
        "outbox_unsent",
        "Outbox messages whose task has not run yet (queued, or waiting for the broker)",
        outbox_pending().count(),
    )
    yield _gauge(
        "outbox_given_up",
        "Outbox messages no longer sent: their task never marked them done (it fails)",
        outbox_given_up().count(),
    )
    ages = GaugeMetricFamily(
        f"{PREFIX}_heartbeat_age_seconds",
        "Seconds since a component was last seen (absent: never)",
        labels=["component"],
    )
    for component in (WORKER, BEAT):
        age = heartbeat_age(component)
        if age is not None:
            ages.add_metric([component], age)
    yield ages
    runs = CounterMetricFamily(
        f"{PREFIX}_celery_task_runs",
        "Celery task runs in the workers, by task and outcome",
        labels=["task", "outcome"],
    )
    for task_name, outcome, count in TaskRunCount.objects.values_list(
        "task_name", "outcome", "count"
    ):
        runs.add_metric([task_name, outcome], count)
    yield runs
    yield from _report_metrics()


def _report_metrics():
    from reporting.selectors import dead_letter_counts

    dead = GaugeMetricFamily(
        f"{PREFIX}_report_dead_letters",
        "Upward reports failed for good and waiting for the team lead's resend, by agency",
        labels=["agency"],
    )
    for agency, count in dead_letter_counts().items():
        dead.add_metric([agency], count)
    yield dead


def _security_metrics():
    from audit.models import AuditEvent

    counts = dict(
        AuditEvent.objects.filter(event_type__in=["auth.sign_in_failed", "auth.locked_out"])
        .values_list("event_type")
        .annotate(n=Count("pk"))
    )
    failures = CounterMetricFamily(f"{PREFIX}_sign_in_failures", "Failed sign-ins")
    failures.add_metric([], counts.get("auth.sign_in_failed", 0))
    yield failures
    lockouts = CounterMetricFamily(f"{PREFIX}_lockouts", "Accounts locked after failed sign-ins")
    lockouts.add_metric([], counts.get("auth.locked_out", 0))
    yield lockouts


def _backup_metrics():
    from backups.drill import backup_last, restore_drill_last

    backup = backup_last()
    yield _gauge(
        "backup_last_success_timestamp_seconds",
        "When the last backup bundle was made (absent: never)",
        backup.occurred_at.timestamp() if backup else None,
    )
    drill = restore_drill_last()
    yield _gauge(
        "restore_drill_last_timestamp_seconds",
        "When the last restore drill ran (absent: never)",
        drill.occurred_at.timestamp() if drill else None,
    )
    yield _gauge(
        "restore_drill_last_passed",
        "1 if the last restore drill proved the bundle whole, 0 if it failed",
        (1 if drill.passed else 0) if drill else None,
    )


_HALL = CollectorRegistry(auto_describe=False)
_HALL.register(HallCollector())


def metrics_exposition() -> bytes:
    """The text exposition of every metric, for one scrape."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    started = time.monotonic()
    hall = generate_latest(_HALL)
    took = _gauge(
        "scrape_database_seconds",
        "Time the database-computed metrics took for this scrape",
        time.monotonic() - started,
    )
    extra = CollectorRegistry(auto_describe=False)
    extra.register(_Static([took]))
    return generate_latest(processes) + hall + generate_latest(extra)


class _Static:
    def __init__(self, families):
        self.families = families

    def collect(self):
        return iter(self.families)
