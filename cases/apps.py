from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    """The case's chain advance and the reviewers' and approvers' inbox: above the hall
    (counters) and the draws (risk), which it joins."""

    name = "cases"
    verbose_name = _("Cases")

    def ready(self):
        from cases import events  # noqa: F401 - declares its audit event kinds
