from audit.models import AuditEvent


def audit_log_page(*, event_type: str = "", before: int | None = None, size: int = 100):
    """One page of the audit log, newest first (keyset paging by the event's key, so
    events still waiting for the sequencer are listed too, as "waiting")."""

    events = AuditEvent.objects.select_related("actor__staff_profile").order_by("-id")
    if event_type:
        events = events.filter(event_type__startswith=event_type)
    if before:
        events = events.filter(id__lt=before)
    return list(events[:size])
