from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    """What the agency's IT staff run the system by: health and readiness, metrics,
    structured logs, archive retention and the two-person destruction decision (backups and
    the restore drill are the backups app's)."""

    name = "operations"
    verbose_name = _("Operations")

    def ready(self):
        from operations import (  # noqa: F401
            events,  # declares its audit event kinds
            signals,  # Celery: request ids into tasks, task log lines, heartbeats
            tasks,  # registered in every process
        )
