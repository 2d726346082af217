"""Liveness and readiness: each check answers ok or not with a short reason.

The reasons name a component and a number, never a host name, a password or a person:
/readyz is open to the load balancer and the container runtime without a sign-in."""

from __future__ import annotations

import datetime
import time
from dataclasses import asdict

from celery import current_app
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from langzhong_si.checks import Check
from operations.chaining import audit_events_unchained
from operations.models import Heartbeat
from operations.services import BEAT, WORKER
from outbox.services import outbox_resendable

# Migrations do not change under a running process except by a deploy: a positive
# answer is reused for a minute instead of loading every migration file on each probe.
_MIGRATED_FOR_SECONDS = 60
_migrated_until = 0.0


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        return Check("database", False, f"not reachable ({type(error).__name__})")
    return Check("database", True, "reachable")


def check_migrations() -> Check:
    global _migrated_until
    if time.monotonic() < _migrated_until:
        return Check("migrations", True, "at head")
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as error:  # noqa: BLE001
        return Check("migrations", False, f"cannot be read ({type(error).__name__})")
    if plan:
        return Check("migrations", False, f"{len(plan)} not applied")
    _migrated_until = time.monotonic() + _MIGRATED_FOR_SECONDS
    return Check("migrations", True, "at head")


def check_broker() -> Check:
    try:
        with current_app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, timeout=2)
    except Exception as error:  # noqa: BLE001
        return Check("broker", False, f"not reachable ({type(error).__name__})")
    return Check("broker", True, "reachable")


def heartbeat_age(name: str, *, now: datetime.datetime | None = None) -> float | None:
    """Seconds since `name` was last seen (None: never)."""
    seen_at = Heartbeat.objects.filter(name=name).values_list("seen_at", flat=True).first()
    if seen_at is None:
        return None
    return max(0.0, ((now or timezone.now()) - seen_at).total_seconds())


def _check_heartbeat(name: str, what: str) -> Check:
    limit = settings.HEARTBEAT_MAX_AGE_SECONDS
    try:
        age = heartbeat_age(name)
    except Exception as error:  # noqa: BLE001
        return Check(name, False, f"unknown ({type(error).__name__})")
    if age is None:
        return Check(name, False, f"{what} never seen")
    if age > limit:
        return Check(name, False, f"{what} last seen {age:.0f} s ago (limit {limit} s)")
    return Check(name, True, f"{what} seen {age:.0f} s ago")


def check_worker() -> Check:
    return _check_heartbeat(WORKER, "a worker running the heartbeat task")


def check_beat() -> Check:
    return _check_heartbeat(BEAT, "beat publishing the heartbeat task")


def outbox_backlog() -> int:
    """Messages the sweep has to send (again): refused by the broker past the grace, or
    handed over and not done past the redelivery timeout (outbox_resendable). Work merely
    queued behind busy workers is not counted: a web host is no less ready for it."""
    return outbox_resendable().count()


def check_outbox() -> Check:
    limit = settings.OUTBOX_BACKLOG_LIMIT
    try:
        backlog = outbox_backlog()
    except Exception as error:  # noqa: BLE001
        return Check("outbox", False, f"unknown ({type(error).__name__})")
    return Check("outbox", backlog <= limit, f"{backlog} to send again (limit {limit})")


def check_audit_chaining() -> Check:
    limit = settings.AUDIT_CHAINING_LAG_LIMIT
    try:
        lag = audit_events_unchained()
    except Exception as error:  # noqa: BLE001
        return Check("audit_chaining", False, f"unknown ({type(error).__name__})")
    return Check("audit_chaining", lag <= limit, f"{lag} events not yet chained (limit {limit})")


def readiness() -> list[Check]:
    database = check_database()
    if not database.ok:
        # Everything else reads the database: one cause, one red line each.
        skipped = ("migrations", "worker", "beat", "outbox", "audit_chaining")
        return [database, check_broker(), *(Check(n, False, "database down") for n in skipped)]
    return [
        database,
        check_migrations(),
        check_broker(),
        check_worker(),
        check_beat(),
        check_outbox(),
        check_audit_chaining(),
    ]


def as_json(checks: list[Check]) -> dict:
    return {
        "status": "ok" if all(check.ok for check in checks) else "unavailable",
        "checks": {check.name: {k: v for k, v in asdict(check).items() if k != "name"}
                   for check in checks},
    }  # fmt: skip
