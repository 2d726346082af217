import datetime
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.agency import event_agency_id
from audit.context import current_request_context
from audit.kinds import event_kind_check
from audit.models import AuditEvent
from langzhong_si.batch import audit_batch_add
from langzhong_si.jsonvalue import json_roundtrip
from langzhong_si.saves import record_insert, record_new
from langzhong_si.text import CHANGE_REASON_MAX_LENGTH, text_clean

GENESIS_HASH = "0" * 64


def _canonical(event: AuditEvent) -> str:
    """The hashed content. The agency is part of it exactly when the event has one:
    events recorded before events carried an agency (none) hash as they always did, and
    adding, removing or changing an event's agency afterwards changes its hash."""
    content = {
        "position": event.position,
        "occurred_at": event.occurred_at.astimezone(datetime.UTC).isoformat(),
        "actor": event.actor_id,
        "event_type": event.event_type,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "outcome": event.outcome,
        "data": event.data,
        "source_ip": event.source_ip,
        "request_id": event.request_id,
    }
    if event.agency_id is not None:
        content["agency"] = event.agency_id
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def audit_event_hash(event: AuditEvent) -> str:
    return hashlib.sha256((event.prev_hash + _canonical(event)).encode()).hexdigest()


def audit_event_record(
    *,
    event_type: str,
    actor=None,
    obj: models.Model | None = None,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    data: dict | None = None,
    agency_id: int | None = None,
) -> AuditEvent:
    """Record one event in the caller's transaction: one INSERT, no lock, no read (inside
    `audit_writes_batched`, a share of the transaction's one INSERT, made before it ends).

    The event waits unchained (no position or hash) until the sequencer chains it,
    after the transaction commits (`audit.chain.audit_chain_run`, nudged on commit and
    run by beat every second); if the transaction rolls back, the event is gone with it.
    The event carries `agency_id`, by default its object's or actor's (audit.agency).
    """
    event_kind_check(event_type)
    context = current_request_context()
    normalised = json_roundtrip(data or {})
    event = record_new(
        AuditEvent,
        # Truncated to the microsecond so the stored value hashes the same on reload.
        occurred_at=timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        event_type=event_type,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        outcome=outcome,
        data=normalised,
        source_ip=context.source_ip,
        request_id=context.request_id,
        agency_id=agency_id if agency_id is not None else event_agency_id(obj=obj, actor=actor),
    )
    if not audit_batch_add(event):
        record_insert(event)
    _chain_nudge_on_commit()
    return event


def _chain_nudge() -> None:
    from audit.chain import audit_chain_nudge  # the sequencer records events itself

    audit_chain_nudge()


def _chain_nudge_on_commit() -> None:
    """Ask for the sequencer once the caller's transaction commits (once per transaction)."""
    connection_ = transaction.get_connection()
    if connection_.in_atomic_block and any(
        entry[1] is _chain_nudge for entry in connection_.run_on_commit
    ):
        return
    transaction.on_commit(_chain_nudge, robust=True)


@dataclass(frozen=True)
class ChainBreak:
    position: int
    reason: str


@dataclass(frozen=True)
class ExportedHead:
    """A chain head written by `export_audit_head` to a file kept off the database."""

    position: int
    hash: str
    source: str


def audit_log_verify(*, heads: Iterable[ExportedHead] = ()) -> ChainBreak | None:
    """Recompute the chain of chained events; return the first position where it
    breaks, or None. Events still waiting for the sequencer are not in the chain yet
    (`audit.chain.audit_chain_status` counts them and any key that went missing).

    A chain cut short still verifies on its own, and so does one rewritten wholesale:
    the exported `heads` catch both. The log must reach the last exported head, and
    every exported head must still stand at its position."""
    expected_prev = GENESIS_HASH
    expected_position = 1
    chained = AuditEvent.objects.filter(position__isnull=False).order_by("position")
    for event in chained.iterator(chunk_size=2000):
        if event.position != expected_position:
            return ChainBreak(expected_position, "missing")
        if event.prev_hash != expected_prev:
            return ChainBreak(event.position, "inserted or reordered")
        if audit_event_hash(event) != event.hash:
            return ChainBreak(event.position, "content changed")
        expected_prev = event.hash
        expected_position += 1
    return audit_heads_verify(heads=list(heads), length=expected_position - 1)


def audit_heads_verify(
    *, heads: list[ExportedHead], length: int | None = None
) -> ChainBreak | None:
    """The log (of `length` events, by default its last position) reaches the last
    exported head, and every exported head still stands at its position."""
    if not heads:
        return None
    if length is None:
        length = (audit_chain_head() or {"position": 0})["position"]
    last = max(heads, key=lambda head: head.position)
    if last.position > length:
        return ChainBreak(
            length + 1,
            f"the log ends at #{length}, shorter than the head #{last.position} exported "
            f"in {last.source}: events were deleted from its end",
        )
    stored = dict(
        AuditEvent.objects.filter(position__in={head.position for head in heads}).values_list(
            "position", "hash"
        )
    )
    for head in sorted(heads, key=lambda head: head.position):
        if stored.get(head.position) != head.hash:
            return ChainBreak(
                head.position,
                f"the chain was rewritten: the head exported in {head.source} no longer matches",
            )
    return None


def audit_heads_directory() -> Path:
    """Where beat's daily export writes chain heads (keep it off the database host)."""
    return Path(settings.VAR_DIR) / "audit-heads"


def audit_exported_heads(*, directory: Path | None = None) -> list[ExportedHead]:
    """Every head exported to `directory` (none if it does not exist yet). A file that
    cannot be read as a head raises ValueError naming it: verification fails closed."""
    folder = directory or audit_heads_directory()
    if not folder.is_dir():
        return []
    return [audit_exported_head_read(path=path) for path in sorted(folder.glob("*.json"))]


def audit_exported_head_read(*, path: Path) -> ExportedHead:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return ExportedHead(
            position=int(record["position"]), hash=str(record["hash"]), source=str(path)
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a readable audit head: {error}") from error


def audited_record_save(*, instance: models.Model, reason: str, actor) -> None:
    """Save reference data edited by a person (catalog, policies, qualifications in the
    admin): the reason goes into the row history and an audit event."""
    reason = text_clean(reason, field=_("Reason"), max_length=CHANGE_REASON_MAX_LENGTH)
    with transaction.atomic():
        instance._change_reason = reason
        instance.save()
        audit_event_record(
            event_type="record.edited", actor=actor, obj=instance, data={"reason": reason}
        )


def audited_record_delete(*, instance: models.Model, reason: str, actor) -> None:
    reason = text_clean(reason, field=_("Reason"), max_length=CHANGE_REASON_MAX_LENGTH)
    with transaction.atomic():
        instance._change_reason = reason
        audit_event_record(
            event_type="record.deleted", actor=actor, obj=instance, data={"reason": reason}
        )
        instance.delete()


def audit_chain_head() -> dict | None:
    """The last chained event's position and hash (events waiting are not in it)."""
    head = (
        AuditEvent.objects.filter(position__isnull=False)
        .order_by("-position")
        .values("position", "hash")
        .first()
    )
    return dict(head) if head else None
