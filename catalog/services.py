import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from audit.bulk import bulk_writes_allowed
from audit.services import audit_event_record, audited_record_save
from catalog.models import InsuranceCategory, ItemSwitchOff, Material, ServiceItem
from catalog.search import search_text_for
from catalog.spreadsheets import OFFICIAL_CODE_COLUMNS, CatalogSheets
from langzhong_si.text import REASON_MAX_LENGTH, text_clean
from sites.models import Agency
from sites.selectors import deployment_keeper_check

_YES = {"yes", "y", "true", "1", "是"}
_NO = {"no", "n", "false", "0", "否", ""}
_TEXT_FIELDS = ["name", "parent_name", "fee", "legal_basis", "conditions", "steps", "result",
                "estimated_fields"]  # fmt: skip


@dataclass
class CatalogReport:
    errors: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class _Parsed:
    categories: dict[str, dict] = field(default_factory=dict)
    items: list[dict] = field(default_factory=list)
    materials: dict[str, list[dict]] = field(default_factory=dict)


class _RowErrors:
    def __init__(self, sheet: str, number: int, code: str):
        self.where = _("%(sheet)s row %(row)d (%(code)s)") % {
            "sheet": sheet,
            "row": number,
            "code": code or "?",
        }
        self.errors: list[str] = []

    def add(self, message: str) -> None:
        self.errors.append(f"{self.where}: {message}")


def _flag(value: str, row: _RowErrors, column: str) -> bool:
    if value.lower() in _YES:
        return True
    if value.lower() in _NO:
        return False
    row.add(_("%(column)s must be yes or no, got %(value)r") % {"column": column, "value": value})
    return False


def _whole(value: str, row: _RowErrors, column: str, *, minimum: int = 0) -> int:
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < minimum:
        row.add(
            _("%(column)s must be a whole number of at least %(minimum)d, got %(value)r")
            % {"column": column, "minimum": minimum, "value": value}
        )
        return minimum
    return number


def _choice(value: str, choices, row: _RowErrors, column: str) -> str:
    allowed = [choice.value for choice in choices]
    if value not in allowed:
        row.add(
            _("%(column)s must be one of %(allowed)s, got %(value)r")
            % {"column": column, "allowed": ", ".join(allowed), "value": value}
        )
    return value


# The province's codes: capital letters and digits (a unified social credit code and
# digits, in the published lists), at most 40 characters.
_OFFICIAL_CODE = re.compile(r"[0-9A-Z]{1,40}")


def _official_codes(raw: dict, row: _RowErrors, seen: set[str]) -> dict:
    """The row's province codes, if the sheet has their columns (else nothing changes)."""
    codes = {column: raw[column] for column in OFFICIAL_CODE_COLUMNS if column in raw}
    for column, value in codes.items():
        if value and not _OFFICIAL_CODE.fullmatch(value):
            row.add(
                _("%(column)s must be capital letters and digits (at most 40), got %(value)r")
                % {"column": column, "value": value}
            )
    business = codes.get("business_item_code", "")
    if business and business in seen:
        row.add(_("the business item code appears more than once"))
    seen.add(business)
    if business and not codes.get("implementation_code"):
        row.add(_("a business item code needs its implementation code"))
    return codes


