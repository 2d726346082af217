from audit.models import AuditEvent


def audit_log_page(*, event_type: str = "", before: int | None = None, size: int = 100):
    """One page of the audit log, newest first (keyset paging by position)."""

    events = AuditEvent.objects.select_related("actor__staff_profile").order_by("-position")
    if event_type:
        events = events.filter(event_type__startswith=event_type)
    if before:
        events = events.filter(position__lt=before)
    return list(events[:size])
