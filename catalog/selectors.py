from django.db.models import Prefetch

from catalog.models import InsuranceCategory, Material, ServiceItem
from catalog.search import normalise_query
from catalog.spreadsheets import CatalogSheets

_YES_NO = {True: "yes", False: "no"}


def counter_items():
    """Items a clerk can accept at the counter (back-office ones are accepted and forwarded)."""
    return ServiceItem.objects.filter(enabled=True).select_related("category").order_by("code")


def categories_with_items():
    enabled = ServiceItem.objects.filter(enabled=True).order_by("code")
    return InsuranceCategory.objects.prefetch_related(
        Prefetch("items", queryset=enabled, to_attr="enabled_items")
    ).order_by("order", "code")


def catalog_search(query: str, *, limit: int = 50):
    """Enabled items whose name, code or pinyin (initials) contain the query."""
    needle = normalise_query(query)
    if not needle:
        return ServiceItem.objects.none()
    return (
        ServiceItem.objects.filter(enabled=True, search_text__icontains=needle)
        .select_related("category")
        .order_by("code")[:limit]
    )


def item_guide(code: str) -> ServiceItem:
    return (
        ServiceItem.objects.select_related("category")
        .prefetch_related(Prefetch("materials", queryset=Material.objects.order_by("order", "pk")))
        .get(code=code, enabled=True)
    )


def catalog_export_sheets() -> CatalogSheets:
    sheets = CatalogSheets()
    items = ServiceItem.objects.select_related("category").prefetch_related(
        Prefetch("materials", queryset=Material.objects.order_by("order", "pk"))
    )
    for item in items.order_by("category__order", "code"):
        sheets.items.append(
            {
                "code": item.code,
                "name": item.name,
                "category_code": item.category.code,
                "category_name": item.category.name,
                "category_order": str(item.category.order),
                "parent_name": item.parent_name,
                "at_counter": _YES_NO[item.at_counter],
                "risk_level": str(item.risk_level),
                "handling_type": item.handling_type,
                "statutory_days": str(item.statutory_days),
                "promised_days": str(item.promised_days),
                "visits_required": str(item.visits_required),
                "fee": item.fee,
                "legal_basis": item.legal_basis,
                "conditions": item.conditions,
                "steps": item.steps,
                "result": item.result,
                "retention": item.retention,
                "source": item.source,
                "estimated_fields": item.estimated_fields,
                "enabled": _YES_NO[item.enabled],
                "implementation_code": item.implementation_code,
                "business_item_code": item.business_item_code,
            }
        )
        for material in item.materials.all():
            sheets.materials.append(
                {
                    "item_code": item.code,
                    "name": material.name,
                    "form": material.form,
                    "copies": str(material.copies),
                    "required": _YES_NO[material.required],
                    "is_key": _YES_NO[material.is_key],
                    "notes": material.notes,
                }
            )
    return sheets
