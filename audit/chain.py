"""The audit chain's sequencer: chains committed events, in batches, after their commit.

Business transactions only INSERT their events (`audit_event_record`): no lock, no read of
the chain head, so they never wait for one another on the log. One sequencer at a time
(the lease: the row lock on `ChainSequencer`, taken with SKIP LOCKED so a second one just
returns; PostgreSQL drops it with the holder's transaction or connection) then:

1. takes every event not yet chained that its snapshot sees, in key order (the key is the
   row's id, from a database sequence), and sets position, previous hash, hash and the
   time, once per row, in one short transaction. The chain's order is therefore the order
   in which commits became visible to the sequencer, batch by batch, and by key within a
   batch. Nothing is ever chained "after" a row it could miss: it selects waiting rows by
   "not chained", never by "key above the last one chained", so a transaction that took
   its key early and committed late is chained by the next run, at the end. A crash
   between a commit and the next run loses nothing: the rows wait, and are chained later.
2. accounts for every key: keys it has not seen are remembered with the time they were
   first missed; one that appears (a late commit) is forgotten, one still missing after
   `KEY_MISSING_AFTER` is recorded in the chain (`audit.keys_missing`) and raised as a
   finding for the auditors. A key goes missing when its transaction rolled back, or when
   someone deleted the event before it was chained (only a role that can switch off the
   log's trigger can): either way it is never silently skipped.

On PostgreSQL the log's trigger lets the application set the chain fields of an unchained
row, once, and nothing else (migration 0006); the application's role may UPDATE only those
columns. A commit that recorded events runs the sequencer itself, right after the commit
(at most every NUDGE_INTERVAL_SECONDS per process, and only when no other run holds the
lease); beat runs it every second as well, and `manage.py chain_audit_log` by hand.
"""

import datetime
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from celery import current_app as app  # the project's app (langzhong_si.celery), by reference
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from audit.findings import finding_raise
from audit.models import AuditEvent, ChainSequencer
from audit.services import GENESIS_HASH, audit_event_hash, audit_event_record
from langzhong_si.saves import record_from_db

logger = logging.getLogger(__name__)

CHAIN_TASK = "audit.tasks.chain_audit_log"
BATCH_SIZE = 2000
# Longer than any transaction that records events should stay open: a key missing this
# long belongs to a transaction that rolled back, or to an event deleted before chaining.
KEY_MISSING_AFTER = timedelta(minutes=2)
# A process runs the sequencer after its commits at most this often (beat: every second).
# Measured under load (bench/hall_load.py): run as a Celery task it waited behind the
# worker's queue (review draws, notifications) for seconds (chaining lag p99 5.8 s); run
# by the committing process it costs one short transaction of about seven statements
# per half second and process, and chains within a second.
NUDGE_INTERVAL_SECONDS = 0.5
_last_nudge = [0.0]


@dataclass(frozen=True)
class ChainRun:
    ran: bool  # False: another sequencer holds the lease
    chained: int = 0
    keys_missing: list[int] = field(default_factory=list)


def audit_chain_run(
    *, batch_size: int = BATCH_SIZE, wait: bool = False, missing_after: timedelta | None = None
) -> ChainRun:
    """Chain up to `batch_size` committed events (one transaction). `wait`: wait for a
    sequencer already running instead of leaving the work to it."""
    missing_after = KEY_MISSING_AFTER if missing_after is None else missing_after
    with transaction.atomic():
        state = _lease(wait=wait)
        if state is None:
            return ChainRun(ran=False)
        now = timezone.now()
        missing = _keys_account(state, now=now, missing_after=missing_after)
        if missing:
            _keys_missing_record(missing)
        chained = _chain_waiting(now=now, batch_size=batch_size)
        state.ran_at = now
        state.save(update_fields=["scanned_through", "pending_keys", "ran_at"])
    return ChainRun(ran=True, chained=chained, keys_missing=missing)


def audit_chain_all(*, wait: bool = True, missing_after: timedelta | None = None) -> int:
    """Chain everything committed so far (batch after batch); returns how many."""
    total = 0
    while True:
        run = audit_chain_run(wait=wait, missing_after=missing_after)
        total += run.chained
        if not run.ran or run.chained < BATCH_SIZE:
            return total


def _lease(*, wait: bool) -> ChainSequencer | None:
    if connection.vendor != "postgresql":
        # SQLite: the first write takes the database's write lock for the transaction.
        if not ChainSequencer.objects.filter(pk=1).update(ran_at=timezone.now()):
            ChainSequencer.objects.create(pk=1)
        return ChainSequencer.objects.get(pk=1)
    rows = ChainSequencer.objects.select_for_update(skip_locked=not wait).filter(pk=1)
    state = rows.first()
    if state is None and not ChainSequencer.objects.filter(pk=1).exists():
        try:
            with transaction.atomic():
                ChainSequencer.objects.create(pk=1)
        except IntegrityError:
            pass  # another sequencer created it first
        state = rows.first()
    return state