def _parse(sheets: CatalogSheets) -> tuple[_Parsed, list[str]]:
    parsed = _Parsed()
    errors: list[str] = []
    known_categories = {c.code: c for c in InsuranceCategory.objects.all()}
    codes: set[str] = set()
    business_codes: set[str] = set()
    for number, raw in enumerate(sheets.items, start=2):
        row = _RowErrors(_("items"), number, raw.get("code", ""))
        code = raw["code"]
        if not code:
            row.add(_("the code is missing"))
        elif code in codes:
            row.add(_("the code appears more than once"))
        codes.add(code)
        if not raw["name"]:
            row.add(_("the name is missing"))
        category = raw["category_code"]
        if raw["category_name"]:
            parsed.categories.setdefault(
                category,
                {"name": raw["category_name"], "order": _whole(raw["category_order"] or "0", row,
                                                               "category_order")},
            )  # fmt: skip
        elif category not in known_categories:
            row.add(_("unknown category %(category)r") % {"category": category})
        item = {name: raw[name] for name in _TEXT_FIELDS}
        item.update(
            code=code,
            category=category,
            at_counter=_flag(raw["at_counter"], row, "at_counter"),
            enabled=_flag(raw["enabled"] or "yes", row, "enabled"),
            handling_type=_choice(raw["handling_type"], ServiceItem.HandlingType, row,
                                  "handling_type"),
            retention=_choice(raw["retention"], ServiceItem.Retention, row, "retention"),
            source=_choice(raw["source"], ServiceItem.Source, row, "source"),
            statutory_days=_whole(raw["statutory_days"], row, "statutory_days"),
            promised_days=_whole(raw["promised_days"], row, "promised_days"),
            visits_required=_whole(raw["visits_required"] or "1", row, "visits_required"),
        )  # fmt: skip
        item.update(_official_codes(raw, row, business_codes))
        if raw["risk_level"] not in {"0", "1", "2", "3"}:
            row.add(
                _("risk level must be 0, 1, 2 or 3, got %(value)r") % {"value": raw["risk_level"]}
            )
        item["risk_level"] = (
            int(raw["risk_level"]) if raw["risk_level"] in {"0", "1", "2", "3"} else 0
        )
        if item["promised_days"] > item["statutory_days"]:
            row.add(_("the promised time limit is longer than the statutory one"))
        if item["at_counter"]:
            for column in ("conditions", "legal_basis"):
                if not item[column]:
                    row.add(_("a counter item's guide needs %(column)s") % {"column": column})
        errors.extend(row.errors)
        parsed.items.append(item)
        parsed.materials[code] = []
    for number, raw in enumerate(sheets.materials, start=2):
        row = _RowErrors(_("materials"), number, raw.get("item_code", ""))
        if raw["item_code"] not in parsed.materials:
            row.add(_("no item has the code %(code)r") % {"code": raw["item_code"]})
            errors.extend(row.errors)
            continue
        material = {
            "name": raw["name"],
            "form": _choice(raw["form"], Material.Form, row, "form"),
            "copies": _whole(raw["copies"] or "1", row, "copies", minimum=1),
            "required": _flag(raw["required"], row, "required"),
            "is_key": _flag(raw["is_key"], row, "is_key"),
            "notes": raw["notes"],
        }
        if not material["name"]:
            row.add(_("the material's name is missing"))
        if material["is_key"] and not material["required"]:
            row.add(_("a key material cannot be optional"))
        siblings = parsed.materials[raw["item_code"]]
        if any(other["name"] == material["name"] for other in siblings):
            row.add(_("the item lists this material twice"))
        siblings.append(material)
        errors.extend(row.errors)
    taken = ServiceItem.objects.exclude(code__in=codes).filter(
        business_item_code__in=business_codes - {""}
    )
    for other_code, business in taken.values_list("code", "business_item_code"):
        errors.append(
            _("the business item code %(business)s belongs to item %(code)s already")
            % {"business": business, "code": other_code}
        )
    for number, item in enumerate(parsed.items, start=2):
        if item["at_counter"] and item["code"] and not parsed.materials.get(item["code"]):
            errors.append(
                _("items row %(row)d (%(code)s): a counter item needs at least one material")
                % {"row": number, "code": item["code"]}
            )
    return parsed, errors


def _apply(instance, values: dict) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed = True
    return changed


def catalog_import(*, sheets: CatalogSheets, reason: str, actor=None) -> CatalogReport:
    """Import all or nothing, updating by code. Only rows whose values change are saved,
    so importing an unchanged export writes nothing and adds no history."""
    parsed, errors = _parse(sheets)
    report = CatalogReport(errors=errors)
    if errors:
        return report
    with transaction.atomic(durable=True):
        categories = {c.code: c for c in InsuranceCategory.objects.all()}
        for code, values in parsed.categories.items():
            category = categories.get(code) or InsuranceCategory(code=code)
            if _apply(category, values) or category.pk is None:
                category._change_reason = reason
                category.save()
            categories[code] = category
        existing = {item.code: item for item in ServiceItem.objects.prefetch_related("materials")}
        for values in parsed.items:
            code = values["code"]
            item = existing.get(code) or ServiceItem(code=code)
            created = item.pk is None
            fields = {k: v for k, v in values.items() if k not in {"code", "category"}}
            fields["category_id"] = categories[values["category"]].pk
            fields["search_text"] = search_text_for(code=code, name=values["name"])
            changed = _apply(item, fields)
            if changed or created:
                item._change_reason = reason
                item.save()
            materials_changed = _materials_sync(item, parsed.materials[code], reason, created)
            if created:
                report.created += 1
            elif changed or materials_changed:
                report.updated += 1
            else:
                report.unchanged += 1
        if report.created or report.updated:
            audit_event_record(
                event_type="catalog.imported",
                actor=actor,
                data={"created": report.created, "updated": report.updated, "reason": reason},
            )
    return report


