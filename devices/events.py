"""Audit event kinds recorded for the hall's registered screens."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "device.link_issued": _("Device registration link issued"),
    "device.registered": _("Hall device registered"),
    "device.registration_refused": _("Device registration refused"),
}
event_kinds_declare(KINDS)
