from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskConfig(AppConfig):
    name = "risk"
    verbose_name = _("Risk grading and random draws")

    def ready(self):
        # Register the tasks in every process, so the outbox relay can run them inline.
        from risk import (
            events,  # noqa: F401 - declares its audit event kinds
            receivers,  # noqa: F401 - records staff's changes to who can be drawn
            tasks,  # noqa: F401
        )
