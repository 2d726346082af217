"""Audit event kinds recorded by the catalog app."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "catalog.imported": _("Catalog imported"),
    "catalog.item_switched_off": _("Item switched off for an agency"),
    "catalog.item_switched_on": _("Item switched back on for an agency"),
}
event_kinds_declare(KINDS)
