"""The appointment state machine: the only place an appointment's status changes."""

from django.utils.translation import gettext as _

from appointments.models import Appointment
from audit.states import StateTable, state_move
from langzhong_si.errors import StateConflict

AS = Appointment.Status

# Allowed moves and the audit event each records. An appointment is made booked.
APPOINTMENT_TRANSITIONS: StateTable = {
    AS.BOOKED: {
        AS.CANCELLED: "appointment.cancelled",
        AS.CHECKED_IN: "appointment.checked_in",
        AS.CHECKED_IN_LATE: "appointment.checked_in_late",
        AS.NO_SHOW: "appointment.no_show",
    },
    AS.CANCELLED: {},
    AS.CHECKED_IN: {},
    AS.CHECKED_IN_LATE: {},
    AS.NO_SHOW: {},
}


class AppointmentStateError(StateConflict):
    """A move the table does not allow (the booking was cancelled, used or missed)."""


def _refusal(source: str, target: str) -> AppointmentStateError:
    return AppointmentStateError(
        _("An appointment that is %(source)s cannot become %(target)s.")
        % {"source": AS(source).label, "target": AS(target).label},
        code="appointment_closed",
    )


def appointment_transition(
    *, appointment: Appointment, to: str, actor, fields: tuple[str, ...] = (), data=None
) -> Appointment:
    """Move `appointment` to `to`, saving `fields` as well, and record the event. The
    caller holds the row lock."""
    state_move(
        obj=appointment, field="status", table=APPOINTMENT_TRANSITIONS, to=to, actor=actor,
        refusal=_refusal, fields=fields, data={"code": appointment.code, **(data or {})},
    )  # fmt: skip
    return appointment
