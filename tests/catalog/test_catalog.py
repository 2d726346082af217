import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from catalog.models import Material, ServiceItem
from catalog.selectors import catalog_export_sheets, catalog_search
from catalog.services import catalog_import
from catalog.spreadsheets import CatalogSheets, catalog_file_read, catalog_file_write
from tests.factories import sign_in

pytestmark = pytest.mark.django_db
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "catalog"


@pytest.fixture
def catalog():
    call_command("load_catalog", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_the_shipped_catalog_has_201_items_121_at_the_counter(catalog):
    assert ServiceItem.objects.count() == 201
    assert ServiceItem.objects.filter(at_counter=True).count() == 121
    assert set(ServiceItem.objects.values_list("risk_level", flat=True)) <= {0, 1, 2, 3}


def test_every_counter_item_has_a_complete_guide(catalog):
    incomplete = [
        item.code
        for item in ServiceItem.objects.filter(at_counter=True).prefetch_related("materials")
        if not (item.conditions and item.legal_basis and item.materials.all())
        or item.promised_days > item.statutory_days
        or item.statutory_days < 1
    ]
    assert incomplete == []


def test_every_estimate_is_marked(catalog):
    for item in ServiceItem.objects.filter(source=ServiceItem.Source.ESTIMATED):
        assert "promised_days" in item.estimated_fields.split(), item.code


def test_loading_twice_updates_by_code_and_never_duplicates(catalog):
    history = ServiceItem.history.count()
    call_command("load_catalog", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert ServiceItem.objects.count() == 201
    assert ServiceItem.history.count() == history, "an unchanged import writes no history"


def test_export_then_import_is_a_no_op(catalog, tmp_path):
    workbook = tmp_path / "catalog.xlsx"
    call_command("export_catalog", str(workbook), stdout=open("/dev/null", "w"))  # noqa: SIM115
    report = catalog_import(sheets=catalog_file_read(workbook), reason="round trip")
    assert (report.errors, report.created, report.updated, report.unchanged) == ([], 0, 0, 201)
    # The CSV export of the loaded fixture is the fixture itself.
    folder = tmp_path / "csv"
    catalog_file_write(folder, catalog_export_sheets())
    for name in ("items.csv", "materials.csv"):
        assert (folder / name).read_bytes() == (FIXTURE / name).read_bytes()


def _sheet(**changes):
    item = {
        "code": "X-001", "name": "测试事项", "category_code": "TY", "category_name": "社会保险通用",
        "category_order": "1", "parent_name": "", "at_counter": "yes", "risk_level": "1",
        "handling_type": "promised", "statutory_days": "15", "promised_days": "5",
        "visits_required": "1", "fee": "不收费", "legal_basis": "社会保险法",
        "conditions": "参保人员",
        "steps": "受理→审核→办结", "result": "短信告知", "retention": "30y", "source": "estimated",
        "estimated_fields": "", "enabled": "yes",
    }  # fmt: skip
    material = {"item_code": "X-001", "name": "居民身份证", "form": "original", "copies": "1",
                "required": "yes", "is_key": "yes", "notes": ""}  # fmt: skip
    item.update(changes.pop("item", {}))
    material.update(changes.pop("material", {}))
    sheets = CatalogSheets(items=[item], materials=[material])
    for extra in changes.pop("extra_items", []):
        sheets.items.append({**item, **extra})
    if changes.pop("no_materials", False):
        sheets.materials = []
    return sheets


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"item": {"category_code": "NOPE", "category_name": ""}}, "unknown category"),
        ({"item": {"risk_level": "5"}}, "risk level must be 0, 1, 2 or 3"),
        ({"extra_items": [{"name": "另一个"}]}, "code appears more than once"),
        ({"no_materials": True}, "counter item needs at least one material"),
        ({"item": {"statutory_days": "-3"}}, "statutory_days must be a whole number"),
        ({"item": {"promised_days": ""}}, "promised_days must be a whole number"),
        ({"material": {"required": "no"}}, "key material cannot be optional"),
        ({"item": {"promised_days": "30"}}, "promised time limit is longer"),
        ({"item": {"conditions": ""}}, "guide needs conditions"),
        ({"material": {"item_code": "X-404"}}, "no item has the code"),
    ],
    ids=["unknown category", "risk level 5", "duplicate code", "counter item without materials",
         "negative limit", "missing limit", "key material optional", "promised > statutory",
         "incomplete guide", "material of an unknown item"],
)  # fmt: skip
def test_bad_input_is_reported_row_by_row_and_imports_nothing(changes, message):
    with translation.override("en"):
        report = catalog_import(sheets=_sheet(**changes), reason="test")
    assert any(message in line for line in report.errors), report.errors
    assert any("row 2" in line or "row 3" in line for line in report.errors)
    assert ServiceItem.objects.count() == 0
    assert Material.objects.count() == 0


def test_a_clean_sheet_imports(tmp_path):
    report = catalog_import(sheets=_sheet(), reason="test")
    assert (report.errors, report.created) == ([], 1)


