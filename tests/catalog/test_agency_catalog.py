"""Each agency's catalog: an item it does not handle (medical insurance where a separate
agency handles it) is switched off for that agency only, with a reason, never deleted;
its guides, catalog API, kiosk and intake follow. The province's codes show on the guide
and in the API."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from audit.models import AuditEvent
from cases import services as case_services
from catalog import selectors, services
from catalog.models import ItemSwitchOff, ServiceItem
from counters import services as counter_services
from counters.models import Case
from evaluation.services import agency_item_switch
from sites.defaults import home_agency_id
from staff.roles import Role
from tests.factories import (
    ItemFactory,
    MaterialFactory,
    make_agency,
    make_id_number,
    make_site,
    make_staff,
    sign_in,
)

pytestmark = pytest.mark.django_db

MEDICAL = "医保事项由医疗保障局经办"


@pytest.fixture
def medical():
    """A medical-insurance item, which the home agency leaves to the 医保局."""
    item = ItemFactory(
        name="城乡居民医疗保险参保登记",
        implementation_code="11511381MB0000000W2000701001000",
        business_item_code="11511381MB0000000W200070100100001",
    )
    MaterialFactory(item=item, name="居民身份证")
    return item


@pytest.fixture
def other_agency():
    """南部县: a second agency of the deployment, with its own hall."""
    agency = make_agency(code="511321", name="南部县社会保险事业管理局")
    make_site(agency=agency, kind="hall", code="hall", name="南部县社保服务大厅")
    return agency


def _switch_off(item, agency_id=None):
    return services.item_switch_off(
        agency_id=agency_id or home_agency_id(), item_id=item.pk, reason=MEDICAL, actor=None
    )


def test_a_switched_off_item_is_not_offered_by_that_agency(medical):
    _switch_off(medical)
    assert medical not in selectors.items_offered(home_agency_id())


def test_another_agency_still_offers_an_item_one_agency_switched_off(medical, other_agency):
    _switch_off(medical)
    assert medical in selectors.items_offered(other_agency.pk)


def test_switching_off_keeps_the_item_in_the_catalog(medical):
    _switch_off(medical)
    assert ServiceItem.objects.filter(pk=medical.pk, enabled=True).exists()


def test_switching_off_needs_a_reason_and_changes_nothing_without_one(medical):
    with pytest.raises(ValidationError):
        services.item_switch_off(
            agency_id=home_agency_id(), item_id=medical.pk, reason="  ", actor=None
        )
    assert not ItemSwitchOff.objects.exists()


def test_switching_off_twice_is_refused(medical):
    _switch_off(medical)
    with pytest.raises(ValidationError):
        _switch_off(medical)
    assert ItemSwitchOff.objects.count() == 1


def test_switching_off_and_on_are_audit_events_naming_agency_item_and_reason(medical):
    lead = make_staff(Role.TEAM_LEAD)
    services.item_switch_off(
        agency_id=home_agency_id(), item_id=medical.pk, reason=MEDICAL, actor=lead
    )
    services.item_switch_on(
        agency_id=home_agency_id(), item_id=medical.pk, reason="医保局委托经办", actor=lead
    )
    events = AuditEvent.objects.filter(event_type__startswith="catalog.item_switched")
    recorded = [(e.event_type, e.actor_id, e.data["item"], e.data["reason"]) for e in events]
    assert sorted(recorded) == [
        ("catalog.item_switched_off", lead.pk, medical.code, MEDICAL),
        ("catalog.item_switched_on", lead.pk, medical.code, "医保局委托经办"),
    ]  # fmt: skip
    assert medical in selectors.items_offered(home_agency_id())


def test_switching_on_an_offered_item_is_refused(medical):
    with pytest.raises(ValidationError):
        services.item_switch_on(
            agency_id=home_agency_id(), item_id=medical.pk, reason="误操作", actor=None
        )


def test_the_guide_list_leaves_out_the_items_the_agency_switched_off(client, medical):
    _switch_off(medical)
    page = client.get(reverse("catalog:guide_index")).content.decode()
    assert medical.name not in page


def test_the_guide_list_of_another_agency_is_chosen_by_its_code(client, medical, other_agency):
    _switch_off(medical)
    page = client.get(reverse("catalog:guide_index"), {"agency": "511321"}).content.decode()
    assert medical.name in page and "南部县社会保险事业管理局" in page
    assert f"/guides/{medical.code}/?agency=511321" in page


def test_a_switched_off_items_guide_is_not_found_at_that_agency(client, medical, other_agency):
    _switch_off(medical)
    url = reverse("catalog:guide_detail", args=[medical.code])
    assert client.get(url).status_code == 404
    assert client.get(url, {"agency": "511321"}).status_code == 200


def test_an_unknown_agency_code_is_not_found(client, medical):
    assert client.get(reverse("catalog:guide_index"), {"agency": "999999"}).status_code == 404
    assert client.get("/api/catalog/items/", {"agency": "999999"}).status_code == 404


def test_the_search_leaves_out_switched_off_items(client, medical):
    _switch_off(medical)
    page = client.get(reverse("catalog:guide_search"), {"q": "医疗保险"}).content.decode()
    assert medical.name not in page


def test_the_catalog_api_lists_only_the_agencys_offered_items(client, medical, other_agency):
    _switch_off(medical)
    home = {row["code"] for row in client.get("/api/catalog/items/").json()["results"]}
    other = client.get("/api/catalog/items/", {"agency": "511321"}).json()["results"]
    assert medical.code not in home and medical.code in {row["code"] for row in other}


def test_the_catalog_api_refuses_a_switched_off_items_guide(client, medical):
    _switch_off(medical)
    assert client.get(f"/api/catalog/items/{medical.code}/").status_code == 404


def test_the_catalog_api_carries_the_official_codes(client, medical):
    guide = client.get(f"/api/catalog/items/{medical.code}/").json()
    listed = client.get("/api/catalog/items/").json()["results"]
    assert guide["implementation_code"] == medical.implementation_code
    assert guide["business_item_code"] == medical.business_item_code
    row = next(row for row in listed if row["code"] == medical.code)
    assert row["business_item_code"] == medical.business_item_code


def test_the_guide_page_shows_the_official_codes(client, medical):
    page = client.get(reverse("catalog:guide_detail", args=[medical.code])).content.decode()
    assert medical.implementation_code in page and medical.business_item_code in page


def test_the_kiosk_list_is_the_items_its_sites_agency_offers(medical, other_agency):
    _switch_off(medical)
    station = make_site(agency=other_agency)

    def offered(site):
        categories = selectors.categories_with_items(site_id=site.pk)
        return {item.pk for category in categories for item in category.enabled_items}

    assert medical.pk in offered(station)
    assert medical.pk not in offered(make_site())


def test_no_ticket_is_issued_for_an_item_the_agency_switched_off(medical):
    _switch_off(medical)
    with pytest.raises(ValidationError) as refused:
        counter_services.ticket_issue(item=medical)  # a forged kiosk request
    assert refused.value.code == "not_offered"
    assert not counter_services.Ticket.objects.exists()


def test_no_ticket_is_issued_at_a_named_site_of_the_agency_that_switched_the_item_off(
    medical,
):
    _switch_off(medical)
    with pytest.raises(ValidationError) as refused:
        counter_services.ticket_issue(item=medical, site_id=make_site().pk)
    assert refused.value.code == "not_offered"
    assert not counter_services.Ticket.objects.exists()


def test_a_named_site_of_another_agency_still_issues_the_item_one_agency_switched_off(
    medical, other_agency
):
    _switch_off(medical)
    site = other_agency.sites.get()
    ticket = counter_services.ticket_issue(item=medical, site_id=site.pk)
    assert (ticket.site_id, ticket.agency_id) == (site.pk, other_agency.pk)


def _intake_served(hall, switched_off_by):
    """The clerk serves a ticket of the item, which `switched_off_by` (an agency id)
    switches off meanwhile, and takes the application in."""
    counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    counter_services.window_declare_ready(clerk=hall.li_na)
    counter_services.ticket_issue(item=hall.item)
    _switch_off(hall.item, agency_id=switched_off_by)
    return case_services.case_accept(
        clerk=hall.li_na, item_id=hall.item.pk, applicant_name="王大山",
        id_number=make_id_number(), received_material_ids={hall.material.pk},
    )  # fmt: skip


def test_intake_refuses_an_item_the_agency_switched_off(hall):
    with pytest.raises(ValidationError) as refused:
        _intake_served(hall, switched_off_by=home_agency_id())
    assert refused.value.code == "not_offered"
    assert not Case.objects.exists()


def test_intake_accepts_an_item_only_another_agency_switched_off(hall, other_agency):
    case = _intake_served(hall, switched_off_by=other_agency.pk)
    assert case.item_id == hall.item.pk


def test_the_team_lead_switches_an_item_off_for_their_agency_on_their_screen(client, medical):
    lead = sign_in(client, make_staff(Role.TEAM_LEAD))
    response = client.post(
        reverse("evaluation:catalog_offer"),
        {"item": medical.pk, "offered": "no", "reason": MEDICAL},
    )
    assert response.status_code == 302
    switch = ItemSwitchOff.objects.get()
    assert (switch.agency_id, switch.item_id, switch.switched_by_id, switch.reason) == (
        home_agency_id(), medical.pk, lead.pk, MEDICAL,
    )  # fmt: skip
    page = client.get(reverse("evaluation:catalog_offer")).content.decode()
    assert MEDICAL in page


def test_the_team_lead_screen_refuses_a_switch_without_a_reason(client, medical):
    sign_in(client, make_staff(Role.TEAM_LEAD))
    client.post(reverse("evaluation:catalog_offer"), {"item": medical.pk, "offered": "no"})
    assert not ItemSwitchOff.objects.exists()


def test_a_team_lead_switches_only_for_their_own_agency(medical, other_agency):
    station = make_site(agency=other_agency)
    lead = make_staff(Role.TEAM_LEAD, sites=[station])
    agency_item_switch(lead=lead, item_id=medical.pk, offered=False, reason=MEDICAL)
    assert medical in selectors.items_offered(home_agency_id())
    assert medical not in selectors.items_offered(other_agency.pk)


def test_the_city_viewer_cannot_switch_items(medical):
    with pytest.raises(PermissionDenied):
        agency_item_switch(
            lead=make_staff(Role.CITY_VIEWER), item_id=medical.pk, offered=False, reason=MEDICAL
        )
    assert not ItemSwitchOff.objects.exists()


def test_another_agency_s_lead_does_not_edit_the_deployment_s_catalog(medical, other_agency):
    lead_b = make_staff(Role.TEAM_LEAD, sites=[other_agency.sites.get()])
    medical.risk_level = 0
    with pytest.raises(PermissionDenied):
        services.catalog_record_edit(instance=medical, reason="降低风险等级", actor=lead_b)
    assert ServiceItem.objects.get(pk=medical.pk).risk_level != 0
