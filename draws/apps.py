from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DrawsConfig(AppConfig):
    """The daily seeds and the one draw function behind all three randoms, below the
    pools (risk) and the hall (counters) that draw from them."""

    name = "draws"
    verbose_name = _("Daily seeds and draws")

    def ready(self):
        from celery.signals import task_prerun

        from draws import (
            events,  # noqa: F401 - declares its audit event kinds
            tasks,  # noqa: F401 - registers the tasks in every process
        )

        # Before any task that may draw, as the middleware does for requests.
        task_prerun.connect(_seeds_before_task, weak=False, dispatch_uid="draws-daily-seeds")


def _seeds_before_task(**kwargs) -> None:
    from draws.services import daily_seeds_ensure

    daily_seeds_ensure()
