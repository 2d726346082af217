from audit.models import Finding


def finding_queue():
    """The auditors' queue: open findings first (highest severity, newest), then done ones."""
    return Finding.objects.select_related("case", "case__item", "subject__staff_profile").order_by(
        "result", "-created_at"
    )[:300]


def finding_detail(finding_id: int) -> Finding:
    return Finding.objects.select_related("case", "case__item", "subject__staff_profile").get(
        pk=finding_id
    )


def audit_log_page(*, event_type: str = "", before: int | None = None, size: int = 100):
    """One page of the audit log, newest first (keyset paging by position)."""
    from audit.models import AuditEvent

    events = AuditEvent.objects.select_related("actor__staff_profile").order_by("-position")
    if event_type:
        events = events.filter(event_type__startswith=event_type)
    if before:
        events = events.filter(position__lt=before)
    return list(events[:size])
