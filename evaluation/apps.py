from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvaluationConfig(AppConfig):
    """考评: the team lead's live hall view, period reports and staff evaluation."""

    name = "evaluation"
    verbose_name = _("Evaluation and reports")

    def ready(self):
        from evaluation import events  # noqa: F401 - declares its audit event kinds
