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
