from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CountersConfig(AppConfig):
    name = "counters"
    verbose_name = _("Counters")

    def ready(self):
        # Register the tasks in every process, so the outbox relay can run them inline.
        from counters import (
            events,  # noqa: F401 - declares its audit event kinds
            receivers,  # noqa: F401 - a window is released when its clerk's session ends
            tasks,  # noqa: F401
        )
