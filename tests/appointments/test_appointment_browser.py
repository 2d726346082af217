"""The appointment journey in headless Chromium: a citizen books a time on the public
page, checks in at the kiosk with the booking code on its keypad, and the ticket is
drawn to a clerk before a walk-in who came earlier. Each screen is also captured at
200 % zoom (test-artifacts/)."""

import datetime

import pytest
from django.utils import timezone

from appointments import services
from appointments.models import Appointment
from counters import services as counter_services
from counters.models import Queue, Ticket
from devices.decorators import DEVICE_COOKIE
from draws.models import Draw
from staff.roles import Role
from tests.conftest import ARTIFACTS, browser_sign_in
from tests.factories import (
    ItemFactory,
    WindowFactory,
    make_id_number,
    make_staff,
    registered_device,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _next_day_with_slots():
    day = timezone.localdate() + datetime.timedelta(days=1)
    while not services.day_slots(day):
        day += datetime.timedelta(days=1)
    return day


def _kiosk_page(browser, live_server):
    device = registered_device("kiosk")
    context = browser.new_context(viewport={"width": 1080, "height": 1920})
    context.add_cookies(
        [{"name": DEVICE_COOKIE, "value": device.credential, "url": live_server.url}]
    )
    return context.new_page()


def _zoomed(page, name):
    page.screenshot(path=ARTIFACTS / f"appointments-{name}.png", full_page=True)
    page.evaluate("document.body.style.zoom = '200%'")
    page.screenshot(path=ARTIFACTS / f"appointments-{name}-200.png", full_page=True)
    page.evaluate("document.body.style.zoom = ''")


def test_a_booked_citizen_checks_in_by_code_and_is_called_before_an_earlier_walk_in(
    browser, live_server, time_passes
):
    lead = make_staff(Role.TEAM_LEAD)
    day = _next_day_with_slots()
    services.slot_capacity_set(lead=lead, queue=Queue.HALL, day=day, per_slot=2)
    slot_start = services.day_slots(day)[1][0]  # 09:00
    clerks = [make_staff(Role.CLERK, name=name) for name in ("李娜", "王强")]
    for number, clerk in enumerate(clerks, start=1):
        window = WindowFactory(number=number)
        counter_services.window_sign_on(clerk=clerk, window_id=window.pk)

    # The citizen books on a phone: queue, day, time, ID number, mobile number.
    citizen = browser.new_page(viewport={"width": 412, "height": 915})
    citizen.goto(f"{live_server.url}/appointments/?queue=A&day={day.isoformat()}")
    _zoomed(citizen, "book")
    citizen.click("label[for=slot-2]")
    citizen.fill("#id_id_number", make_id_number(serial=7))
    citizen.fill("#id_phone", "13800000007")
    citizen.click("[data-testid=booking-form] button.btn-primary")
    code = citizen.locator("[data-testid=booking-code]").inner_text().strip()
    _zoomed(citizen, "booked")
    appointment = Appointment.objects.get(code=code)
    assert appointment.slot_start == slot_start
    citizen.goto(f"{live_server.url}/appointments/cancel/")
    _zoomed(citizen, "cancel")

    # The morning of the appointment: a walk-in takes a ticket at 08:55, before it.
    time_passes(seconds=(slot_start - timezone.now()).total_seconds() - 5 * 60)
    walk_in = counter_services.ticket_issue(item=ItemFactory())
    time_passes(minutes=8)  # 09:03, within the slot

    kiosk = _kiosk_page(browser, live_server)
    kiosk.goto(f"{live_server.url}/kiosk/")
    kiosk.click("[data-testid=kiosk-appointment]")
    _zoomed(kiosk, "kiosk-check-in")
    for digit in code:
        kiosk.click(f"[data-testid=kiosk-keypad] [data-key='{digit}']")
    assert kiosk.input_value("#id_code") == code
    kiosk.click("[data-testid=check-in]")
    number = kiosk.locator("[data-testid=ticket-number]").inner_text().strip()
    _zoomed(kiosk, "kiosk-slip")
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CHECKED_IN
    assert appointment.ticket.display_number in number

    # A clerk becomes ready: the draw gives them the booked ticket, not the walk-in's.
    counter_services.window_declare_ready(clerk=clerks[1])
    ticket, walk_in = (Ticket.objects.get(pk=pk) for pk in (appointment.ticket_id, walk_in.pk))
    assert (ticket.status, walk_in.status) == (Ticket.Status.SERVING, Ticket.Status.WAITING)
    assert Draw.objects.filter(subject=f"ticket:{ticket.pk}").exists()
    page = browser_sign_in(browser, live_server, ticket.clerk)
    page.goto(f"{live_server.url}/counter/")
    assert ticket.display_number in page.content()


def test_the_appointment_screens_at_200_percent_for_the_team_lead(browser, live_server):
    lead = make_staff(Role.TEAM_LEAD, name="何志明")
    day = _next_day_with_slots()
    services.slot_capacity_set(lead=lead, queue=Queue.HALL, day=day, per_slot=2)
    services.appointment_book(
        queue=Queue.HALL,
        slot_start=services.day_slots(day)[0][0],
        id_number=make_id_number(serial=3),
        phone="13800000003",
    )
    page = browser_sign_in(browser, live_server, lead)
    page.goto(f"{live_server.url}/lead/appointments/?day={day.isoformat()}")
    assert page.locator("h1").count() == 1
    _zoomed(page, "capacities")
