"""Audit event kinds recorded by the inbox (its decisions move the case and its task
through their own apps' transition tables, which declare those kinds)."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "review_task.decision_refused": _("Decision refused (not the drawn person)"),
}
event_kinds_declare(KINDS)
