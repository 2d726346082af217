"""A refused use of power (another agency's account, a role the person does not hold,
their own account) is itself an audit event, `power.refused`: an insider probing what
they may not do leaves a trace.

A refusal is raised inside the transaction of what it refuses, and that transaction
rolls back with it, an event written there too. So within a request the event waits and
is written once the view is done, in a transaction of its own
(audit.middleware.RequestContextMiddleware, with the request's id and address). Outside
a request (the shell, a task) it is written at once, in the caller's transaction, and
goes if that rolls back: a refused service that opened its own transaction loses it."""

import contextvars
import logging

from django.db import transaction

from audit.agency import event_agency_id
from audit.models import AuditEvent
from audit.services import audit_event_record

logger = logging.getLogger(__name__)
_pending: contextvars.ContextVar = contextvars.ContextVar("audit_refusals", default=None)
ANOTHER_AGENCY = "another_agency"


def refusal_record(*, actor, action: str, reason: str, target=None) -> None:
    """Record that `actor` was refused `action` (a service's name) on `target` for
    `reason` (a code: another_agency, read_only, role_not_held, own_account, superuser)."""
    if actor is None or not getattr(actor, "pk", None):
        return  # set-up code, or nobody signed in: no one to name
    data, obj = {"tried": action, "reason": reason}, target
    if reason in (ANOTHER_AGENCY, "read_only") and getattr(target, "pk", None):
        # Another agency's record is not named to this one (its people's names are that
        # agency's): the name the actor gave, or the record's kind and number.
        username = getattr(target, "username", None)
        data["username" if username else "object"] = (
            username or f"{target._meta.label_lower} #{target.pk}"
        )
        obj = None
    refusal = {"actor": actor, "obj": obj if getattr(obj, "pk", None) else None, "data": data}
    pending = _pending.get()
    if pending is not None:
        pending.append(refusal)
        return
    with transaction.atomic():
        _write(refusal)


class refusals_recorded_after:  # noqa: N801 - used as a function: `with refusals_recorded_after():`
    """The refusals met inside the block, written after it in a transaction of their own
    (the block's own transactions are over by then, rolled back or not). A class, not a
    generator: every request enters it, the unchanged polls too."""

    __slots__ = ("pending", "token")

    def __enter__(self):
        self.pending = []
        self.token = _pending.set(self.pending)

    def __exit__(self, *_exc) -> None:
        _pending.reset(self.token)
        if self.pending:
            try:
                with transaction.atomic():
                    for refusal in self.pending:
                        _write(refusal)
            except Exception:  # the refusal still stands; the answer is already made
                logger.error("%d refusals not recorded", len(self.pending), exc_info=True)


def _write(refusal: dict) -> None:
    # Under the actor's agency: the person probing is theirs (the target may be another's).
    audit_event_record(
        event_type="power.refused",
        outcome=AuditEvent.Outcome.REFUSED,
        agency_id=event_agency_id(obj=None, actor=refusal["actor"]),
        **refusal,
    )
