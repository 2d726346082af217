from catalog.models import InsuranceCategory, ServiceItem


def counter_items():
    """Items a clerk can accept at the counter (including back-office ones, which are
    accepted and forwarded)."""
    return ServiceItem.objects.filter(enabled=True).select_related("category").order_by("code")


def categories_with_items():
    return InsuranceCategory.objects.prefetch_related("items").order_by("order", "code")


def item_with_materials(item_id: int) -> ServiceItem:
    return (
        ServiceItem.objects.prefetch_related("materials")
        .select_related("category")
        .get(pk=item_id, enabled=True)
    )
