"""Appointments book a time for a queue, never a clerk; checked in, they enter the same
random dispatch, ahead of walk-ins from their slot's start."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import get_resolver

from appointments import selectors, services
from appointments.forms import BookingForm, CheckInForm
from appointments.models import Appointment, AppointmentText, SlotCapacity
from audit.models import AuditEvent
from counters import services as counter_services
from counters.models import Queue, Ticket
from outbox.models import OutboxMessage
from staff.roles import Role
from tests.factories import ItemFactory, WindowFactory, make_id_number, make_staff

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Tuesday, a working day; the hall opens 08:30-12:00 and 14:00-17:30.
MONDAY_EVENING = datetime.datetime(2024, 6, 17, 18, 0, tzinfo=SHANGHAI)
TUESDAY = datetime.date(2024, 6, 18)


def at(day, hour, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI)


@pytest.fixture
def clock(monkeypatch):
    """`clock(moment)`: every service sees this time from now on."""
    from django.utils import timezone

    def set_to(moment):
        monkeypatch.setattr(timezone, "now", lambda: moment)

    set_to(MONDAY_EVENING)
    return set_to


class RecordingGateway:
    """The SMS gateway stand-in (what leaves the process is the only thing mocked)."""

    sent: list = []

    def send(self, *, phone, text):
        RecordingGateway.sent.append((phone, text))


@pytest.fixture
def texts(settings):
    settings.SMS_GATEWAY = f"{__name__}.RecordingGateway"
    RecordingGateway.sent = []
    return RecordingGateway.sent


@pytest.fixture
def lead():
    return make_staff(Role.TEAM_LEAD)


@pytest.fixture
def capacity(lead, clock):
    return services.slot_capacity_set(lead=lead, queue=Queue.HALL, day=TUESDAY, per_slot=2)


def book(slot=None, *, serial=1, phone="13800000001"):
    return services.appointment_book(
        queue=Queue.HALL,
        slot_start=slot or at(TUESDAY, 9),
        id_number=make_id_number(serial=serial),
        phone=phone,
    )


# --- Booking ----------------------------------------------------------------------------


def test_a_booking_keeps_the_id_number_encrypted_and_gives_a_code(capacity):
    appointment = book()
    assert len(appointment.code) == 8 and appointment.code.isdigit()
    assert appointment.status == Appointment.Status.BOOKED
    assert make_id_number(serial=1) not in appointment.id_number_encrypted
    assert appointment.id_number_masked.count("*") == 8
    assert appointment.slot_end == at(TUESDAY, 9, 30)


def test_a_full_slot_is_refused(capacity):
    book(serial=1)
    book(serial=2)
    with pytest.raises(ValidationError) as refused:
        book(serial=3)
    assert refused.value.code == "slot_full"
    assert Appointment.objects.count() == 2


def test_a_cancelled_booking_frees_its_place(capacity):
    first = book(serial=1)
    book(serial=2)
    services.appointment_cancel(code=first.code, id_number=make_id_number(serial=1))
    assert book(serial=3).status == Appointment.Status.BOOKED


def test_a_slot_that_has_begun_is_refused(capacity, clock):
    clock(at(TUESDAY, 9, 5))
    with pytest.raises(ValidationError) as refused:
        book(at(TUESDAY, 9))
    assert refused.value.code == "past_slot"


def test_a_second_booking_of_the_same_id_number_that_day_is_refused(capacity):
    book(serial=1)
    with pytest.raises(ValidationError) as refused:
        book(at(TUESDAY, 10), serial=1)
    assert refused.value.code == "already_booked"


def test_a_day_the_hall_is_closed_is_refused(lead, clock):
    saturday = datetime.date(2024, 6, 22)
    services.slot_capacity_set(lead=lead, queue=Queue.HALL, day=saturday, per_slot=5)
    with pytest.raises(ValidationError) as refused:
        book(at(saturday, 9))
    assert refused.value.code == "closed_day"
    assert selectors.bookable_slots(queue=Queue.HALL, day=saturday) == []


def test_a_time_outside_the_opening_hours_is_refused(capacity):
    with pytest.raises(ValidationError) as refused:
        book(at(TUESDAY, 12, 30))  # the lunch break
    assert refused.value.code == "no_such_slot"


def test_a_day_beyond_the_booking_horizon_is_refused(lead, clock, settings):
    settings.APPOINTMENT_DAYS_AHEAD = 3
    far = datetime.date(2024, 6, 24)  # Monday, 7 days ahead
    services.slot_capacity_set(lead=lead, queue=Queue.HALL, day=far, per_slot=5)
    with pytest.raises(ValidationError) as refused:
        book(at(far, 9))
    assert refused.value.code == "too_far_ahead"


def test_a_queue_without_capacity_that_day_is_refused(clock):
    with pytest.raises(ValidationError) as refused:
        book()
    assert refused.value.code == "no_capacity"


def test_booking_texts_the_code_once_through_the_outbox(
    capacity, django_capture_on_commit_callbacks, texts
):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book()
    assert len(texts) == 1 and texts[0][0] == "13800000001"
    assert appointment.code in texts[0][1]
    assert services.appointment_text_send(text_id=AppointmentText.objects.get().pk) is False
    assert len(texts) == 1


def test_slots_follow_the_opening_hours():
    slots = services.day_slots(TUESDAY)
    assert slots[0] == (at(TUESDAY, 8, 30), at(TUESDAY, 9))
    assert slots[-1] == (at(TUESDAY, 17), at(TUESDAY, 17, 30))
    assert len(slots) == 7 + 7
    assert services.day_slots(datetime.date(2024, 10, 1)) == [], "National Day"


def test_bookable_slots_show_the_places_left(capacity):
    book()
    slots = {s["start"]: s["free"] for s in selectors.bookable_slots(queue=Queue.HALL, day=TUESDAY)}
    assert slots[at(TUESDAY, 9)] == 1 and slots[at(TUESDAY, 10)] == 2


# --- Cancelling -------------------------------------------------------------------------


def test_cancelling_needs_the_code_and_the_same_id_number(capacity):
    appointment = book(serial=1)
    with pytest.raises(Appointment.DoesNotExist):
        services.appointment_cancel(code=appointment.code, id_number=make_id_number(serial=2))
    services.appointment_cancel(code=appointment.code, id_number=make_id_number(serial=1))
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert AuditEvent.objects.filter(event_type="appointment.cancelled").count() == 1


def test_a_cancelled_booking_cannot_be_cancelled_again(capacity):
    appointment = book()
    services.appointment_cancel(code=appointment.code, id_number=make_id_number(serial=1))
    with pytest.raises(ValidationError):
        services.appointment_cancel(code=appointment.code, id_number=make_id_number(serial=1))


# --- Capacities -------------------------------------------------------------------------


def test_only_the_team_lead_sets_capacities_and_each_change_is_recorded(lead, clock):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.slot_capacity_set(
            lead=make_staff(Role.CLERK), queue=Queue.HALL, day=TUESDAY, per_slot=3
        )
    services.slot_capacity_set(lead=lead, queue=Queue.HALL, day=TUESDAY, per_slot=3)
    services.slot_capacity_set(lead=lead, queue=Queue.HALL, day=TUESDAY, per_slot=5)
    services.slot_capacity_set(lead=lead, queue=Queue.HALL, day=TUESDAY, per_slot=5)
    events = AuditEvent.objects.filter(event_type="appointment.capacity_set").order_by("pk")
    assert [(e.data["old"], e.data["new"]) for e in events] == [(None, 3), (3, 5)]
    assert SlotCapacity.objects.get().per_slot == 5


# --- Reminders --------------------------------------------------------------------------


def test_the_day_before_reminder_is_sent_once_however_often_the_task_runs(
    capacity, django_capture_on_commit_callbacks, texts
):
    book()
    monday = TUESDAY - datetime.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.appointment_reminders_send(today=monday) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert services.appointment_reminders_send(today=monday) == 0
    assert len(texts) == 1
    assert AppointmentText.objects.filter(dedupe_key__endswith=":reminder").count() == 1
    assert OutboxMessage.objects.filter(dedupe_key__endswith=":reminder").count() == 1


def test_no_reminder_for_a_cancelled_booking(capacity):
    appointment = book()
    services.appointment_cancel(code=appointment.code, id_number=make_id_number(serial=1))
    assert services.appointment_reminders_send(today=TUESDAY - datetime.timedelta(days=1)) == 0


# --- Check-in and the dispatch ----------------------------------------------------------


def _clerk_ready(number=1):
    clerk = make_staff(Role.CLERK)
    window = WindowFactory(number=number)
    counter_services.window_sign_on(clerk=clerk, window_id=window.pk)
    return clerk


def test_check_in_in_the_slot_issues_a_ticket_served_before_an_earlier_walk_in(capacity, clock):
    appointment = book()
    clerk = _clerk_ready()
    clock(at(TUESDAY, 8, 50))
    walk_in = counter_services.ticket_issue(item=ItemFactory())
    clock(at(TUESDAY, 9, 5))
    appointment = services.appointment_check_in(code=appointment.code, kiosk=None)
    ticket = appointment.ticket
    assert appointment.status == Appointment.Status.CHECKED_IN
    assert ticket.booked_slot_start == at(TUESDAY, 9)
    assert ticket.issued_at > walk_in.issued_at
    counter_services.window_declare_ready(clerk=clerk)
    ticket.refresh_from_db()
    walk_in.refresh_from_db()
    assert (ticket.status, walk_in.status) == (Ticket.Status.SERVING, Ticket.Status.WAITING)


def test_an_early_arrival_waits_as_a_walk_in_until_the_slot_starts(capacity, clock):
    appointment = book()
    clerk = _clerk_ready()
    clock(at(TUESDAY, 8, 40))
    early = services.appointment_check_in(code=appointment.code, kiosk=None).ticket
    clock(at(TUESDAY, 8, 45))
    walk_in = counter_services.ticket_issue(item=ItemFactory())
    assert early.booked_slot_start == at(TUESDAY, 9)
    counter_services.window_declare_ready(clerk=clerk)
    early.refresh_from_db()
    assert early.status == Ticket.Status.SERVING, "issued first, and no slot has started"
    counter_services.ticket_finish(clerk=clerk, pause_reason="break")
    # Another early arrival after the walk-in: before 09:00 the walk-in goes first.
    second = book(at(TUESDAY, 9), serial=2)
    clock(at(TUESDAY, 8, 50))
    later = services.appointment_check_in(code=second.code, kiosk=None).ticket
    counter_services.window_declare_ready(clerk=clerk)
    walk_in.refresh_from_db()
    later.refresh_from_db()
    assert (walk_in.status, later.status) == (Ticket.Status.SERVING, Ticket.Status.WAITING)


def test_a_late_arrival_becomes_a_walk_in(capacity, clock, settings):
    settings.APPOINTMENT_LATE_MINUTES = 15
    appointment = book()
    clock(at(TUESDAY, 9, 16))
    appointment = services.appointment_check_in(code=appointment.code, kiosk=None)
    assert appointment.status == Appointment.Status.CHECKED_IN_LATE
    assert appointment.ticket.booked_slot_start is None
    assert AuditEvent.objects.filter(event_type="appointment.checked_in_late").exists()


def test_check_in_by_id_number_finds_todays_booking(capacity, clock):
    appointment = book(serial=4)
    clock(at(TUESDAY, 9, 1))
    checked = services.appointment_check_in(id_number=make_id_number(serial=4), kiosk=None)
    assert checked.pk == appointment.pk and checked.ticket is not None
    assert checked.ticket.applicant_id_digest == appointment.id_number_digest


def test_check_in_refuses_another_days_booking_and_a_second_check_in(capacity, clock):
    appointment = book()
    with pytest.raises(ValidationError) as refused:
        services.appointment_check_in(code=appointment.code, kiosk=None)  # on Monday
    assert refused.value.code == "no_appointment"
    clock(at(TUESDAY, 9))
    services.appointment_check_in(code=appointment.code, kiosk=None)
    with pytest.raises(ValidationError) as again:
        services.appointment_check_in(code=appointment.code, kiosk=None)
    assert again.value.code == "appointment_closed"
    assert Ticket.objects.count() == 1


def test_a_booking_not_checked_in_by_slot_end_and_grace_is_a_no_show(capacity, clock, settings):
    settings.APPOINTMENT_NO_SHOW_GRACE_MINUTES = 30
    appointment = book()
    clock(at(TUESDAY, 9, 59))
    assert services.appointment_no_shows_record() == 0
    clock(at(TUESDAY, 10, 1))
    assert services.appointment_no_shows_record() == 1
    assert services.appointment_no_shows_record() == 0
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.NO_SHOW
    assert AuditEvent.objects.filter(event_type="appointment.no_show").count() == 1
    with pytest.raises(ValidationError):
        services.appointment_check_in(code=appointment.code, kiosk=None)


# --- Never a clerk, never a window ------------------------------------------------------


def test_no_field_or_url_of_an_appointment_names_a_clerk_or_a_window():
    from django.conf import settings as django_settings

    user_model = django_settings.AUTH_USER_MODEL.lower()
    for model in (Appointment, SlotCapacity):
        for field in model._meta.get_fields():
            if model is SlotCapacity and field.name == "set_by":
                continue  # the team lead who set the capacity
            related = getattr(field, "related_model", None)
            label = related._meta.label_lower if related is not None else ""
            assert label not in (user_model, "counters.window"), (model, field.name)
            assert "clerk" not in field.name and "window" not in field.name
    for form in (BookingForm, CheckInForm):
        assert not any("clerk" in n or "window" in n for n in form.base_fields)
    # No appointment URL takes a parameter: none can carry a clerk's or a window's id.
    appointment_urls = [str(p.pattern) for p in get_resolver("appointments.urls").url_patterns]
    assert appointment_urls and not any("<" in url for url in appointment_urls)
    assert isinstance(Appointment._meta.get_field("ticket"), models.OneToOneField)


# --- Reports ----------------------------------------------------------------------------


def test_report_counts_booked_checked_in_no_show_and_both_waits(capacity, clock, settings):
    settings.APPOINTMENT_NO_SHOW_GRACE_MINUTES = 0
    kept = book(serial=1)
    missed = book(serial=2)
    late = book(at(TUESDAY, 10), serial=3)
    cancelled = book(at(TUESDAY, 10), serial=4)
    services.appointment_cancel(code=cancelled.code, id_number=make_id_number(serial=4))
    clerk = _clerk_ready()
    clock(at(TUESDAY, 8, 55))
    walk_in = counter_services.ticket_issue(item=ItemFactory())
    clock(at(TUESDAY, 9, 2))
    services.appointment_check_in(code=kept.code, kiosk=None)
    clock(at(TUESDAY, 9, 6))
    counter_services.window_declare_ready(clerk=clerk)  # the booked ticket: 4 minutes
    clock(at(TUESDAY, 9, 15))
    counter_services.ticket_finish(clerk=clerk)  # the walk-in: called after 20 minutes
    clock(at(TUESDAY, 10, 40))
    services.appointment_check_in(code=late.code, kiosk=None)
    clock(at(TUESDAY, 10, 50))
    services.appointment_no_shows_record()
    figures = selectors.appointment_figures(first=TUESDAY, last=TUESDAY)
    assert figures["booked"] == 4
    assert figures["cancelled"] == 1
    assert figures["checked_in"] == 2 and figures["checked_in_late"] == 1
    assert figures["no_show"] == 1
    assert figures["average_wait_booked"] == 4.0
    assert figures["average_wait_walk_in"] == 20.0
    assert missed.pk and walk_in.pk


def test_the_slip_counts_a_started_appointment_ahead_of_an_earlier_walk_in(capacity, clock):
    from counters.selectors import tickets_ahead

    appointment = book()
    clock(at(TUESDAY, 8, 50))
    walk_in = counter_services.ticket_issue(item=ItemFactory())
    clock(at(TUESDAY, 9, 5))
    booked = services.appointment_check_in(code=appointment.code, kiosk=None).ticket
    assert (tickets_ahead(booked), tickets_ahead(walk_in)) == (0, 1)


def test_each_slip_counts_the_tickets_the_dispatch_takes_before_it(capacity, clock):
    """Priority tickets (an elder's appointment among them), appointments whose slot has
    started, walk-ins and an appointment not yet started: each slip's count is its place
    in the dispatch's own order, among its queue's waiting tickets only."""
    from counters.selectors import tickets_ahead

    elders = services.appointment_book(
        queue=Queue.HALL, slot_start=at(TUESDAY, 9), phone="13800000009",
        id_number=make_id_number(datetime.date(1950, 1, 2), serial=9),
    )  # fmt: skip
    early, late = book(serial=1), book(at(TUESDAY, 10), serial=2)
    clerk = _clerk_ready()
    clock(at(TUESDAY, 8, 30))
    counter_services.window_declare_ready(clerk=clerk)
    called = counter_services.ticket_issue(item=ItemFactory())
    counter_services.ticket_issue(item=None, queue=Queue.BACK_OFFICE, is_consultation=True)
    issued = []
    for minute, birth in [(40, 1980), (45, 1950), (50, 1980), (55, 1950)]:
        clock(at(TUESDAY, 8, minute))
        id_number = make_id_number(datetime.date(birth, 1, 2))
        issued.append(counter_services.ticket_issue(item=ItemFactory(), id_number=id_number))
    clock(at(TUESDAY, 9, 5))
    for appointment in (elders, early, late):
        issued.append(services.appointment_check_in(code=appointment.code, kiosk=None).ticket)
    clock(at(TUESDAY, 9, 6))
    issued.append(counter_services.ticket_issue(item=ItemFactory()))
    order = list(
        Ticket.objects.filter(status=Ticket.Status.WAITING, queue=Queue.HALL)
        .order_by(*counter_services.waiting_order(at(TUESDAY, 9, 6)))
        .values_list("pk", flat=True)
    )
    called.refresh_from_db()
    assert called.status == Ticket.Status.SERVING and tickets_ahead(called) == 0
    assert len(order) == 8 and sum(t.is_priority for t in issued) == 3
    assert {t.pk: tickets_ahead(t) for t in issued} == {pk: n for n, pk in enumerate(order)}
