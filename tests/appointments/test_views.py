"""The booking and cancelling pages, the kiosk's check-in and the team lead's screen over
HTTP."""

import datetime

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from appointments import services
from appointments.models import Appointment, SlotCapacity
from audit.models import AuditEvent
from counters.models import Queue, Ticket
from staff.roles import Role
from tests.factories import make_id_number, make_staff, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def slot(db):
    """The first slot of the next working day after today, with 3 places per slot."""
    lead = make_staff(Role.TEAM_LEAD)
    day = timezone.localdate() + datetime.timedelta(days=1)
    while not services.day_slots(day):
        day += datetime.timedelta(days=1)
    services.slot_capacity_set(lead=lead, queue=Queue.HALL, day=day, per_slot=3)
    return services.day_slots(day)[0][0]


def _post_booking(client, slot, serial=1, **extra):
    return client.post(
        "/appointments/",
        {
            "queue": Queue.HALL,
            "slot": slot.isoformat(),
            "id_number": make_id_number(serial=serial),
            "phone": "13800000001",
            **extra,
        },
        REMOTE_ADDR="203.0.113.9",
    )


def test_the_booking_page_offers_the_first_day_with_free_times(client, slot):
    page = client.get("/appointments/").content.decode()
    assert slot.isoformat() in page
    assert page.count("<h1") == 1


def test_booking_shows_the_code_once_and_not_the_id_number(client, slot):
    response = _post_booking(client, slot)
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    appointment = Appointment.objects.get()
    assert appointment.code in page
    assert make_id_number(serial=1) not in page
    assert client.get("/appointments/booked/").status_code == 302, "shown once"


def test_a_refused_booking_says_why_and_clears_the_id_number(client, slot):
    _post_booking(client, slot, serial=1)
    response = _post_booking(client, slot + datetime.timedelta(minutes=30), serial=1)
    page = response.content.decode()
    assert response.status_code == 409
    assert make_id_number(serial=1) not in page
    assert Appointment.objects.count() == 1


def test_bookings_from_one_client_are_limited(client, slot, settings):
    settings.APPOINTMENT_BOOKINGS_PER_CLIENT = 2
    assert _post_booking(client, slot, serial=1).status_code == 302
    assert _post_booking(client, slot, serial=2).status_code == 302
    assert _post_booking(client, slot, serial=3).status_code == 429
    assert Appointment.objects.count() == 2


def test_cancelling_on_the_page_with_code_and_id_number(client, slot):
    _post_booking(client, slot)
    appointment = Appointment.objects.get()
    wrong = client.post(
        "/appointments/cancel/", {"code": appointment.code, "id_number": make_id_number(serial=2)}
    )
    assert wrong.status_code == 404
    right = client.post(
        "/appointments/cancel/", {"code": appointment.code, "id_number": make_id_number(serial=1)}
    )
    assert right.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED


def test_failed_cancellations_of_one_code_are_limited(client, slot, settings):
    settings.APPOINTMENT_CANCEL_FAILURES = 2
    _post_booking(client, slot)
    code = Appointment.objects.get().code
    for serial in (2, 3):
        wrong = {"code": code, "id_number": make_id_number(serial=serial)}
        assert client.post("/appointments/cancel/", wrong).status_code == 404
    blocked = client.post(
        "/appointments/cancel/", {"code": code, "id_number": make_id_number(serial=1)}
    )
    assert blocked.status_code == 429
    assert Appointment.objects.get().status == Appointment.Status.BOOKED


def test_the_kiosk_checks_in_by_code_and_shows_the_slip(client, slot, register_device, time_passes):
    _post_booking(client, slot)
    appointment = Appointment.objects.get()
    kiosk = register_device(client, "kiosk")
    time_passes(seconds=(slot - timezone.now()).total_seconds() + 60)
    response = client.post("/kiosk/appointment/", {"code": appointment.code})
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response.url == f"/kiosk/tickets/{ticket.pk}/"
    assert ticket.issued_by == kiosk and ticket.booked_slot_start == slot


