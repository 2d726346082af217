"""The province's item codes (实施清单编码, 业务办理项编码) are catalog columns: loaded from
the shipped CSV, checked on import, left alone by a file without them."""

import pytest
from django.core.management import call_command
from django.utils import translation

from catalog.models import ServiceItem
from catalog.services import catalog_import
from tests.catalog.test_catalog import _sheet

pytestmark = pytest.mark.django_db
IMPLEMENTATION = "11511381MB0000000W2000701001000"


def test_the_shipped_catalog_loads_a_business_item_code_for_every_item():
    call_command("load_catalog", stdout=open("/dev/null", "w"))  # noqa: SIM115
    codes = list(ServiceItem.objects.values_list("business_item_code", flat=True))
    assert len(codes) == 201 and "" not in codes and len(set(codes)) == 201
    item = ServiceItem.objects.exclude(parent_name="").first()
    siblings = ServiceItem.objects.filter(category=item.category, parent_name=item.parent_name)
    assert {s.implementation_code for s in siblings} == {item.implementation_code}, "one 主项"


def test_an_import_sets_and_changes_the_codes():
    codes = {"implementation_code": IMPLEMENTATION, "business_item_code": IMPLEMENTATION + "01"}
    catalog_import(sheets=_sheet(item=codes), reason="province list")
    assert ServiceItem.objects.get().business_item_code == IMPLEMENTATION + "01"
    changed = {**codes, "business_item_code": IMPLEMENTATION + "02"}
    report = catalog_import(sheets=_sheet(item=changed), reason="province list")
    assert report.updated == 1
    assert ServiceItem.objects.get().business_item_code == IMPLEMENTATION + "02"


def test_a_file_without_the_code_columns_leaves_the_codes_alone():
    codes = {"implementation_code": IMPLEMENTATION, "business_item_code": IMPLEMENTATION + "01"}
    catalog_import(sheets=_sheet(item=codes), reason="province list")
    report = catalog_import(sheets=_sheet(item={"name": "改名"}), reason="rename")
    assert report.updated == 1
    assert ServiceItem.objects.get().business_item_code == IMPLEMENTATION + "01"


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        ({"implementation_code": "1151 1381"}, "capital letters and digits"),
        ({"implementation_code": "", "business_item_code": "ABC01"}, "needs its implementation"),
        ({"implementation_code": "A" * 41}, "capital letters and digits"),
    ],
    ids=["space", "business without implementation", "too long"],
)
def test_a_bad_code_is_refused_and_nothing_is_imported(codes, message):
    with translation.override("en"):
        report = catalog_import(sheets=_sheet(item=codes), reason="test")
    assert any(message in line for line in report.errors), report.errors
    assert not ServiceItem.objects.exists()


def test_two_items_never_share_a_business_item_code():
    codes = {"implementation_code": IMPLEMENTATION, "business_item_code": IMPLEMENTATION + "01"}
    with translation.override("en"):
        report = catalog_import(
            sheets=_sheet(item=codes, extra_items=[{"code": "X-002"}]), reason="test"
        )
        assert any("appears more than once" in line for line in report.errors)
        catalog_import(sheets=_sheet(item=codes), reason="test")
        other = _sheet(item={**codes, "code": "X-009"}, material={"item_code": "X-009"})
        report = catalog_import(sheets=other, reason="test")
    assert any("belongs to item X-001" in line for line in report.errors), report.errors
    assert ServiceItem.objects.count() == 1
