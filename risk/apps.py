from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskConfig(AppConfig):
    name = "risk"
    verbose_name = _("Risk grading and random draws")

    def ready(self):
        from celery.signals import task_prerun

        # Register the tasks in every process, so the outbox relay can run them inline.
        from risk import (
            events,  # noqa: F401 - declares its audit event kinds
            receivers,  # noqa: F401 - records staff's changes to who can be drawn
            tasks,  # noqa: F401
        )

        # Before any task that may draw, as the middleware does for requests.
        task_prerun.connect(_seeds_before_task, weak=False, dispatch_uid="risk-daily-seeds")


def _seeds_before_task(**kwargs) -> None:
    from risk.services import daily_seeds_ensure

    daily_seeds_ensure()
