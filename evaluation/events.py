"""Audit event kinds recorded by evaluation."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "evaluation.weights_set": _("Evaluation weights set"),
}
event_kinds_declare(KINDS)
