from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InspectionConfig(AppConfig):
    """稽核: continuous audit rules, sampling, the auditors' queue, the e-archive and the
    audit administrator's log screen (the log itself is the audit app's)."""

    name = "inspection"
    verbose_name = _("Inspection")

    def ready(self):
        from inspection import events, tasks  # noqa: F401 - event kinds and Celery tasks
