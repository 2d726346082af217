from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit")

    def ready(self):
        from audit import (  # noqa: F401 - registers receivers and Celery tasks
            events,  # noqa: F401 - declares its audit event kinds
            signals,
            tasks,
        )
