"""simulate_hall drives the real services: everything it leaves behind passes the same
checks as a real hall's records (audit chain, draw verification, state rules)."""

import datetime
import math
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from appointments.models import Appointment
from audit.models import AuditEvent
from audit.services import audit_log_verify
from counters.models import Case, Ticket, Window
from draws.models import DailySeed, Draw
from evaluation.periods import Period
from evaluation.selectors import period_report
from inspection.draws import draws_verify
from langzhong_si.identity import credit_code_validate
from risk.models import ReviewTask
from simulation.hall import APPOINTMENT_NO_SHOW_SHARE, HallSimulation

pytestmark = pytest.mark.django_db(transaction=True)

FIRST, LAST = datetime.date(2018, 6, 25), datetime.date(2018, 6, 26)


def test_the_simulated_period_gives_figures_and_closes_every_day(simulated):
    report = period_report(Period(FIRST, LAST), today=datetime.date(2018, 9, 1))
    assert 30 <= report["tickets"]["issued"] <= 110
    assert report["cases"]["accepted"] > 20
    assert report["cases"]["final_in_time"] > 0
    assert f"{report['cases']['accepted']} cases accepted" in simulated
    days = {moment.date() for moment in Ticket.objects.values_list("issued_at", flat=True)}
    assert days <= {FIRST, LAST}
    assert not Ticket.objects.filter(status__in=["waiting", "serving"]).exists()
    assert not Window.objects.exclude(state=Window.State.OFFLINE).exists()
    assert not ReviewTask.objects.filter(status__in=ReviewTask.OPEN_STATES).exists()
    assert not Case.objects.filter(status__in=["in_review", "returned"]).exists()


def test_the_simulated_records_are_what_the_real_services_leave(simulated):
    tickets = Ticket.objects.count()
    assert AuditEvent.objects.filter(event_type="ticket.issued").count() == tickets
    assert AuditEvent.objects.filter(event_type="case.accepted").count() == Case.objects.count()
    dispatched = Ticket.objects.exclude(status=Ticket.Status.WAITING).count()
    assert Draw.objects.filter(purpose=Draw.Purpose.TICKET_DISPATCH).count() >= dispatched
    assert ReviewTask.objects.filter(assignee__isnull=False, draw__isnull=True).count() == 0
    assert audit_log_verify() is None
    for day in DailySeed.objects.filter(revealed_at__isnull=False).values_list("day", flat=True):
        assert draws_verify(day=day) == []
    assert DailySeed.objects.filter(day=FIRST, revealed_at__isnull=False).exists()


def test_agents_employers_and_appointments_appear_in_the_records_in_their_shares(simulated):
    # Two short days: the bounds allow for the draws' effect on the simulated order.
    cases = Case.objects.filter(accepted_at__date__range=(FIRST, LAST)).select_related(
        "item__category"
    )
    through_agent = [case for case in cases if case.agent_id_digest]
    employers = [case for case in cases if case.applicant_kind == Case.ApplicantKind.EMPLOYER]
    assert 0.05 <= len(through_agent) / len(cases) <= 0.30
    assert all(case.item.takes_employer for case in employers)
    employer_items = [case for case in cases if case.item.takes_employer]
    assert len(employers) >= 0.6 * len(employer_items)
    tickets = Ticket.objects.filter(service_date__range=(FIRST, LAST))
    booked = Appointment.objects.filter(day__range=(FIRST, LAST))
    checked_in = booked.filter(ticket__isnull=False)
    # Bookings are at the hall only (70 % of arrivals), so about 14 % of tickets, fewer
    # in two short days' few dozen: 4 to 11 bookings of 58 to 73 tickets in runs seen.
    assert checked_in.exists()
    assert checked_in.count() / tickets.count() <= 0.40
    # The nightly sweep leaves no booking open: each came (with a ticket), was cancelled
    # or is a no-show.
    no_shows = booked.filter(status=Appointment.Status.NO_SHOW)
    assert not booked.filter(status=Appointment.Status.BOOKED).exists()
    assert not no_shows.filter(ticket__isnull=False).exists()
    assert set(booked.filter(ticket__isnull=True).values_list("status", flat=True)) <= {
        Appointment.Status.NO_SHOW,
        Appointment.Status.CANCELLED,
    }
    # Few never come (6 %): at most three standard deviations above that share, plus one,
    # since two short days book only a handful (4 bookings and 1 no-show is ordinary).
    share, count = APPOINTMENT_NO_SHOW_SHARE, booked.count()
    assert no_shows.count() <= count * share + 3 * math.sqrt(count * share * (1 - share)) + 1
    assert AuditEvent.objects.filter(event_type="appointment.checked_in").exists()


def test_the_simulated_citizens_come_in_the_halls_shares(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    call_command("seed_demo", stdout=StringIO())
    simulation = HallSimulation(first=FIRST, last=LAST, seed=5)
    visits = [simulation._visit() for _ in range(4000)]
    matters = [(citizen, item) for citizen, item, _plan in visits if item is not None]
    agents = sum(citizen.agent is not None for citizen, _item in matters)
    for_employer = [item.takes_employer for citizen, item in matters if citizen.employer]
    employer_items = sum(item.takes_employer for _citizen, item in matters)
    assert 0.13 <= agents / len(matters) <= 0.17
    assert all(for_employer)
    assert 0.86 <= len(for_employer) / employer_items <= 0.94
    assert all(
        credit_code_validate(citizen.employer.credit_code) == citizen.employer.credit_code
        for citizen, _item in matters
        if citizen.employer
    )


def test_the_demo_hall_books_the_simulated_cards_for_the_next_working_day_once(
    db, settings, tmp_path
):
    from appointments.services import booking_days
    from devices.bridge.simulator import CITIZENS
    from langzhong_si.identity import id_number_digest

    settings.VAR_DIR = tmp_path / "var"
    output = StringIO()
    call_command("seed_demo", stdout=output)
    call_command("seed_demo", stdout=StringIO())  # run again: nothing booked twice
    today = timezone.localdate()
    next_day = next(day for day in booking_days(today) if day > today)
    booked = Appointment.objects.filter(day=next_day, status=Appointment.Status.BOOKED)
    assert sorted(booked.values_list("id_number_digest", flat=True)) == sorted(
        id_number_digest(citizen["id_number"]) for citizen in CITIZENS
    )
    assert all(appointment.code in output.getvalue() for appointment in booked)
    assert Appointment.objects.filter(day__gt=next_day).count() == 0
