from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RatingsConfig(AppConfig):
    """好差评: the citizens' ratings of the hall's services (the window's pad, the ticket
    page) and the team lead's follow-ups of bad ones."""

    name = "ratings"
    verbose_name = _("Satisfaction ratings")

    def ready(self):
        from ratings import events  # noqa: F401 - declares its audit event kinds
