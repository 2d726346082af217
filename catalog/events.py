"""Audit event kinds recorded by the catalog app."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "catalog.imported": _("Catalog imported"),
}
event_kinds_declare(KINDS)
