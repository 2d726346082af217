"""Audit event kinds recorded by appointments."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "appointment.booked": _("Appointment booked"),
    "appointment.cancelled": _("Appointment cancelled"),
    "appointment.checked_in": _("Appointment checked in"),
    "appointment.checked_in_late": _("Appointment checked in late, served as a walk-in"),
    "appointment.no_show": _("Appointment not kept (no-show)"),
    "appointment.capacity_set": _("Appointment capacity set"),
}
event_kinds_declare(KINDS)
