"""The audit chain's lag: events recorded but not yet chained by the sequencer
(audit.chain). The one place /readyz, the metrics and the live hall's banner count them."""

from audit.models import AuditEvent


def audit_events_unchained() -> int:
    """How many committed audit events wait for the sequencer (no position yet)."""
    return AuditEvent.objects.filter(position__isnull=True).count()
