"""Audit event kinds recorded by the chain advance."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "review_task.decision_refused": _("Decision refused (not the drawn person)"),
}
event_kinds_declare(KINDS)
