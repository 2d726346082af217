from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutboxConfig(AppConfig):
    name = "outbox"
    verbose_name = _("Background work outbox")

    def ready(self):
        # Register the tasks in every process, so the outbox relay can run them inline.
        from outbox import tasks  # noqa: F401