def _materials_sync(item: ServiceItem, wanted: list[dict], reason: str, created: bool) -> bool:
    current = {} if created else {m.name: m for m in item.materials.all()}
    changed = False
    for order, values in enumerate(wanted):
        material = current.pop(values["name"], None) or Material(item=item)
        if _apply(material, {**values, "order": order}) or material.pk is None:
            material._change_reason = reason
            material.save()
            changed = True
    for stale in current.values():
        stale._change_reason = reason
        stale.delete()
        changed = True
    return changed


def service_item_reindex(*, item: ServiceItem) -> None:
    """Refresh the search text after an edit outside the import (the admin)."""
    text = search_text_for(code=item.code, name=item.name)
    if item.search_text != text:
        # search_text is derived and kept out of the row history on purpose.
        with bulk_writes_allowed():
            ServiceItem.objects.filter(pk=item.pk).update(search_text=text)
        item.search_text = text


def catalog_record_edit(*, instance, reason: str, actor) -> None:
    """Save a catalog record edited in the admin; a guide's search text follows its name.
    The catalog is the deployment's: kept by the hosting agency (agencies switch items
    off for themselves instead)."""
    deployment_keeper_check(actor)
    audited_record_save(instance=instance, reason=reason, actor=actor)
    if isinstance(instance, ServiceItem):
        service_item_reindex(item=instance)


# --- An agency's choice of items (items it does not handle are switched off) -----------
#
# catalog stands beside staff in the layer order and cannot read roles: the caller (the
# team lead's screen and API, evaluation.services.agency_item_switch) checks that the
# actor may act for the agency; these functions keep the catalog's own rules.


def _switch_reason(reason: str) -> str:
    reason = text_clean(reason, field=_("Reason"), max_length=REASON_MAX_LENGTH)
    if not reason:
        raise ValidationError(_("Say why the item is switched."), code="reason")
    return reason


def item_switch_off(*, agency_id: int, item_id: int, reason: str, actor) -> ItemSwitchOff:
    """Switch an item off for one agency: its guide, its catalog entry, its kiosk button
    and its intake disappear there; other agencies keep it. Refused if already off."""
    reason = _switch_reason(reason)
    with transaction.atomic(durable=True):
        agency = Agency.objects.get(pk=agency_id)
        item = ServiceItem.objects.get(pk=item_id)
        if ItemSwitchOff.objects.select_for_update().filter(agency=agency, item=item).exists():
            raise ValidationError(_("This item is already switched off."), code="already_off")
        switch = ItemSwitchOff(agency=agency, item=item, reason=reason, switched_by=actor)
        switch._change_reason = reason
        switch.save()
        audit_event_record(
            event_type="catalog.item_switched_off",
            actor=actor,
            obj=item,
            data={"agency": agency.code, "item": item.code, "reason": reason},
        )
    return switch


def item_switch_on(*, agency_id: int, item_id: int, reason: str, actor) -> None:
    """Offer a switched-off item again at the agency. Refused if it is not off."""
    reason = _switch_reason(reason)
    with transaction.atomic(durable=True):
        switch = (
            ItemSwitchOff.objects.select_for_update()
            .select_related("agency", "item")
            .filter(agency_id=agency_id, item_id=item_id)
            .first()
        )
        if switch is None:
            raise ValidationError(_("This item is not switched off."), code="not_off")
        audit_event_record(
            event_type="catalog.item_switched_on",
            actor=actor,
            obj=switch.item,
            data={"agency": switch.agency.code, "item": switch.item.code, "reason": reason},
        )
        switch._change_reason = reason
        switch.delete()
