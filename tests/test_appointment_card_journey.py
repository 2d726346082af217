"""Issue 16's done-when journey in headless Chromium, one citizen from end to end: booked
on the public page, checked in at the kiosk by swiping the simulated ID card, the ticket
drawn to one of two ready clerks at random, the drawn clerk's intake filled from the
card (photo shown), and the receipt signed on the simulated pad, the PNG kept in the
case file with its SHA-256."""

import hashlib

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments import services
from appointments.models import Appointment
from counters import services as counter_services
from counters.models import CaseDocument, Queue, Ticket
from devices.bridge.simulator import CITIZENS
from draws.models import Draw
from langzhong_si.identity import id_number_digest
from staff.roles import Role
from tests.appointments.test_appointment_browser import _kiosk_page, _next_day_with_slots
from tests.conftest import ARTIFACTS, browser_sign_in
from tests.factories import ItemFactory, MaterialFactory, WindowFactory, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CARD = CITIZENS[0]  # the card the simulator's reader holds


def test_a_booked_citizen_swipes_in_is_drawn_to_a_random_clerk_and_signs_the_receipt(
    browser, live_server, simulated_bridge, time_passes
):
    lead = make_staff(Role.TEAM_LEAD)
    item = ItemFactory(risk_level=1)
    material = MaterialFactory(item=item, name="居民身份证")
    make_staff(Role.REVIEWER, review_level=1)  # the case's reviewer, drawn on submission
    day = _next_day_with_slots()
    services.slot_capacity_set(lead=lead, queue=Queue.HALL, day=day, per_slot=2)
    slot_start = services.day_slots(day)[1][0]
    clerks = [make_staff(Role.CLERK, name=name) for name in ("李娜", "王强")]
    for number, clerk in enumerate(clerks, start=1):
        counter_services.window_sign_on(clerk=clerk, window_id=WindowFactory(number=number).pk)

    # The citizen books on a phone, with the ID number on the card they will bring.
    citizen = browser.new_page(viewport={"width": 412, "height": 915})
    citizen.goto(f"{live_server.url}/appointments/?queue=A&day={day.isoformat()}")
    citizen.click("label[for=slot-2]")
    citizen.fill("#id_id_number", CARD["id_number"])
    citizen.fill("#id_phone", "13800000007")
    citizen.click("[data-testid=booking-form] button.btn-primary")
    appointment = Appointment.objects.get(
        code=citizen.locator("[data-testid=booking-code]").inner_text().strip()
    )
    assert appointment.slot_start == slot_start

    # The day of the appointment, within its slot: both clerks are ready and waiting.
    time_passes(seconds=(slot_start - timezone.now()).total_seconds() + 3 * 60)
    for clerk in clerks:
        counter_services.window_declare_ready(clerk=clerk)

    # At the kiosk the citizen swipes the card: checked in, a ticket, no code typed.
    kiosk = _kiosk_page(browser, live_server)
    kiosk.goto(f"{live_server.url}/kiosk/")
    kiosk.click("[data-testid=kiosk-appointment]")
    kiosk.wait_for_selector("[data-kiosk-read-card]:not([hidden])")  # the bridge has a reader
    kiosk.screenshot(path=ARTIFACTS / "appointment-card-check-in.png", full_page=True)
    kiosk.click("[data-kiosk-read-card]")
    number = kiosk.locator("[data-testid=ticket-number]").inner_text().strip()
    kiosk.screenshot(path=ARTIFACTS / "appointment-card-check-in-slip.png", full_page=True)
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CHECKED_IN
    ticket = Ticket.objects.get(pk=appointment.ticket_id)
    assert ticket.display_number in number
    assert ticket.applicant_id_digest == id_number_digest(CARD["id_number"])

    # The dispatch drew the clerk among both ready ones, and recorded the pool.
    draw = Draw.objects.get(purpose=Draw.Purpose.TICKET_DISPATCH, subject=f"ticket:{ticket.pk}")
    assert sorted(draw.pool) == sorted(clerk.pk for clerk in clerks)
    assert (ticket.status, ticket.clerk_id) == (Ticket.Status.SERVING, draw.chosen_id)

    # The drawn clerk chooses the item, reads the card, checks the photo and submits.
    page = browser_sign_in(browser, live_server, ticket.clerk)
    page.goto(f"{live_server.url}/counter/")
    assert ticket.display_number in page.inner_text("[data-testid=current-ticket]")
    page.goto(f"{live_server.url}/counter/?item={item.pk}")  # the item picker's link
    page.wait_for_selector("#id_applicant_name")
    page.click("[data-read-card]")
    page.wait_for_selector("[data-testid=card-photo]:not([hidden])")
    expect(page.locator("#id_applicant_name")).to_have_value(CARD["name"])
    assert page.input_value("#id_id_number") == CARD["id_number"]
    page.check(f"#material-{material.pk}")
    page.wait_for_load_state("load")
    page.keyboard.press("F9")
    page.wait_for_selector("[data-testid=case-status]")
    case = ticket.cases.get()
    assert (case.applicant_name, case.handler_id) == (CARD["name"], ticket.clerk_id)
    assert case.applicant_id_digest == id_number_digest(CARD["id_number"])

    # The receipt, signed on the simulated pad: the PNG is in the case file, hashed.
    page.click("[data-testid=receipt-link]")
    page.click("[data-paper-signature] [data-sign]")
    page.wait_for_selector("[data-signature-message].text-success")
    page.screenshot(path=ARTIFACTS / "appointment-card-receipt-signed.png", full_page=True)
    signature = CaseDocument.objects.get(case=case, display_name="签名-受理回执.png")
    with signature.file.open("rb") as stored:
        assert hashlib.sha256(stored.read()).hexdigest() == signature.sha256
    assert signature.content_type == "image/png"
