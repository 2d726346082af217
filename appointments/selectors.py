"""What the booking page, the team lead's screen and the reports read."""

from __future__ import annotations

import datetime
from statistics import mean

from django.db.models import Count, Q
from django.utils import timezone

from appointments.models import Appointment, SlotCapacity
from appointments.services import day_slots
from counters.models import Queue, Ticket
from sites.defaults import home_site_id
from sites.models import Site

AS = Appointment.Status


def bookable_sites():
    """The sites a citizen may book at: every active site of the deployment, each
    agency's hall first."""
    return Site.objects.filter(active=True, agency__active=True).select_related("agency")


def _taken_by_slot(site_id: int, queue: str | None, day: datetime.date) -> dict:
    rows = (
        Appointment.objects.filter(site_id=site_id, day=day)
        .exclude(status=AS.CANCELLED)
        .values("queue", "slot_start")
        .annotate(n=Count("pk"))
    )
    if queue:
        rows = rows.filter(queue=queue)
    return {(row["queue"], row["slot_start"]): row["n"] for row in rows}


def bookable_slots(
    *, queue: str, day: datetime.date, site_id: int | None = None, now=None
) -> list[dict]:
    """The day's slots of the site's `queue` (default: the home hall's) that have not
    begun, with the places left (0: full)."""
    now = now or timezone.now()
    site_id = site_id or home_site_id()
    capacity = SlotCapacity.objects.filter(site_id=site_id, queue=queue, day=day).first()
    per_slot = capacity.per_slot if capacity else 0
    if per_slot == 0:
        return []
    taken = _taken_by_slot(site_id, queue, day)
    return [
        {"start": start, "end": end, "free": max(per_slot - taken.get((queue, start), 0), 0)}
        for start, end in day_slots(day)
        if start > now
    ]


def capacity_day(*, site_id: int, day: datetime.date) -> list[dict]:
    """The team lead's view of one site's day: per queue, the capacity per slot and each
    slot's bookings by status."""
    capacities = {
        c.queue: c
        for c in SlotCapacity.objects.filter(site_id=site_id, day=day).select_related("set_by")
    }
    counts = {}
    for row in (
        Appointment.objects.filter(site_id=site_id, day=day)
        .values("queue", "slot_start", "status")
        .annotate(n=Count("pk"))
    ):
        counts.setdefault((row["queue"], row["slot_start"]), {})[row["status"]] = row["n"]
    slots = day_slots(day)
    result = []
    for queue in Queue:
        capacity = capacities.get(queue.value)
        result.append(
            {
                "queue": queue,
                "capacity": capacity,
                "per_slot": capacity.per_slot if capacity else 0,
                "slots": [
                    {
                        "start": start,
                        "end": end,
                        "cells": [
                            counts.get((queue.value, start), {}).get(v, 0) for v in AS.values
                        ],
                    }
                    for start, end in slots
                ],
            }
        )
    return result


def _minutes(values: list[float]) -> float | None:
    return round(mean(values) / 60, 1) if values else None


def appointment_figures(*, first: datetime.date, last: datetime.date) -> dict:
    """Booked, cancelled, checked in (on time / late), no-shows, and the average wait to
    be called of booked and of walk-in citizens, over the days `first`..`last`. A booked
    citizen's wait counts from their check-in or their slot's start, whichever is later
    (an early arrival waits as a walk-in until then by choice); a walk-in's from issue."""
    appointments = Appointment.objects.filter(day__gte=first, day__lte=last)
    figures = appointments.aggregate(
        booked=Count("pk"),
        cancelled=Count("pk", filter=Q(status=AS.CANCELLED)),
        checked_in=Count("pk", filter=Q(status__in=[AS.CHECKED_IN, AS.CHECKED_IN_LATE])),
        checked_in_late=Count("pk", filter=Q(status=AS.CHECKED_IN_LATE)),
        no_show=Count("pk", filter=Q(status=AS.NO_SHOW)),
        waiting=Count("pk", filter=Q(status=AS.BOOKED)),
    )
    booked_waits = []
    booked_tickets = set()
    for ticket_id, slot_start, issued_at, called_at in appointments.filter(
        ticket__isnull=False
    ).values_list("ticket_id", "slot_start", "ticket__issued_at", "ticket__first_called_at"):
        booked_tickets.add(ticket_id)
        if called_at is not None:
            booked_waits.append(max((called_at - max(issued_at, slot_start)).total_seconds(), 0))
    walk_in_waits = [
        (called_at - issued_at).total_seconds()
        for ticket_id, issued_at, called_at in Ticket.objects.filter(
            service_date__gte=first, service_date__lte=last, called_at__isnull=False
        ).values_list("pk", "issued_at", "first_called_at")
        if ticket_id not in booked_tickets and called_at is not None
    ]
    figures["average_wait_booked"] = _minutes(booked_waits)
    figures["average_wait_walk_in"] = _minutes(walk_in_waits)
    return figures
