from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SitesAdminConfig(AppConfig):
    """The admin of agencies and sites, scoped by staff.scope (so above staff)."""

    name = "sites_admin"
    verbose_name = _("Agencies and sites")
