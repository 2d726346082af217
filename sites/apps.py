from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SitesConfig(AppConfig):
    name = "sites"
    label = "sites"
    verbose_name = _("Agencies and sites")

    def ready(self):
        from sites import events  # noqa: F401 - declares its audit event kinds
