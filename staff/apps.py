from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StaffConfig(AppConfig):
    name = "staff"
    verbose_name = _("Staff")

    def ready(self):
        from staff import (
            events,  # noqa: F401 - declares its audit event kinds
            signals,  # noqa: F401
        )
