"""The delivery state machine: the only place a delivery's status changes.

A worker claims a delivery with one conditional UPDATE (pending, or retrying and due, or
sending past its lease because its worker died) and goes on only if exactly one row
changed, so the same delivery is never sent by two workers at once; it then records the
outcome of its own attempt only (the attempt number is its claim)."""

import datetime

from django.db import transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from audit.states import StateTable, state_move
from langzhong_si.errors import StateConflict
from reporting.models import Delivery

S = Delivery.Status

# None: the move's own DeliveryAttempt row records it (automatic moves, no one's power).
DELIVERY_TRANSITIONS: StateTable = {
    S.PENDING: {S.SENDING: None},
    S.RETRYING: {S.SENDING: None},
    S.SENDING: {
        S.SENDING: None,  # a stalled attempt taken over
        S.ACKNOWLEDGED: None,
        S.SENT: None,
        S.RETRYING: None,
        S.DEAD: "reporting.dead_lettered",
    },
    S.DEAD: {S.PENDING: "reporting.resent"},
    S.ACKNOWLEDGED: {},
    S.SENT: {},
}


class DeliveryStateError(StateConflict):
    """A move the table does not allow (e.g. resending a delivery that is not failed)."""


def _refuse(source: str, target: str) -> DeliveryStateError:
    return DeliveryStateError(
        _("A report delivery that is %(source)s cannot become %(target)s.")
        % {"source": S(source).label, "target": S(target).label},
        code="delivery_state",
    )


def delivery_claim(
    *, key: str, now: datetime.datetime, lease: datetime.timedelta
) -> Delivery | None:
    """Claim the delivery for one attempt (counted); None if it is not due or another
    worker holds it."""
    claimable = Q(status=S.PENDING) | Q(
        status__in=[S.RETRYING, S.SENDING], next_attempt_at__lte=now
    )
    claimed = Delivery.objects.filter(claimable, key=key).update(
        status=S.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + lease
    )
    if claimed != 1:
        return None
    return Delivery.objects.get(key=key)


def delivery_finish(
    *, delivery: Delivery, attempt: int, to: str, fields: dict, data: dict | None = None
) -> Delivery | None:
    """Record the outcome of attempt number `attempt`: move to `to` with `fields` set.
    None (nothing changed) if the attempt was taken over meanwhile."""
    with transaction.atomic():
        locked = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if locked.status != S.SENDING or locked.attempts != attempt:
            return None
        for name, value in fields.items():
            setattr(locked, name, value)
        state_move(
            obj=locked, field="status", table=DELIVERY_TRANSITIONS, to=to, actor=None,
            refusal=_refuse, fields=tuple(fields), data=data,
        )  # fmt: skip
    return locked


def delivery_reopen(*, delivery: Delivery, actor, now: datetime.datetime, reason: str) -> None:
    """A failed delivery goes back to the queue (the caller holds its row lock)."""
    delivery.failures = 0
    delivery.next_attempt_at = now
    delivery.finished_at = None
    delivery.resends += 1
    state_move(
        obj=delivery, field="status", table=DELIVERY_TRANSITIONS, to=S.PENDING, actor=actor,
        refusal=_refuse, fields=("failures", "next_attempt_at", "finished_at", "resends"),
        data={"key": delivery.key, "reason": reason},
    )  # fmt: skip