def test_load_catalog_rejects_a_spreadsheet_with_errors_and_changes_nothing(tmp_path):
    sheets = _sheet(item={"risk_level": "5"})
    catalog_file_write(tmp_path / "bad.xlsx", sheets)
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("load_catalog", str(tmp_path / "bad.xlsx"), stderr=open("/dev/null", "w"))  # noqa: SIM115
    assert ServiceItem.objects.count() == 0


def test_load_catalog_names_a_missing_column(tmp_path):
    shutil.copytree(FIXTURE, tmp_path / "cat")
    items = tmp_path / "cat" / "items.csv"
    items.write_text(items.read_text(encoding="utf-8").replace("risk_level", "risk"), "utf-8")
    with pytest.raises(CommandError, match="risk_level"):
        call_command("load_catalog", str(tmp_path / "cat"))


@pytest.mark.parametrize(
    ("query", "word"),
    [("ylbx", "养老保险"), ("sbk", "社会保障卡"), ("shbzk", "社会保障卡"), ("sybx", "失业保险")],
)
def test_pinyin_initials_find_every_item_of_the_word(catalog, query, word):
    wanted = set(ServiceItem.objects.filter(name__contains=word).values_list("code", flat=True))
    found = {item.code for item in catalog_search(query, limit=500)}
    assert wanted and wanted <= found


@pytest.mark.parametrize("query", ["SYBX-001", "sybx-001", "失业保险金申领", "失业 保险金"])
def test_search_finds_an_item_by_code_or_name(catalog, query):
    assert "SYBX-001" in {item.code for item in catalog_search(query)}


def test_the_guide_list_and_search_pages_use_a_fixed_number_of_queries(
    catalog, client, django_assert_num_queries
):
    # One query more than the items and materials: the page's agency.
    with django_assert_num_queries(3):
        assert client.get("/guides/").status_code == 200
    with django_assert_num_queries(2):
        assert client.get("/guides/search/?q=ylbx").status_code == 200
    # The item's page also gives where the agency's hall is: the hall, and whether it is
    # the home hall (whose blanks the settings fill).
    with django_assert_num_queries(5):
        assert client.get("/guides/SYBX-001/").status_code == 200


def test_the_guide_page_shows_materials_limits_and_a_qr_code(catalog, client):
    page = client.get("/guides/SYBX-001/").content.decode()
    assert "解除或终止劳动关系证明" in page and "guides/SYBX-001/qr.svg" in page
    qr = client.get("/guides/SYBX-001/qr.svg")
    assert qr["Content-Type"] == "image/svg+xml" and b"<svg" in qr.content
    assert client.get("/guides/NOPE-1/").status_code == 404


def test_the_catalog_api_lists_and_details_items_without_login(catalog, client):
    listing = client.get("/api/catalog/items/?q=sbk").json()
    assert listing["count"] >= 14
    guide = client.get("/api/catalog/items/SYBX-001/").json()
    assert guide["risk_level"] == 2 and guide["materials"]
    assert client.get("/api/schema/").status_code == 200


def test_an_admin_edit_needs_a_reason_and_keeps_it_in_history(catalog, client, django_user_model):
    from staff.roles import Role
    from tests.factories import make_staff

    lead = make_staff(Role.TEAM_LEAD)
    lead.is_staff = True
    lead.save()
    from django.contrib.auth.models import Permission

    lead.user_permissions.add(
        *Permission.objects.filter(codename__in=["change_serviceitem", "view_serviceitem"])
    )
    sign_in(client, lead)
    item = ServiceItem.objects.get(code="SYBX-001")
    url = f"/admin/catalog/serviceitem/{item.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update({"promised_days": 8, "category": item.category_id, "materials-TOTAL_FORMS": 0,
                 "materials-INITIAL_FORMS": 0})  # fmt: skip
    response = client.post(url, data)
    assert response.status_code == 200, "refused without a reason"
    item.refresh_from_db()
    assert item.promised_days == 10
    data["change_reason"] = "2018年承诺时限调整"
    assert client.post(url, data).status_code == 302
    item.refresh_from_db()
    assert item.promised_days == 8
    assert item.history.first().history_change_reason == "2018年承诺时限调整"


def test_a_case_keeps_the_guide_it_was_accepted_under(hall, django_capture_on_commit_callbacks):
    from cases import services as case_services
    from counters import services
    from tests.factories import make_id_number

    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    services.ticket_issue(item=hall.item)
    with django_capture_on_commit_callbacks(execute=False):
        case = case_services.case_accept(
            clerk=hall.li_na,
            item_id=hall.item.pk,
            applicant_name="王",
            id_number=make_id_number(),
            received_material_ids={hall.material.pk},
        )
    Material.objects.create(item=hall.item, name="新增材料")
    hall.item.promised_days = 1
    hall.item.save()
    case.refresh_from_db()
    assert [m["name"] for m in case.guide_snapshot["materials"]] == ["居民身份证"]
    assert case.guide_snapshot["promised_days"] == 7
