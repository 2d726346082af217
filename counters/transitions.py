"""The ticket and window state machines: the only place a ticket's status or a window's
state changes."""

from django.utils import timezone
from django.utils.translation import gettext as _

from audit.states import StateTable, state_move
from counters.models import Ticket, Window
from langzhong_si.errors import StateConflict

TS = Ticket.Status
WS = Window.State

# Allowed moves and the audit event each records. A ticket is issued waiting.
TICKET_TRANSITIONS: StateTable = {
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
WINDOW_TRANSITIONS: StateTable = {
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
    # Finishing (or a no-show, or the citizen cancelling) returns the window to ready,
    # recorded by the ticket's event; "finish, then pause" records the pause and reason.
    WS.SERVING: {WS.READY: None, WS.PAUSED: "window.paused"},
}


class HallStateError(StateConflict):
    """A ticket or window move the table does not allow (the API answers 409)."""


def _ticket_refusal(source: str, target: str) -> HallStateError:
    return HallStateError(
        _("A ticket that is %(source)s cannot become %(target)s.")
        % {"source": TS(source).label, "target": TS(target).label},
        code="ticket_closed",
    )


def _window_refusal(source: str, target: str) -> HallStateError:
    return HallStateError(
        _("A window that is %(source)s cannot become %(target)s.")
        % {"source": WS(source).label, "target": WS(target).label},
        code="serving" if source == WS.SERVING else "window_state",
    )


def ticket_transition(
    *, ticket: Ticket, to: str, actor, fields: tuple[str, ...] = (), data: dict | None = None
) -> Ticket:
    """Move `ticket` to `to`, saving `fields` as well, and record the event. The caller
    holds the ticket row lock and has already set the other fields. A ticket is served
    only at a window of its own site: tickets and the random clerk stay within a site."""
    if to == TS.SERVING and ticket.window is not None and ticket.window.site_id != ticket.site_id:
        raise HallStateError(
            _("Ticket %(number)s was issued at another site: it cannot be called to window "
              "%(window)s.") % {"number": ticket.display_number, "window": ticket.window.number},
            code="other_site",
        )  # fmt: skip
    state_move(
        obj=ticket, field="status", table=TICKET_TRANSITIONS, to=to, actor=actor,
        refusal=_ticket_refusal, fields=fields,
        data={"number": ticket.display_number, **(data or {})},
    )  # fmt: skip
    return ticket


def window_transition(
    *, window: Window, to: str, actor, fields: tuple[str, ...] = (), data: dict | None = None
) -> Window:
    """Move `window` to `to` (stamping the time), saving `fields` as well, and record the
    clerk's event. The caller holds the window row lock."""
    window.state_since = timezone.now()
    state_move(
        obj=window, field="state", table=WINDOW_TRANSITIONS, to=to, actor=actor,
        refusal=_window_refusal, fields=("state_since", *fields), data=data,
    )  # fmt: skip
    return window
