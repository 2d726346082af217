"""Appointments are for a site: its own capacity per slot, its own slots, and check-in
only at its kiosks. The booking page lets the citizen choose the site; the team lead
sets capacities only for the agency's sites; the city viewer only looks."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from appointments import selectors, services
from appointments.models import Appointment, AppointmentText
from counters.models import Queue, Ticket
from staff.roles import Role
from tests.appointments.test_services import TUESDAY, at, clock  # noqa: F401 - the fixture
from tests.factories import (
    make_id_number,
    make_staff,
    registered_device,
    sign_in,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def station(two_agencies):
    return two_agencies.station


@pytest.fixture
def lead():
    return make_staff(Role.TEAM_LEAD)  # the home agency's, working at its hall


@pytest.fixture
def station_capacity(lead, station, clock):  # noqa: F811 - the fixture imported above
    return services.slot_capacity_set(
        lead=lead, site_id=station.pk, queue=Queue.HALL, day=TUESDAY, per_slot=1
    )


def _book(site, serial=1):
    return services.appointment_book(
        site_id=site.pk,
        queue=Queue.HALL,
        slot_start=at(TUESDAY, 9),
        id_number=make_id_number(serial=serial),
        phone="13800000001",
    )


def test_a_booking_is_for_the_site_chosen(station, station_capacity):
    assert _book(station).site == station


def test_each_site_has_its_own_capacity(two_agencies, station, station_capacity):
    hall = two_agencies.hall
    with pytest.raises(ValidationError) as refused:
        _book(hall)
    assert refused.value.code == "no_capacity"
    assert selectors.bookable_slots(site_id=hall.pk, queue=Queue.HALL, day=TUESDAY) == []
    assert selectors.bookable_slots(site_id=station.pk, queue=Queue.HALL, day=TUESDAY)


def test_a_full_slot_at_one_site_leaves_the_other_sites_slot_free(
    lead,
    two_agencies,
    station,
    clock,  # noqa: F811
):
    hall = two_agencies.hall
    for site in (hall, station):
        services.slot_capacity_set(
            lead=lead, site_id=site.pk, queue=Queue.HALL, day=TUESDAY, per_slot=1
        )
    _book(station, serial=1)
    with pytest.raises(ValidationError) as full:
        _book(station, serial=2)
    assert full.value.code == "slot_full"
    assert _book(hall, serial=3).site == hall


def test_check_in_at_another_sites_kiosk_is_refused(
    two_agencies,
    station,
    station_capacity,
    clock,  # noqa: F811
):
    appointment = _book(station)
    hall_kiosk, _credential = registered_device("kiosk", site=two_agencies.hall)
    clock(at(TUESDAY, 9))
    with pytest.raises(ValidationError) as refused:
        services.appointment_check_in(code=appointment.code, kiosk=hall_kiosk)
    assert refused.value.code == "other_site"
    appointment.refresh_from_db()
    assert (appointment.status, Ticket.objects.count()) == (Appointment.Status.BOOKED, 0)


def test_check_in_at_the_booked_sites_kiosk_issues_that_sites_ticket(
    station,
    station_capacity,
    clock,  # noqa: F811
):
    appointment = _book(station)
    kiosk, _credential = registered_device("kiosk", site=station)
    clock(at(TUESDAY, 9))
    checked = services.appointment_check_in(code=appointment.code, kiosk=kiosk)
    assert (checked.ticket.site, checked.ticket.display_number) == (station, "A001")


def test_a_team_lead_cannot_set_another_agencys_capacity(lead, hall_b, clock):  # noqa: F811
    with pytest.raises(PermissionDenied):
        services.slot_capacity_set(
            lead=lead, site_id=hall_b.pk, queue=Queue.HALL, day=TUESDAY, per_slot=3
        )


# --- Over HTTP ----------------------------------------------------------------------------


def test_the_booking_page_offers_the_sites_and_books_at_the_one_chosen(
    client,
    station,
    station_capacity,
    clock,  # noqa: F811
):
    page = client.get(f"/appointments/?site={station.pk}&day={TUESDAY:%Y-%m-%d}")
    assert station.name in page.content.decode()
    assert 'data-testid="site-choices"' in page.content.decode()
    response = client.post(
        f"/appointments/?site={station.pk}",
        {
            "site": station.pk,
            "queue": Queue.HALL,
            "slot": at(TUESDAY, 9).isoformat(),
            "id_number": make_id_number(serial=7),
            "phone": "13800000007",
        },
    )
    assert response.status_code == 302
    assert Appointment.objects.get().site == station


def test_the_kiosk_check_in_api_refuses_another_sites_booking(
    two_agencies,
    station,
    station_capacity,
    clock,  # noqa: F811
):
    from rest_framework.test import APIClient

    appointment = _book(station)
    _kiosk, credential = registered_device("kiosk", site=two_agencies.hall)
    clock(at(TUESDAY, 9))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Device {credential}")
    response = api.post(
        "/api/kiosk/appointments/check-in/", {"code": appointment.code}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "other_site"


def test_the_capacities_page_offers_the_agencys_sites_only(client, lead, station, hall_b):
    sign_in(client, lead)
    page = client.get("/lead/appointments/").content.decode()
    assert station.name in page and hall_b.name not in page
    assert client.get(f"/lead/appointments/?site={hall_b.pk}").status_code == 404


def test_another_agencys_team_lead_cannot_open_this_agencys_site(client, station, hall_b):
    sign_in(client, make_staff(Role.TEAM_LEAD, sites=[hall_b]))
    assert client.get(f"/lead/appointments/?site={station.pk}").status_code == 404


def test_the_city_viewer_sees_any_sites_capacities_and_sets_none(client, station, clock):  # noqa: F811
    viewer = make_staff(Role.CITY_VIEWER)
    sign_in(client, viewer)
    page = client.get(f"/lead/appointments/?site={station.pk}").content.decode()
    assert station.name in page and 'name="per_slot"' not in page
    response = client.post(
        "/lead/appointments/",
        {"site": station.pk, "queue": Queue.HALL, "day": f"{TUESDAY:%Y-%m-%d}", "per_slot": 5},
    )
    assert response.status_code == 403
    assert not selectors.bookable_slots(site_id=station.pk, queue=Queue.HALL, day=TUESDAY)


@pytest.mark.parametrize("role", [Role.CLERK, Role.WINDOW_LEAD])
def test_people_without_the_team_lead_role_are_refused_the_capacities(client, role):
    sign_in(client, make_staff(role))
    assert client.get("/lead/appointments/").status_code == 403


def test_the_booking_and_reminder_texts_name_the_booked_site_not_the_home_hall(
    station,
    station_capacity,
    clock,  # noqa: F811
):
    _book(station)
    services.appointment_reminders_send(today=TUESDAY - datetime.timedelta(days=1))
    texts = dict(AppointmentText.objects.values_list("dedupe_key", "text"))
    assert len(texts) == 2
    for key, text in texts.items():
        assert text.startswith("老观镇社保所"), key
        assert "阆中" not in text, key
