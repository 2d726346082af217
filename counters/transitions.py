"""The case state machine: the only place a case's status changes."""

from django.utils import timezone
from django.utils.translation import gettext as _

from audit.rules import CASE_AUDIT_TASK
from audit.services import audit_event_record
from counters.models import Case, Ticket, Window
from langzhong_si.errors import StateConflict
from outbox.services import outbox_enqueue
from risk.models import ReviewTask

S = Case.Status

# Allowed moves. A case is created directly in one of INITIAL_STATES by intake. Moving
# from one step of the chain to the next is not a status change (case_step_advance);
# in particular nothing leads from "in review" back into "in review", so a case under
# review can never be resubmitted (which would re-draw its reviewer).
CASE_TRANSITIONS: dict[str, set[str]] = {
    S.IN_REVIEW: {S.APPROVED, S.RETURNED, S.REJECTED},
    S.RETURNED: {S.IN_REVIEW},
    S.AWAITING_MATERIALS: {S.FINISHED, S.FORWARDED, S.IN_REVIEW, S.ENDED_UNSUPPLIED},
    S.ENDED_UNSUPPLIED: set(),
    S.NOTIFIED: set(),
    S.FINISHED: set(),
    S.APPROVED: set(),
    S.REJECTED: set(),
    S.FORWARDED: set(),
}
INITIAL_STATES = {S.NOTIFIED, S.AWAITING_MATERIALS, S.FINISHED, S.IN_REVIEW, S.FORWARDED}


class CaseStateError(StateConflict):
    """A move the table does not allow (the API answers 409)."""


def _refuse(source: str, target: str) -> CaseStateError:
    return CaseStateError(
        _("A case that is %(source)s cannot become %(target)s.")
        % {"source": S(source).label, "target": S(target).label},
        code="case_state",
    )


def case_initial_check(status: str) -> None:
    """Intake creates a case directly in its first state: only these are allowed."""
    if status not in INITIAL_STATES:
        raise CaseStateError(
            _("A case cannot start as %(status)s.") % {"status": S(status).label},
            code="case_state",
        )


def case_transition(
    *, case: Case, to: str, actor, fields: tuple[str, ...] = (), data: dict | None = None
) -> Case:
    """Move `case` to state `to`, saving `fields` as well, and record the event.

    The caller holds the case row lock and has already set the other fields.
    """
    source = case.status
    if to not in CASE_TRANSITIONS[source] or (to == S.APPROVED and not _chain_complete(case)):
        raise _refuse(source, to)
    case.status = to
    case.save(update_fields=["status", *fields])
    audit_event_record(
        event_type="case.status_changed",
        actor=actor,
        obj=case,
        data={"from": source, "to": to, "step": case.current_step, **(data or {})},
    )
    case_audit_schedule(case)
    return case


def case_step_advance(*, case: Case, actor) -> Case:
    """The current step was approved and another follows: the case stays in review at
    the next step. The caller holds the case row lock."""
    if case.status != S.IN_REVIEW or not 1 <= case.current_step < len(case.review_chain):
        raise _refuse(case.status, S.IN_REVIEW)
    case.current_step += 1
    case.save(update_fields=["current_step"])
    audit_event_record(
        event_type="case.step_advanced",
        actor=actor,
        obj=case,
        data={"step": case.current_step, "round": case.review_round},
    )
    return case


FINISHED_STATES = {S.FINISHED, S.APPROVED, S.REJECTED, S.FORWARDED}


def case_audit_schedule(case: Case) -> None:
    """Continuous audit: every finished case is checked by the rules, after commit."""
    if case.status in FINISHED_STATES:
        outbox_enqueue(
            task_name=CASE_AUDIT_TASK,
            kwargs={"case_id": case.pk},
            dedupe_key=f"case-audit:{case.pk}",
        )


def _chain_complete(case: Case) -> bool:
    """Every step the case's risk level requires was approved in the current round."""
    approved = set(
        ReviewTask.objects.filter(
            case=case, review_round=case.review_round, status=ReviewTask.Status.APPROVED
        ).values_list("step", flat=True)
    )
    return bool(case.review_chain) and approved == set(range(1, len(case.review_chain) + 1))


# --- Tickets and windows --------------------------------------------------------------

TS = Ticket.Status
WS = Window.State

# Allowed moves and the audit event each records. A ticket is issued waiting.
TICKET_TRANSITIONS: dict[str, dict[str, str]] = {
    TS.WAITING: {TS.SERVING: "ticket.called", TS.CANCELLED: "ticket.cancelled"},
    TS.SERVING: {
        TS.DONE: "ticket.finished",
        TS.NO_SHOW: "ticket.no_show",
        TS.CANCELLED: "ticket.cancelled",
    },
    TS.NO_SHOW: {TS.WAITING: "ticket.requeued"},
    TS.DONE: {},
    TS.CANCELLED: {},
}

# A window's move to serving and back is recorded by its ticket's event in the same
# transaction (None here); the clerk's own moves are events of their own. Pausing a
# paused window records a new reason.
WINDOW_TRANSITIONS: dict[str, dict[str, str | None]] = {
    WS.OFFLINE: {WS.PAUSED: "window.signed_on"},
    WS.PAUSED: {
        WS.READY: "window.ready",
        WS.PAUSED: "window.paused",
        WS.OFFLINE: "window.signed_off",
    },
    WS.READY: {
        WS.SERVING: None,
        WS.PAUSED: "window.paused",
        WS.OFFLINE: "window.signed_off",
    },
    WS.SERVING: {WS.PAUSED: None},
}


class HallStateError(StateConflict):
    """A ticket or window move the table does not allow (the API answers 409)."""


def ticket_transition(
    *, ticket: Ticket, to: str, actor, fields: tuple[str, ...] = (), data: dict | None = None
) -> Ticket:
    """Move `ticket` to `to`, saving `fields` as well, and record the event. The caller
    holds the ticket row lock and has already set the other fields."""
    source = ticket.status
    if to not in TICKET_TRANSITIONS[source]:
        raise HallStateError(
            _("A ticket that is %(source)s cannot become %(target)s.")
            % {"source": TS(source).label, "target": TS(to).label},
            code="ticket_closed",
        )
    ticket.status = to
    ticket.save(update_fields=["status", *fields])
    audit_event_record(
        event_type=TICKET_TRANSITIONS[source][to],
        actor=actor,
        obj=ticket,
        data={"number": ticket.display_number, **(data or {})},
    )
    return ticket


def window_transition(
    *, window: Window, to: str, actor, fields: tuple[str, ...] = (), data: dict | None = None
) -> Window:
    """Move `window` to `to` (stamping the time), saving `fields` as well, and record the
    clerk's event. The caller holds the window row lock."""
    source = window.state
    if to not in WINDOW_TRANSITIONS[source]:
        raise HallStateError(
            _("A window that is %(source)s cannot become %(target)s.")
            % {"source": WS(source).label, "target": WS(to).label},
            code="serving" if source == WS.SERVING else "window_state",
        )
    window.state = to
    window.state_since = timezone.now()
    window.save(update_fields=["state", "state_since", *fields])
    event_type = WINDOW_TRANSITIONS[source][to]
    if event_type is not None:
        audit_event_record(event_type=event_type, actor=actor, obj=window, data=data)
    return window
