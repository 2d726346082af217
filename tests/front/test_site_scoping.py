"""Every hall screen and API of the hall floor is scoped to the person's sites
(staff.scope): a station clerk never sees another site's tickets or windows, a window
lead acts on their own sites' tickets, a team lead sees the agency's sites, a city viewer
sees every agency's and changes nothing, and another agency sees none of this one.

Personas (two agencies; the home agency has its hall and a township station):
- station_clerk: clerk at the station.
- hall_clerk: clerk at the home hall.
- window_lead: window lead at the station.
- team_lead: the home agency's team lead (works at the hall, sees the whole agency).
- city_viewer: the city-level viewer (every agency, read-only).
- other_lead: the other agency's team lead and window lead (its hall only).
"""

from types import SimpleNamespace

import pytest
from django.test import Client
from rest_framework.test import APIClient

from counters import services
from counters.models import Queue, Window
from sites.defaults import home_site_id
from sites.models import Site
from staff.roles import Role
from tests.factories import (
    ItemFactory,
    WindowFactory,
    make_agency,
    make_site,
    make_staff,
    registered_device,
    sign_in,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    hall = Site.objects.get(pk=home_site_id())
    station = make_site(kind="station", name="老观镇社保所")
    station.opening_hours = "周一至周五 9:00-12:00"
    station.save()
    other = make_site(agency=make_agency(code="511302", name="顺庆区社保局"), kind="hall")
    w = SimpleNamespace(hall=hall, station=station, other=other, item=ItemFactory())
    w.station_clerk = make_staff(Role.CLERK, sites=[station])
    w.hall_clerk = make_staff(Role.CLERK, sites=[hall])
    w.window_lead = make_staff(Role.WINDOW_LEAD, sites=[station])
    w.team_lead = make_staff(Role.TEAM_LEAD, sites=[hall])
    w.city_viewer = make_staff(Role.CITY_VIEWER)
    w.other_lead = make_staff([Role.TEAM_LEAD, Role.WINDOW_LEAD], sites=[other])
    w.windows = {site.pk: WindowFactory(site=site, number=1) for site in (hall, station, other)}
    # A disabled citizen's priority request waiting at each site: what the leads act on.
    w.tickets = {
        site.pk: services.ticket_issue(item=w.item, site_id=site.pk, priority_request="disabled")
        for site in (hall, station, other)
    }
    return w


def _client(user, api=False):
    client = APIClient() if api else Client()
    sign_in(client, user)
    return client


def _numbers_of(tickets) -> set[int]:
    return {t["id"] for t in tickets}


# --- The window lead's queue ---------------------------------------------------------------


def _ticket_field(ticket) -> str:
    return f'name="ticket" value="{ticket.pk}"'


def test_the_window_lead_sees_only_their_own_sites_tickets_on_the_queue_page(world):
    page = _client(world.window_lead).get("/lead/queue/").content.decode()
    assert _ticket_field(world.tickets[world.station.pk]) in page
    assert _ticket_field(world.tickets[world.hall.pk]) not in page
    assert _ticket_field(world.tickets[world.other.pk]) not in page
    assert world.station.name in page


def test_the_window_leads_queue_api_lists_only_their_own_sites_tickets(world):
    body = _client(world.window_lead, api=True).get("/api/lead/queue/").json()
    assert _numbers_of(body["pending_priority"]) == {world.tickets[world.station.pk].pk}


def test_another_agencys_lead_sees_only_their_agencys_tickets(world):
    body = _client(world.other_lead, api=True).get("/api/lead/queue/").json()
    assert _numbers_of(body["pending_priority"]) == {world.tickets[world.other.pk].pk}


def test_the_city_viewer_sees_every_agencys_tickets_on_the_queue(world):
    body = _client(world.city_viewer, api=True).get("/api/lead/queue/").json()
    assert _numbers_of(body["pending_priority"]) == {t.pk for t in world.tickets.values()}
    page = _client(world.city_viewer).get("/lead/queue/").content.decode()
    for site in (world.hall, world.station, world.other):
        assert site.name in page
    assert 'value="confirm"' not in page, "read-only: no buttons that would be refused"


@pytest.mark.parametrize("persona", ["station_clerk", "hall_clerk", "team_lead"])
def test_people_without_the_lead_role_are_refused_the_queue(world, persona):
    user = getattr(world, persona)
    assert _client(user).get("/lead/queue/").status_code == 403
    assert _client(user, api=True).get("/api/lead/queue/").status_code == 403


def test_a_window_lead_cannot_confirm_another_sites_priority(world):
    hall_ticket = world.tickets[world.hall.pk]
    api = _client(world.window_lead, api=True)
    response = api.post(f"/api/lead/tickets/{hall_ticket.pk}/confirm-priority/")
    assert response.status_code == 404
    hall_ticket.refresh_from_db()
    assert not hall_ticket.is_priority


def test_a_window_lead_confirms_their_own_sites_priority(world):
    ticket = world.tickets[world.station.pk]
    api = _client(world.window_lead, api=True)
    assert api.post(f"/api/lead/tickets/{ticket.pk}/confirm-priority/").status_code == 200
    ticket.refresh_from_db()
    assert ticket.is_priority


def test_the_queue_page_says_no_such_ticket_for_another_agencys_ticket(world):
    ticket = world.tickets[world.hall.pk]
    client = _client(world.other_lead)
    response = client.post("/lead/queue/", {"ticket": ticket.pk, "action": "confirm"}, follow=True)
    assert "没有这个号。" in response.content.decode()
    ticket.refresh_from_db()
    assert not ticket.is_priority


def test_the_city_viewer_cannot_confirm_a_priority(world):
    ticket = world.tickets[world.station.pk]
    api = _client(world.city_viewer, api=True)
    assert api.post(f"/api/lead/tickets/{ticket.pk}/confirm-priority/").status_code == 403
    assert (
        _client(world.city_viewer)
        .post("/lead/queue/", {"ticket": ticket.pk, "action": "confirm"})
        .status_code
        == 403
    )
    ticket.refresh_from_db()
    assert not ticket.is_priority


def test_a_window_lead_cannot_requeue_another_sites_no_show(world):
    from django.core.exceptions import ObjectDoesNotExist

    ticket = world.tickets[world.hall.pk]
    with pytest.raises(ObjectDoesNotExist):
        services.ticket_requeue(ticket_id=ticket.pk, lead=world.window_lead, reason="回来了")
    response = _client(world.window_lead, api=True).post(
        f"/api/lead/tickets/{ticket.pk}/requeue/", {"reason": "回来了"}, format="json"
    )
    assert response.status_code == 404


# --- The clerk's sign-on and workbench -------------------------------------------------------


def test_the_sign_on_page_lists_only_the_windows_of_the_clerks_own_site(world):
    page = _client(world.station_clerk).get("/counter/").content.decode()
    assert f'value="{world.windows[world.station.pk].pk}"' in page
    assert f'value="{world.windows[world.hall.pk].pk}"' not in page
    assert f'value="{world.windows[world.other.pk].pk}"' not in page


def test_a_clerk_posting_another_sites_window_is_refused_and_not_signed_on(world):
    window = world.windows[world.hall.pk]
    response = _client(world.station_clerk).post(
        "/counter/sign-on/", {"window": window.pk}, follow=True
    )
    assert world.hall.name in response.content.decode()  # the refusal names the site
    window.refresh_from_db()
    assert window.clerk is None


def test_the_workbench_api_lists_free_windows_of_the_clerks_own_site_only(world):
    WindowFactory(site=world.hall, number=2)
    body = _client(world.station_clerk, api=True).get("/api/counter/").json()
    assert body["free_windows"] == [1]
    body = _client(world.hall_clerk, api=True).get("/api/counter/").json()
    assert body["free_windows"] == [1, 2]


def test_the_sign_on_api_takes_the_window_number_at_the_clerks_own_site(world):
    api = _client(world.station_clerk, api=True)
    assert api.post("/api/counter/sign-on/", {"window": 1}, format="json").status_code == 200
    assert Window.objects.get(clerk=world.station_clerk).site == world.station


def test_the_sign_on_api_refuses_a_window_at_another_site(world):
    api = _client(world.station_clerk, api=True)
    response = api.post(
        "/api/counter/sign-on/", {"window": 1, "site": world.hall.pk}, format="json"
    )
    assert response.status_code == 404
    assert not Window.objects.filter(clerk=world.station_clerk).exists()


def test_a_clerk_of_two_sites_names_the_site_when_both_have_the_number(world):
    clerk = make_staff(Role.CLERK, sites=[world.hall, world.station])
    api = _client(clerk, api=True)
    assert api.post("/api/counter/sign-on/", {"window": 1}, format="json").status_code == 400
    response = api.post(
        "/api/counter/sign-on/", {"window": 1, "site": world.station.pk}, format="json"
    )
    assert response.status_code == 200
    assert Window.objects.get(clerk=clerk).site == world.station


def test_a_station_clerk_is_served_only_their_stations_tickets(world):
    api = _client(world.station_clerk, api=True)
    api.post("/api/counter/sign-on/", {"window": 1}, format="json")
    body = api.post("/api/counter/ready/").json()
    assert body["window"]["current_ticket"]["id"] == world.tickets[world.station.pk].pk
    assert body["window"]["current_ticket"]["site"] == world.station.pk


# --- Kiosk and call display ------------------------------------------------------------------


def _device_client(kind, site, api=False):
    _device, credential = registered_device(kind, site=site)
    if api:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Device {credential}")
    else:
        client = Client()
        client.cookies["hall_device"] = credential
    return client


def test_the_kiosk_shows_its_sites_name_and_opening_hours(world):
    page = _device_client("kiosk", world.station).get("/kiosk/").content.decode()
    assert world.station.name in page and "周一至周五 9:00-12:00" in page


def test_the_kiosk_api_issues_its_own_sites_ticket_numbered_for_that_site(world):
    body = (
        _device_client("kiosk", world.station, api=True)
        .post("/api/kiosk/tickets/", {"item": world.item.pk}, format="json")
        .json()
    )
    assert (body["site"], body["number"]) == (world.station.pk, "A002")


def test_the_kiosk_slip_shows_the_sites_opening_hours(world):
    client = _device_client("kiosk", world.station)
    response = client.post("/kiosk/", {"item": world.item.pk})
    page = client.get(response["Location"]).content.decode()
    assert world.station.name in page and "周一至周五 9:00-12:00" in page


def test_the_call_display_shows_only_its_own_sites_calls(world):
    for site, clerk in ((world.hall, world.hall_clerk), (world.station, world.station_clerk)):
        services.window_sign_on(clerk=clerk, window_id=world.windows[site.pk].pk)
        services.window_declare_ready(clerk=clerk)
    body = _device_client("display", world.station, api=True).get("/api/display/").json()
    assert [call["number"] for call in body["calls"]] == ["A001"]
    assert body["waiting"] == {Queue.HALL: 0, Queue.BACK_OFFICE: 0}
    other_body = _device_client("display", world.other, api=True).get("/api/display/").json()
    assert (other_body["calls"], other_body["waiting"][Queue.HALL]) == ([], 1)


def test_the_call_display_page_shows_only_its_own_sites_calls(world):
    services.window_sign_on(clerk=world.hall_clerk, window_id=world.windows[world.hall.pk].pk)
    services.window_declare_ready(clerk=world.hall_clerk)
    called = f'data-call-id="{world.tickets[world.hall.pk].pk}-'
    assert called in _device_client("display", world.hall).get("/display/calls/").content.decode()
    station_page = _device_client("display", world.station).get("/display/").content.decode()
    assert called not in station_page
