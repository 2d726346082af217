from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    """The case file (intake, promised materials, corrections, resubmission, the counter's
    search, the citizen's progress) and the case state machine: above the hall
    (counters), the draws (risk), which it joins, and the scans it stores."""

    name = "cases"
    verbose_name = _("Cases")

    def ready(self):
        # Register the tasks in every process, so the outbox relay can run them inline.
        from cases import (
            events,  # noqa: F401 - declares its audit event kinds
            tasks,  # noqa: F401
        )
