"""Audit event kinds recorded by the hall: tickets and windows."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "ticket.issued": _("Ticket issued"),
    "ticket.called": _("Ticket called to a window"),
    "ticket.recalled": _("Ticket called again"),
    "ticket.finished": _("Ticket served"),
    "ticket.no_show": _("Ticket marked no-show"),
    "ticket.cancelled": _("Ticket cancelled"),
    "ticket.requeued": _("No-show put back in the queue"),
    "ticket.priority_confirmed": _("Priority service confirmed"),
    "ticket.retake_flagged": _("Repeated cancel and re-take flagged"),
    "window.signed_on": _("Signed on to a window"),
    "window.signed_off": _("Signed off from a window"),
    "window.ready": _("Window ready"),
    "window.paused": _("Window paused"),
}
event_kinds_declare(KINDS)
