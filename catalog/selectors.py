from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from catalog.models import InsuranceCategory, ItemSwitchOff, Material, ServiceItem
from catalog.search import normalise_query
from catalog.spreadsheets import CatalogSheets
from langzhong_si.compiled import CompiledRead
from sites.defaults import home_agency_id
from sites.models import Agency, Site

_YES_NO = {True: "yes", False: "no"}


def items_offered(agency_id: int | None = None, *, site_id: int | None = None) -> QuerySet:
    """The items the agency offers (`site_id`: the site's agency; neither: the home
    agency): enabled in the catalog and not switched off by it."""
    if agency_id is not None:
        agency = {"agency_id": agency_id}
    elif site_id is not None:
        agency = {"agency__sites": site_id}  # in the same query: a kiosk pays nothing
    else:
        agency = {"agency_id": home_agency_id()}
    switched_off = ItemSwitchOff.objects.filter(**agency, item=OuterRef("pk"))
    return ServiceItem.objects.filter(enabled=True).exclude(Exists(switched_off))


# An item by its key if the catalog has it enabled; compiled once (every ticket reads it).
_ITEM_ENABLED = CompiledRead(lambda item_id: ServiceItem.objects.filter(pk=item_id, enabled=True))


def item_enabled(item_id: int) -> ServiceItem:
    """The enabled item `item_id`; Http404 for an unknown or disabled one (a kiosk's
    forged or stale choice). Whether its agency offers it is item_offered_check's."""
    item = _ITEM_ENABLED.first(item_id)
    if item is None:
        raise Http404  # the API answers its one not-found shape
    return item


def public_agency(code: str | None) -> Agency:
    """The agency a public page (guides, catalog API, monthly results) shows: the one its
    `?agency=` code names, else the deployment's home agency. An unknown or inactive
    code is a 404, never another agency's figures."""
    if not code:
        # The home agency is the first agency with a hall (sites.defaults.home_site_id),
        # read in one query; made by home_agency_id on a database without one.
        home = Agency.objects.filter(sites__kind=Site.Kind.HALL).order_by("pk").first()
        return home or Agency.objects.get(pk=home_agency_id())
    agency = Agency.objects.filter(code=code[:12], active=True).first()
    if agency is None:
        raise Http404
    return agency


def public_agencies() -> list[Agency]:
    """The agencies a public page can be shown for (its chooser, when there are several)."""
    return list(Agency.objects.filter(active=True).order_by("code"))


def item_switch_offs(*, agency_id, item):
    """The agency's switch-off of `item` (an id, or an OuterRef): `.exists()` it, or wrap
    it in Exists to read it with another row."""
    return ItemSwitchOff.objects.filter(agency_id=agency_id, item=item)


# The agency's switch-off of an item, if any; compiled once (every intake reads it).
_SWITCH_OFF = CompiledRead(
    lambda agency_id, item_id: item_switch_offs(agency_id=agency_id, item=item_id).only("pk")
)


def item_offered_check(
    *, agency_id: int, item: ServiceItem | None, switched_off: bool | None = None
) -> None:
    """Refuse (ValidationError) an intake of `item` (read by the caller) at the agency
    when the catalog has no such enabled item or the agency switched it off
    (`switched_off`, when the caller read it with another row; else one query)."""
    if switched_off is None and item is not None:
        switched_off = _SWITCH_OFF.first(agency_id, item.pk) is not None
    if item is None or not item.enabled or switched_off:
        raise ValidationError(_("This agency does not handle this item."), code="not_offered")


def counter_items(agency_id: int | None = None, *, site_id: int | None = None):
    """Items a clerk can accept at the counter (back-office ones are accepted and forwarded)."""
    return items_offered(agency_id, site_id=site_id).select_related("category").order_by("code")


def categories_with_items(agency_id: int | None = None, *, site_id: int | None = None):
    """The categories with the agency's offered items (the site's agency, or the home one)."""
    enabled = items_offered(agency_id, site_id=site_id).order_by("code")
    return InsuranceCategory.objects.prefetch_related(
        Prefetch("items", queryset=enabled, to_attr="enabled_items")
    ).order_by("order", "code")


def catalog_search(
    query: str, *, limit: int = 50, agency_id: int | None = None, site_id: int | None = None
):
    """Offered items whose name, code or pinyin (initials) contain the query."""
    needle = normalise_query(query)
    if not needle:
        return ServiceItem.objects.none()
    return (
        items_offered(agency_id, site_id=site_id)
        .filter(search_text__icontains=needle)
        .select_related("category")
        .order_by("code")[:limit]
    )


def item_guide(code: str, *, agency_id: int | None = None) -> ServiceItem:
    return (
        items_offered(agency_id)
        .select_related("category")
        .prefetch_related(Prefetch("materials", queryset=Material.objects.order_by("order", "pk")))
        .get(code=code)
    )


def item_switch_board(agency_id: int) -> list[dict]:
    """Every enabled item with whether the agency switched it off (and why), for the
    team lead's screen."""
    switches = {
        switch.item_id: switch
        for switch in ItemSwitchOff.objects.filter(agency_id=agency_id).select_related(
            "switched_by__staff_profile"
        )
    }
    items = ServiceItem.objects.filter(enabled=True).select_related("category")
    return [
        {"item": item, "switch": switches.get(item.pk)}
        for item in items.order_by("category__order", "code")
    ]


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
