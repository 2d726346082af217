"""Declared state machines: every record with a status changes it only through its
table, {source: {target: audit event kind, or None when another event of the same
transaction records the move}}. One function checks, writes and records for them all."""

from collections.abc import Callable

from django.db import models

# A module reference, not the function: audit.services uses state_move too.
from audit import services
from langzhong_si.batch import audit_batch_insert, batched_fields_save
from langzhong_si.versions import TICKETS, user_key, versions_bump

StateTable = dict[str, dict[str, str | None]]


def state_move(
    *,
    obj: models.Model,
    field: str,
    table: StateTable,
    to: str,
    actor,
    refusal: Callable[[str, str], Exception],
    fields: tuple[str, ...] = (),
    data: dict | None = None,
    created: bool = False,
) -> str:
    """Move `obj.<field>` to `to` if its table allows it, saving `fields` as well, and
    record the move's event; returns the state it left. The caller holds the row lock
    and has already set the other fields; a refused move raises `refusal(source, to)`
    and changes nothing. `created`: `obj` is new, in the state it is created in, its
    key taken: it is written once, already moved (with the transaction's audit batch
    where one is open), and the move recorded as for a saved record."""
    source = getattr(obj, field)
    # A new record starts where its model says records start, whatever it was given.
    if to not in table.get(source, {}) or (
        created and source != obj._meta.get_field(field).get_default()
    ):
        raise refusal(source, to)
    setattr(obj, field, to)
    if not created:
        batched_fields_save(obj, (field, *fields))
    elif not audit_batch_insert(obj):
        obj.save(force_insert=True)
    versions_bump(*_version_keys(obj, actor))
    kind = table[source][to]
    if kind is not None:
        services.audit_event_record(
            event_type=kind, actor=actor, obj=obj, data={"from": source, "to": to, **(data or {})}
        )
    return source


def _version_keys(obj: models.Model, actor) -> list[str]:
    """Whose polled screens a status change may alter: the person holding the record
    (a window's clerk, a task's assignee), the person acting, and the call display for
    tickets."""
    people = {getattr(obj, "clerk_id", None), getattr(obj, "assignee_id", None)}
    people.add(getattr(actor, "pk", None))
    keys = [user_key(pk) for pk in people if pk is not None]
    if obj._meta.label_lower == "counters.ticket":
        keys.append(TICKETS)
    return keys
