"""Reports may read from a replica (REPLICA_DATABASE_URL); everything else, and every
write, uses the primary. A view opts in with `with replica_reads(): ...`."""

import contextvars
from contextlib import contextmanager

from django.conf import settings

_reading_reports = contextvars.ContextVar("reading_reports", default=False)


@contextmanager
def replica_reads():
    token = _reading_reports.set(True)
    try:
        yield
    finally:
        _reading_reports.reset(token)


class ReportReplicaRouter:
    def db_for_read(self, model, **hints):
        if _reading_reports.get() and "replica" in settings.DATABASES:
            return "replica"
        return None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica is a copy of the primary

    def allow_migrate(self, db, app_label, **hints):
        return db == "default"
