"""Appointments: booking, cancelling, the team lead's capacities, check-in at the kiosk
(a ticket in the hall's random dispatch), the day-before reminder and the no-show sweep.

The rule the dispatch keeps (counters.services.waiting_order): a checked-in appointment
ticket whose slot has started is called before the walk-in tickets of its queue; one
that arrived early waits as a walk-in until its slot starts; one checked in more than
APPOINTMENT_LATE_MINUTES after its slot began is a walk-in's ticket. A booking never
names a clerk or a window."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from appointments.models import Appointment, AppointmentText, SlotCapacity, booking_code_new
from appointments.transitions import appointment_transition
from audit.services import audit_event_record
from counters.models import Queue
from counters.services import ticket_issue
from devices.models import HallDevice
from langzhong_si.calendar import is_working_day
from langzhong_si.errors import StateConflict
from langzhong_si.hall import hall_sessions
from langzhong_si.identity import (
    id_number_digest,
    id_number_mask,
    id_number_validate,
    personal_data_decrypt,
    personal_data_encrypt,
    phone_number_validate,
)
from langzhong_si.sms import sms_send_once
from outbox.services import outbox_enqueue
from sites.defaults import home_site_id
from sites.models import Site
from staff.roles import Role
from staff.scope import scope_of
from staff.selectors import user_has_role

AS = Appointment.Status
TEXT_SEND_TASK = "appointments.tasks.appointment_text_send"


# --- Slots ------------------------------------------------------------------------------


def day_slots(day: datetime.date) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """The day's slots: each session of HALL_HOURS cut into APPOINTMENT_SLOT_MINUTES (a
    last piece shorter than a slot is not offered); none on a day the hall is closed."""
    if not is_working_day(day):
        return []
    length = datetime.timedelta(minutes=settings.APPOINTMENT_SLOT_MINUTES)
    zone = timezone.get_current_timezone()
    slots = []
    for opens, closes in hall_sessions():
        start = datetime.datetime.combine(day, opens, tzinfo=zone)
        end_of_session = datetime.datetime.combine(day, closes, tzinfo=zone)
        while start + length <= end_of_session:
            slots.append((start, start + length))
            start += length
    return slots


def booking_days(today: datetime.date) -> list[datetime.date]:
    """The days a citizen may book: today and the next APPOINTMENT_DAYS_AHEAD days on
    which the hall opens."""
    days = (today + datetime.timedelta(days=n) for n in range(settings.APPOINTMENT_DAYS_AHEAD + 1))
    return [day for day in days if is_working_day(day)]


def _slot_of(slot_start: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime]:
    day = timezone.localtime(slot_start).date()
    for start, end in day_slots(day):
        if start == slot_start:
            return start, end
    if not is_working_day(day):
        raise ValidationError(_("The hall is closed on that day."), code="closed_day")
    raise ValidationError(_("Choose one of the slots offered."), code="no_such_slot")


# --- Booking and cancelling -------------------------------------------------------------


def appointment_book(
    *,
    queue: str,
    slot_start: datetime.datetime,
    id_number: str,
    phone: str,
    site_id: int | None = None,
) -> Appointment:
    """Book a slot of `queue` for the citizen with `id_number` (kept encrypted, found by
    its keyed digest); the booking code is shown and texted to `phone`. Refused: a slot
    in the past or beyond APPOINTMENT_DAYS_AHEAD, a closed day, a queue without
    capacity that day, a full slot, a second active booking of the day. The booking is
    for `site_id` (the home hall where none is named): its capacity, its slots, and
    check-in only at its kiosks."""
    number = id_number_validate(id_number)
    phone = phone_number_validate(phone)
    if not phone:
        raise ValidationError(_("Give a mobile number for the booking code."), code="phone")
    if queue not in Queue.values:
        raise ValidationError(_("Choose a queue."), code="queue")
    start, end = _slot_of(slot_start)
    now = timezone.now()
    if start <= now:
        raise ValidationError(_("This slot has already begun."), code="past_slot")
    day = timezone.localtime(start).date()
    last_day = timezone.localdate() + datetime.timedelta(days=settings.APPOINTMENT_DAYS_AHEAD)
    if day > last_day:
        raise ValidationError(
            _("Appointments can be booked up to %(n)d days ahead.")
            % {"n": settings.APPOINTMENT_DAYS_AHEAD},
            code="too_far_ahead",
        )
    digest = id_number_digest(number)
    site_id = site_id or home_site_id()
    site = Site.objects.filter(pk=site_id, active=True).first()
    if site is None:
        raise ValidationError(_("Choose a site."), code="site")
    with transaction.atomic(durable=True):
        # The site's queue's day row is locked: bookings of one queue and day take their
        # places one at a time, so a slot is never over-booked.
        capacity = (
            SlotCapacity.objects.select_for_update()
            .filter(site_id=site_id, queue=queue, day=day)
            .first()
        )
        if capacity is None or capacity.per_slot == 0:
            raise StateConflict(
                _("No appointments are offered for this queue on that day."), code="no_capacity"
            )
        if Appointment.objects.filter(day=day, id_number_digest=digest, status=AS.BOOKED).exists():
            raise StateConflict(
                _("This ID number already has an appointment on that day. Cancel it first to "
                  "book another time."),
                code="already_booked",
            )  # fmt: skip
        taken = (
            Appointment.objects.filter(site_id=site_id, queue=queue, slot_start=start)
            .exclude(status=AS.CANCELLED)
            .count()
        )
        if taken >= capacity.per_slot:
            raise StateConflict(
                _("This slot is fully booked. Choose another time."), code="slot_full"
            )
        code = booking_code_new()
        while Appointment.objects.filter(code=code).exists():
            code = booking_code_new()
        appointment = Appointment.objects.create(
            site=site,
            code=code,
            queue=queue,
            day=day,
            slot_start=start,
            slot_end=end,
            id_number_encrypted=personal_data_encrypt(number),
            id_number_digest=digest,
            id_number_masked=id_number_mask(number),
            phone=phone,
            booked_at=now,
        )
        audit_event_record(
            event_type="appointment.booked",
            obj=appointment,
            data={"code": code, "site": site_id, "queue": queue, "slot": start.isoformat()},
        )
        _text_queue(
            appointment=appointment,
            event="booked",
            # The text names the booked site: the citizen goes where it says.
            text=_(
                "%(site)s: your appointment %(when)s, booking code %(code)s. Check in at "
                "the kiosk with the code or your ID card."
            )
            % {"site": site.name, "when": _when(appointment), "code": code},
        )
    return appointment


def _when(appointment: Appointment) -> str:
    start = timezone.localtime(appointment.slot_start)
    end = timezone.localtime(appointment.slot_end)
    return f"{date_format(start, 'Y-m-d H:i')}–{date_format(end, 'H:i')}"


def appointment_cancel(*, code: str, id_number: str) -> Appointment:
    """The citizen cancels with the booking code and the ID number it was booked with."""
    number = id_number_validate(id_number)
    with transaction.atomic(durable=True):
        appointment = (
            Appointment.objects.select_for_update()
            .filter(code=code.strip(), id_number_digest=id_number_digest(number))
            .first()
        )
        if appointment is None:
            raise Appointment.DoesNotExist
        appointment_transition(appointment=appointment, to=AS.CANCELLED, actor=None)
    return appointment


# --- The team lead's capacities ---------------------------------------------------------


def slot_capacity_set(
    *, lead, queue: str, day: datetime.date, per_slot: int, site_id: int | None = None
) -> SlotCapacity:
    """The team lead sets how many citizens may book each slot of `queue` on `day` at
    `site_id` (default: the home hall), one of the sites of their agency (recorded with
    the old and new number). Bookings already made stay."""
    if not user_has_role(lead, Role.TEAM_LEAD):
        raise PermissionDenied(_("Only the team lead sets appointment capacities."))
    site_id = site_id or home_site_id()
    scope = scope_of(lead)
    if not scope.allows_site(site_id) or scope.read_only:
        raise PermissionDenied(_("You set appointment capacities only for your own sites."))
    if queue not in Queue.values:
        raise ValidationError(_("Choose a queue."), code="queue")
    if not 0 <= per_slot <= 500:
        raise ValidationError(_("Give a number from 0 to 500."), code="per_slot")
    if day < timezone.localdate():
        raise ValidationError(_("Past days cannot be changed."), code="past_day")
    with transaction.atomic(durable=True):
        capacity = (
            SlotCapacity.objects.select_for_update()
            .filter(site_id=site_id, queue=queue, day=day)
            .first()
        )
        old = capacity.per_slot if capacity else None
        if capacity is None:
            capacity = SlotCapacity.objects.create(
                site_id=site_id, queue=queue, day=day, per_slot=per_slot, set_by=lead
            )
        elif old != per_slot:
            capacity.per_slot = per_slot
            capacity.set_by = lead
            capacity.save(update_fields=["per_slot", "set_by", "set_at"])
        if old != per_slot:
            audit_event_record(
                event_type="appointment.capacity_set",
                actor=lead,
                obj=capacity,
                data={
                    "site": site_id,
                    "queue": queue,
                    "day": day.isoformat(),
                    "old": old,
                    "new": per_slot,
                },
            )
    return capacity


# --- Check-in at the kiosk --------------------------------------------------------------


def appointment_check_in(
    *, code: str = "", id_number: str = "", kiosk: HallDevice | None
) -> Appointment:
    """Check today's booking in, found by its code or by the ID number it was booked with
    (typed, or read from the ID card by the kiosk's device bridge), and issue its ticket
    in the same transaction. On time or early: the ticket carries the slot's start, from
    which the dispatch calls it before walk-ins; more than APPOINTMENT_LATE_MINUTES late:
    a walk-in's ticket. A missed (no-show) or cancelled booking is refused, and so is a
    booking of another site: it is checked in only at the site it was booked for."""
    if not code and not id_number:
        raise ValidationError(_("Enter your booking code."), code="code")
    today = timezone.localdate()
    found = Appointment.objects.select_for_update().filter(day=today)
    if code:
        found = found.filter(code=code.strip())
    else:
        found = found.filter(
            id_number_digest=id_number_digest(id_number_validate(id_number)), status=AS.BOOKED
        )
    with transaction.atomic(durable=True):
        appointment = found.first()
        if appointment is None:
            raise ValidationError(
                _("No appointment for today matches. Take a ticket as a walk-in."),
                code="no_appointment",
            )
        if appointment.status != AS.BOOKED:
            raise StateConflict(
                _("This appointment is %(status)s. Take a ticket as a walk-in.")
                % {"status": appointment.get_status_display()},
                code="appointment_closed",
            )
        if kiosk is not None and kiosk.site_id != appointment.site_id:
            raise StateConflict(
                _("This appointment is at %(site)s: check in at a kiosk there, or take a "
                  "ticket here as a walk-in.") % {"site": appointment.site},
                code="other_site",
            )  # fmt: skip
        now = timezone.now()
        late = now > appointment.slot_start + datetime.timedelta(
            minutes=settings.APPOINTMENT_LATE_MINUTES
        )
        ticket = ticket_issue(
            item=None,
            queue=appointment.queue,
            id_number=personal_data_decrypt(appointment.id_number_encrypted),
            booked_slot_start=None if late else appointment.slot_start,
            kiosk=kiosk,
            site_id=appointment.site_id,
            durable=False,
        )
        appointment.ticket = ticket
        appointment.checked_in_at = now
        appointment_transition(
            appointment=appointment,
            to=AS.CHECKED_IN_LATE if late else AS.CHECKED_IN,
            actor=None,
            fields=("ticket", "checked_in_at"),
            data={"ticket": ticket.display_number, "by": "code" if code else "id_number"},
        )
    return appointment


# --- Background: no-shows, reminders, texts ---------------------------------------------


def appointment_no_shows_record(*, now: datetime.datetime | None = None) -> int:
    """Bookings not checked in by their slot's end plus APPOINTMENT_NO_SHOW_GRACE_MINUTES
    are recorded as no-shows (beat, every few minutes; safe to run twice)."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(minutes=settings.APPOINTMENT_NO_SHOW_GRACE_MINUTES)
    recorded = 0
    ids = Appointment.objects.filter(status=AS.BOOKED, slot_end__lt=cutoff).values_list(
        "pk", flat=True
    )
    for appointment_id in list(ids[:1000]):
        with transaction.atomic(durable=True):
            appointment = (
                Appointment.objects.select_for_update(skip_locked=True)
                .filter(pk=appointment_id, status=AS.BOOKED)
                .first()
            )
            if appointment is None:
                continue  # checked in or recorded meanwhile
            appointment_transition(appointment=appointment, to=AS.NO_SHOW, actor=None)
            recorded += 1
    return recorded


def appointment_reminders_send(*, today: datetime.date | None = None) -> int:
    """Queue the day-before text of every booking for tomorrow; each booking's reminder
    is queued once, however often this runs (its dedupe key)."""
    today = today or timezone.localdate()
    tomorrow = today + datetime.timedelta(days=1)
    queued = 0
    for appointment in Appointment.objects.filter(day=tomorrow, status=AS.BOOKED).select_related(
        "site"
    ):
        with transaction.atomic(durable=True):
            queued += _text_queue(
                appointment=appointment,
                event="reminder",
                text=_(
                    "%(site)s: reminder of your appointment %(when)s, booking code "
                    "%(code)s. To cancel, use the code and your ID number."
                )
                % {
                    "site": appointment.site.name,
                    "when": _when(appointment),
                    "code": appointment.code,
                },  # fmt: skip
            )
    return queued


def _text_queue(*, appointment: Appointment, event: str, text: str) -> int:
    """Record a text in the caller's transaction; it is sent after commit, once."""
    message, created = AppointmentText.objects.get_or_create(
        dedupe_key=f"appointment-sms:{appointment.pk}:{event}",
        defaults={"appointment": appointment, "phone": appointment.phone, "text": text[:300]},
    )
    if created:
        outbox_enqueue(
            task_name=TEXT_SEND_TASK,
            kwargs={"text_id": message.pk},
            dedupe_key=message.dedupe_key,
        )
    return int(created)


def appointment_text_send(*, text_id: int) -> bool:
    """Send once (a repeated task sends nothing)."""
    return sms_send_once(AppointmentText.objects, pk=text_id)
