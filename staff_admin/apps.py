from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StaffAdminConfig(AppConfig):
    """The admin of accounts, staff profiles, role groups and API keys, scoped by
    staff.scope (so above staff); its models stay staff's."""

    name = "staff_admin"
    verbose_name = _("Staff administration")
