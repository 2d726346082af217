"""Appointments (预约): a citizen books a time slot for a queue, never a clerk or a
window. At the hall the booking is checked in at the kiosk and becomes a ticket in the
same random dispatch (counters.services), called before walk-ins from its slot's start."""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from audit.bulk import AuditedManager
from counters.models import Queue
from sites.defaults import home_site_id

BOOKING_CODE_LENGTH = 8


def booking_code_new() -> str:
    """Eight digits: typed on the kiosk's keypad; guessing one also needs the ID number
    to cancel, and checking in needs a registered kiosk in the hall."""
    return "".join(secrets.choice("0123456789") for _ in range(BOOKING_CODE_LENGTH))


def _site_field():
    """The site a capacity or a booking is for (the home hall for rows from before sites)."""
    return models.ForeignKey(
        "sites.Site",
        verbose_name=_("site"),
        on_delete=models.PROTECT,
        related_name="+",
        default=home_site_id,
    )


class SlotCapacity(models.Model):
    """How many citizens may book each slot of one queue on one day (set by the team
    lead; no row, or 0: that day's slots of the queue cannot be booked). Each site has
    its own."""

    site = _site_field()
    queue = models.CharField(_("queue"), max_length=1, choices=Queue.choices)
    day = models.DateField(_("day"))
    per_slot = models.PositiveSmallIntegerField(_("bookings per slot"), default=0)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("set by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    set_at = models.DateTimeField(_("set at"), auto_now=True)
    objects = AuditedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("slot capacity")
        verbose_name_plural = _("slot capacities")
        constraints = [
            models.UniqueConstraint(
                fields=["site", "queue", "day"], name="appointments_capacity_per_site_queue_day"
            ),
            models.CheckConstraint(
                condition=models.Q(per_slot__lte=500), name="appointments_capacity_at_most_500"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.queue}: {self.per_slot}"


class Appointment(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CANCELLED = "cancelled", _("Cancelled")
        CHECKED_IN = "checked_in", _("Checked in")
        CHECKED_IN_LATE = "checked_in_late", _("Checked in late (served as a walk-in)")
        NO_SHOW = "no_show", _("No-show")

    code = models.CharField(
        _("booking code"), max_length=BOOKING_CODE_LENGTH, unique=True, default=booking_code_new
    )
    # A site, a queue and a time, never a clerk or a window: the dispatch draws the
    # clerk among the site's windows, and the booking is checked in only at that site.
    site = _site_field()
    queue = models.CharField(_("queue"), max_length=1, choices=Queue.choices)
    day = models.DateField(_("day"))
    slot_start = models.DateTimeField(_("slot starts"))
    slot_end = models.DateTimeField(_("slot ends"))
    id_number_encrypted = models.TextField(_("ID number (encrypted)"))
    id_number_digest = models.CharField(_("ID number digest"), max_length=64)
    id_number_masked = models.CharField(_("ID number (masked)"), max_length=18)
    phone = models.CharField(_("mobile number"), max_length=11)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.BOOKED
    )
    booked_at = models.DateTimeField(_("booked at"))
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    ticket = models.OneToOneField(
        "counters.Ticket",
        verbose_name=_("ticket"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    objects = AuditedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        constraints = [
            # One active booking per ID number a day (services.appointment_book says so
            # first; this is the guard against a race).
            models.UniqueConstraint(
                fields=["day", "id_number_digest"],
                condition=models.Q(status="booked"),
                name="appointments_one_booked_per_id_day",
            ),
            models.CheckConstraint(
                condition=models.Q(slot_end__gt=models.F("slot_start")),
                name="appointments_slot_ends_after_start",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=["checked_in", "checked_in_late"])
                | models.Q(ticket__isnull=False),
                name="appointments_checked_in_has_ticket",
            ),
        ]
        indexes = [
            # A site's slot's bookings against its capacity; the team lead's day screen.
            models.Index(fields=["site", "queue", "slot_start"], name="appointments_site_slot_idx"),
            # A citizen's booking of the day (check-in by ID number, one per day).
            models.Index(fields=["id_number_digest", "day"], name="appointments_citizen_idx"),
            # The no-show sweep and the reminders: bookings still waiting.
            models.Index(
                fields=["slot_end"],
                name="appointments_booked_idx",
                condition=models.Q(status="booked"),
            ),
        ]

    def __str__(self) -> str:
        return self.code


class AppointmentText(models.Model):
    """A text to the citizen (confirmation, reminder), recorded before it is sent so it
    is sent exactly once (the dedupe key), through the SMS gateway."""

    appointment = models.ForeignKey(
        Appointment, verbose_name=_("appointment"), on_delete=models.PROTECT, related_name="texts"
    )
    phone = models.CharField(_("mobile number"), max_length=11)
    text = models.CharField(_("text"), max_length=300)
    dedupe_key = models.CharField(_("deduplication key"), max_length=128, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("appointment text")
        verbose_name_plural = _("appointment texts")

    def __str__(self) -> str:
        return self.dedupe_key
