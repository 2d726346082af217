from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevicesConfig(AppConfig):
    """The hall's registered screens (kiosks, call displays, rating pads): one-time
    registration links and hashed credentials. What each screen shows is counters' and
    ratings' business."""

    name = "devices"
    verbose_name = _("Hall devices")

    def ready(self):
        from devices import (
            events,  # noqa: F401 - declares its audit event kinds
            signals,  # noqa: F401 - marks a changed device's row copy
        )
