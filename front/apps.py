from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FrontConfig(AppConfig):
    """The hall's front: the screens and HTTP endpoints people use on the hall floor (the
    kiosk, the call display, the citizen's ticket, the clerk's workbench and counter keys,
    the window lead's queue). No models and no rules of its own: every action calls
    counters' services, every read its selectors."""

    name = "front"
    verbose_name = _("Hall front")
