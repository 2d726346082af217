from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SecurityDeskConfig(AppConfig):
    """The security administrator's desk (roles, lockouts, second factors) and the
    sign-in codes they give: the one thing a password someone else set waits for."""

    name = "security_desk"
    verbose_name = _("Security desk")

    def ready(self) -> None:
        from security_desk import events  # noqa: F401 - declares the audit kinds
