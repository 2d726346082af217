from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    """Upward reporting: every rating and every case's acceptance and completion sent to
    the provincial 好差评 and case platforms, with retries, a dead-letter list and a
    daily reconciliation. Above the apps whose records it reports; none of them imports
    it: its receivers hear their saves."""

    name = "reporting"
    verbose_name = _("Upward reporting")

    def ready(self):
        from reporting import (
            events,  # noqa: F401 - declares its audit event kinds
            receivers,  # noqa: F401 - records a delivery for each reported business event
            tasks,  # noqa: F401 - registered in every process, so the outbox relay can run them
        )