def _keys_account(state: ChainSequencer, *, now, missing_after: timedelta) -> list[int]:
    """Remember keys not seen yet; return those missing longer than `missing_after`."""
    top = AuditEvent.objects.aggregate(top=Max("id"))["top"]
    if state.scanned_through is None:
        # The first run on this log: keys before the first event waiting belong to no
        # event of this log (a fresh database; an upgrade sets it to the last key).
        lowest = AuditEvent.objects.filter(position__isnull=True).aggregate(low=Min("id"))["low"]
        state.scanned_through = (lowest - 1) if lowest is not None else (top or 0)
    pending = list(state.pending_keys)
    if top is not None and top > state.scanned_through:
        present = set(
            AuditEvent.objects.filter(id__gt=state.scanned_through, id__lte=top).values_list(
                "id", flat=True
            )
        )
        first_missed = now.isoformat()
        pending += [
            [key, first_missed]
            for key in range(state.scanned_through + 1, top + 1)
            if key not in present
        ]
        state.scanned_through = top
    if pending:
        arrived = set(
            AuditEvent.objects.filter(id__in=[key for key, _ in pending]).values_list(
                "id", flat=True
            )
        )
        pending = [entry for entry in pending if entry[0] not in arrived]
    cutoff = now - missing_after
    missing = [key for key, seen in pending if datetime.datetime.fromisoformat(seen) <= cutoff]
    state.pending_keys = [entry for entry in pending if entry[0] not in set(missing)]
    return missing


def _ranges(keys: list[int]) -> list[list[int]]:
    ranges: list[list[int]] = []
    for key in sorted(keys):
        if ranges and key == ranges[-1][1] + 1:
            ranges[-1][1] = key
        else:
            ranges.append([key, key])
    return ranges


def _keys_missing_record(keys: list[int]) -> None:
    ranges = _ranges(keys)
    audit_event_record(event_type="audit.keys_missing", data={"keys": ranges})
    finding_raise(
        rule="audit_key_missing",
        severity="high",
        key=f"{ranges[0][0]}-{ranges[-1][1]}",
        evidence={"keys": ranges, "count": len(keys)},
    )


_COLUMNS = tuple(field.attname for field in AuditEvent._meta.concrete_fields)


def _chain_waiting(*, now, batch_size: int) -> int:
    # Read as rows and built as record_from_db builds (no Model.__init__ per event).
    rows = AuditEvent.objects.filter(position__isnull=True).order_by("id").values_list(*_COLUMNS)
    waiting = [record_from_db(AuditEvent, rows.db, _COLUMNS, row) for row in rows[:batch_size]]
    if not waiting:
        return 0
    head = (
        AuditEvent.objects.filter(position__isnull=False)
        .order_by("-position")
        .values("position", "hash")
        .first()
    )
    position, previous = (head["position"], head["hash"]) if head else (0, GENESIS_HASH)
    for event in waiting:
        position += 1
        event.position, event.prev_hash, event.chained_at = position, previous, now
        event.hash = previous = audit_event_hash(event)
    _chain_fields_write(waiting, now=now)
    return len(waiting)


def _chain_fields_write(events: list[AuditEvent], *, now) -> None:
    """Set the chain fields of `events` in one statement on PostgreSQL (the rows' new
    values as arrays joined to the table), one prepared statement per row elsewhere.
    Django's bulk_update would build a CASE per column and row: most of a run's cost."""
    table = AuditEvent._meta.db_table
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} AS e SET position = v.position, prev_hash = v.prev_hash, "  # noqa: S608 - the model's own table
                "hash = v.hash, chained_at = %s FROM unnest(%s::bigint[], %s::bigint[], "
                "%s::text[], %s::text[]) AS v(id, position, prev_hash, hash) WHERE e.id = v.id",
                [
                    stamp,
                    [event.pk for event in events],
                    [event.position for event in events],
                    [event.prev_hash for event in events],
                    [event.hash for event in events],
                ],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET position = %s, prev_hash = %s, hash = %s, "  # noqa: S608 - the model's own table
                "chained_at = %s WHERE id = %s",
                [(e.position, e.prev_hash, e.hash, stamp, e.pk) for e in events],
            )


def audit_chain_nudge() -> None:
    """Chain what this commit recorded (run after a commit that recorded events): the
    sequencer runs here unless a run in the last NUDGE_INTERVAL_SECONDS of this process
    will have, or another process holds the lease (its next run, or beat's, chains
    these events). Failing is harmless: beat runs the sequencer every second anyway."""
    if app.conf.task_always_eager:
        # Tests and one-process set-ups chain every commit.
        audit_chain_run()
        return
    now = time.monotonic()
    if now - _last_nudge[0] < NUDGE_INTERVAL_SECONDS:
        return
    _last_nudge[0] = now
    try:
        audit_chain_run()
    except Exception as error:  # noqa: BLE001 - the commit is done; beat chains its events
        logger.warning("audit chain run after a commit failed: %s", error)


@dataclass(frozen=True)
class ChainStatus:
    chained: int  # the head's position
    waiting: int  # committed, not yet chained
    oldest_waiting_at: datetime.datetime | None
    keys_missing: int  # recorded missing by the sequencer and still absent
    keys_pending: int  # not seen yet, within the in-flight window


def audit_chain_status() -> ChainStatus:
    head = AuditEvent.objects.filter(position__isnull=False).aggregate(top=Max("position"))
    waiting = AuditEvent.objects.filter(position__isnull=True)
    oldest = waiting.order_by("id").values_list("occurred_at", flat=True).first()
    recorded = [
        key
        for data in AuditEvent.objects.filter(event_type="audit.keys_missing").values_list(
            "data", flat=True
        )
        for low, high in data.get("keys", [])
        for key in range(low, high + 1)
    ]
    still_missing = len(recorded) - AuditEvent.objects.filter(id__in=recorded).count()
    state = ChainSequencer.objects.filter(pk=1).first()
    return ChainStatus(
        chained=head["top"] or 0,
        waiting=waiting.count(),
        oldest_waiting_at=oldest,
        keys_missing=still_missing,
        keys_pending=len(state.pending_keys) if state else 0,
    )
