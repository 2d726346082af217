from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScansConfig(AppConfig):
    """Scans and the ID number, the case file's personal data at rest: uploads vetted,
    stripped of their metadata and stored under their hash; a scan opened only by the
    case's chain and a clerk, the full ID number only for a stated reason, each logged;
    the personal-data key rotated. Below the case file (cases), whose intake and
    corrections store their scans here."""

    name = "scans"
    verbose_name = _("Scans and personal data")

    def ready(self):
        from scans import events  # noqa: F401 - declares its audit event kinds
