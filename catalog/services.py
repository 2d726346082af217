from dataclasses import dataclass, field

from django.db import transaction

from audit.services import audit_event_record
from catalog.models import InsuranceCategory, Material, ServiceItem

_ITEM_FIELDS = [
    "name",
    "at_counter",
    "risk_level",
    "handling_type",
    "statutory_days",
    "promised_days",
    "visits_required",
    "fee",
    "legal_basis",
    "conditions",
    "steps",
    "result",
    "retention",
    "source",
]
_MATERIAL_FIELDS = ["form", "copies", "required", "is_key", "notes"]


@dataclass
class CatalogReport:
    errors: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0


def catalog_validate(data: dict) -> list[str]:
    """Every problem in the catalog data, one line each; empty when it can be imported."""
    errors: list[str] = []
    category_codes = {row.get("code") for row in data.get("categories", [])}
    seen: set[str] = set()
    for number, row in enumerate(data.get("items", []), start=1):
        where = f"item {number} ({row.get('code', '?')})"
        code = row.get("code")
        if not code:
            errors.append(f"{where}: missing code")
        elif code in seen:
            errors.append(f"{where}: duplicate code")
        seen.add(code)
        if row.get("category") not in category_codes:
            errors.append(f"{where}: unknown category {row.get('category')!r}")
        if row.get("risk_level") not in (0, 1, 2, 3):
            errors.append(f"{where}: risk level must be 0-3, got {row.get('risk_level')!r}")
        for limit in ("statutory_days", "promised_days"):
            value = row.get(limit)
            if not isinstance(value, int) or value < 0:
                errors.append(f"{where}: {limit} must be a whole number of days >= 0")
        materials = row.get("materials", [])
        if row.get("at_counter") and not materials:
            errors.append(f"{where}: a counter item needs at least one material")
        for material in materials:
            if material.get("is_key") and not material.get("required"):
                errors.append(f"{where}: key material {material.get('name')!r} marked optional")
    return errors


def catalog_import(*, data: dict, actor=None) -> CatalogReport:
    """Import categories and items all or nothing, updating existing ones by code."""
    report = CatalogReport(errors=catalog_validate(data))
    if report.errors:
        return report
    with transaction.atomic():
        categories = {}
        for row in data.get("categories", []):
            categories[row["code"]], _created = InsuranceCategory.objects.update_or_create(
                code=row["code"], defaults={"name": row["name"], "order": row.get("order", 0)}
            )
        for row in data["items"]:
            defaults = {name: row[name] for name in _ITEM_FIELDS if name in row}
            defaults["category"] = categories[row["category"]]
            item, created = ServiceItem.objects.update_or_create(
                code=row["code"], defaults=defaults
            )
            report.created += created
            report.updated += not created
            wanted = {m["name"] for m in row.get("materials", [])}
            item.materials.exclude(name__in=wanted).delete()
            for order, material in enumerate(row.get("materials", [])):
                Material.objects.update_or_create(
                    item=item,
                    name=material["name"],
                    defaults={
                        **{name: material[name] for name in _MATERIAL_FIELDS if name in material},
                        "order": order,
                    },
                )
        audit_event_record(
            event_type="catalog.imported",
            actor=actor,
            data={"created": report.created, "updated": report.updated},
        )
    return report
