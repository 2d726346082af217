from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    """The case file (intake, documents, promised materials, resubmission, the citizen's
    progress) and the chain advance with the reviewers' and approvers' inbox: above the
    hall (counters) and the draws (risk), which it joins."""

    name = "cases"
    verbose_name = _("Cases")

    def ready(self):
        # Register the tasks in every process, so the outbox relay can run them inline.
        from cases import (
            events,  # noqa: F401 - declares its audit event kinds
            tasks,  # noqa: F401
        )
