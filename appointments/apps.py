from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = _("Appointments")

    def ready(self):
        # Register the tasks in every process, so the outbox relay can run them inline.
        from appointments import (
            events,  # noqa: F401 - declares its audit event kinds
            tasks,  # noqa: F401
        )
