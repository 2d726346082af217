from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SimulationConfig(AppConfig):
    """The simulated hall: a realistic period driven through the real services, above
    everything it drives (counters, cases, inspection, evaluation's report)."""

    name = "simulation"
    verbose_name = _("Simulated hall")
