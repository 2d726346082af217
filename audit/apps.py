from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit")

    def ready(self):
        from audit import (  # noqa: F401 - registers receivers and Celery tasks
            events,  # noqa: F401 - declares its audit event kinds
            signals,
            tasks,
        )

        # The batched writes' receiver: a version recorded inside a batch waits for it.
        from langzhong_si import batch  # noqa: F401

        _history_manager_class_built_once()


def _history_manager_class_built_once() -> None:
    """django-simple-history builds a new manager class (from_queryset, which inspects
    every queryset method) on each `instance.history` access, and every saved row of a
    tracked model makes one: about 4 ms of CPU per level-2 case. The class depends only
    on the manager and queryset classes, so build it once per pair."""
    from simple_history.manager import HistoryDescriptor

    built: dict = {}

    def __get__(self, instance, owner):
        key = (self.manager_class, self.queryset_class)
        manager_class = built.get(key)
        if manager_class is None:
            manager_class = built[key] = self.manager_class.from_queryset(self.queryset_class)
        return manager_class(self.model, instance)

    HistoryDescriptor.__get__ = __get__
