"""The audit chain's lag: events appended but not yet chained.

Today every event is hashed as it is appended, so the lag is 0. When a sequencer chains
events asynchronously, an event waits with an empty `hash` until it is chained; this is
the one place /readyz, the metrics and the live hall's banner count them.
"""

from django.db.models import Q

from audit.models import AuditEvent


def audit_events_unchained() -> int:
    """How many audit events have no hash yet."""
    field = AuditEvent._meta.get_field("hash")
    if not field.null:
        # Hashed on append: nothing can be waiting (and no query scans the whole log).
        return 0
    return AuditEvent.objects.filter(Q(hash__isnull=True) | Q(hash="")).count()
