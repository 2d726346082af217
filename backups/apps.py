from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackupsConfig(AppConfig):
    """Dated, checksummed backup bundles and the restore drill that proves one whole
    (`backup`, `restore_drill`); the results are audit events, read by operations'
    metrics and the live hall's banner."""

    name = "backups"
    verbose_name = _("Backups")

    def ready(self):
        from backups import (  # noqa: F401
            events,  # declares its audit event kinds
            tasks,  # registered in every process
        )
