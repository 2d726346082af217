"""Bulk writes (QuerySet.update, bulk_update, delete) skip model save() and so skip the
row history: on audited models they are refused unless a service opens
`bulk_writes_allowed()` for a write it records itself."""

import contextvars
from contextlib import contextmanager

from django.db import models

_allowed = contextvars.ContextVar("audit_bulk_writes_allowed", default=False)


class BulkWriteRefused(RuntimeError):
    pass


@contextmanager
def bulk_writes_allowed():
    token = _allowed.set(True)
    try:
        yield
    finally:
        _allowed.reset(token)


def _guard(model, operation: str) -> None:
    if not _allowed.get():
        raise BulkWriteRefused(
            f"{operation} on {model.__name__} would bypass its row history: use a service"
        )


class AuditedQuerySet(models.QuerySet):
    def update(self, **kwargs):
        _guard(self.model, "QuerySet.update")
        return super().update(**kwargs)

    def bulk_update(self, objs, fields, batch_size=None):
        _guard(self.model, "QuerySet.bulk_update")
        return super().bulk_update(objs, fields, batch_size=batch_size)

    def delete(self):
        _guard(self.model, "QuerySet.delete")
        return super().delete()


AuditedManager = models.Manager.from_queryset(AuditedQuerySet)
