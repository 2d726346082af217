"""Audit event kinds recorded by the sites app."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "agency.created": _("Agency created"),
    "agency.changed": _("Agency changed"),
    "site.created": _("Site created"),
    "site.changed": _("Site changed"),
}
event_kinds_declare(KINDS)