def test_the_kiosk_checks_in_by_id_number_for_the_card_reader(
    client, slot, register_device, time_passes
):
    _post_booking(client, slot, serial=5)
    register_device(client, "kiosk")
    time_passes(seconds=(slot - timezone.now()).total_seconds() + 60)
    response = client.post("/kiosk/appointment/", {"id_number": make_id_number(serial=5)})
    assert response.status_code == 302
    assert Appointment.objects.get().status == Appointment.Status.CHECKED_IN


def test_a_wrong_code_at_the_kiosk_says_so_and_issues_nothing(client, slot, register_device):
    register_device(client, "kiosk")
    response = client.post("/kiosk/appointment/", {"code": "12345678"})
    assert response.status_code == 409 and not Ticket.objects.exists()


def test_the_check_in_screen_needs_a_registered_kiosk(client, slot):
    assert client.get("/kiosk/appointment/").status_code == 403


def test_the_kiosk_start_screen_links_to_the_check_in(client, register_device):
    register_device(client, "kiosk")
    assert 'href="/kiosk/appointment/"' in client.get("/kiosk/").content.decode()


def test_the_team_lead_sets_a_capacity_on_the_screen(client, slot):
    lead = sign_in(client, make_staff(Role.TEAM_LEAD))
    day = timezone.localtime(slot).date()
    response = client.post(
        "/lead/appointments/", {"queue": Queue.BACK_OFFICE, "day": day.isoformat(), "per_slot": 4}
    )
    assert response.status_code == 302
    assert SlotCapacity.objects.get(queue=Queue.BACK_OFFICE, day=day).per_slot == 4
    assert AuditEvent.objects.filter(event_type="appointment.capacity_set", actor=lead).exists()
    page = client.get(f"/lead/appointments/?day={day.isoformat()}").content.decode()
    assert 'value="4"' in page


def test_a_clerk_cannot_open_the_capacity_screen(client):
    sign_in(client, make_staff(Role.CLERK))
    assert client.get("/lead/appointments/").status_code == 403


def test_the_report_shows_the_appointment_figures(client, slot):
    _post_booking(client, slot)
    sign_in(client, make_staff(Role.TEAM_LEAD))
    day = timezone.localtime(slot).date().isoformat()
    response = client.get(f"/reports/?from={day}&to={day}")
    summary = {str(label): value for label, value in response.context["summary"]}
    with translation.override("zh-hans"):
        booked, no_show = _("Appointments booked"), _("Appointments not kept (no-show)")
    assert (summary[booked], summary[no_show]) == (1, 0)


def test_the_kiosk_api_checks_in_by_id_number_for_the_device_bridge(client, slot, time_passes):
    from rest_framework.test import APIClient

    from tests.factories import registered_device

    _post_booking(client, slot, serial=6)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Device {registered_device('kiosk').credential}")
    time_passes(seconds=(slot - timezone.now()).total_seconds() + 60)
    response = api.post(
        "/api/kiosk/appointments/check-in/", {"id_number": make_id_number(serial=6)}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "checked_in"
    assert response.json()["ticket"]["number"] == Ticket.objects.get().display_number
    again = api.post(
        "/api/kiosk/appointments/check-in/", {"id_number": make_id_number(serial=6)}, format="json"
    )
    assert again.status_code == 400 and again.json()["error"]["code"] == "no_appointment"


def test_the_kiosk_api_refuses_anyone_but_a_kiosk(client, slot):
    response = client.post("/api/kiosk/appointments/check-in/", {"code": "12345678"})
    assert response.status_code in (401, 403)


def test_the_booked_page_is_headed_with_the_booked_site(client, slot):
    page = client.get(_post_booking(client, slot).url).content.decode()
    brand = page.split('data-testid="brand">')[1].split("</span>")[0]
    assert brand == Appointment.objects.get().site.name
