"""Tickets and windows change status only through their declared tables: every allowed
move is recorded, a move outside the table is refused and changes nothing."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.bulk import bulk_writes_allowed
from audit.models import AuditEvent
from counters import services
from counters.models import Ticket, Window
from counters.transitions import (
    TICKET_TRANSITIONS,
    WINDOW_TRANSITIONS,
    HallStateError,
    ticket_transition,
    window_transition,
)
from staff.roles import Role
from tests.factories import make_staff

pytestmark = pytest.mark.django_db

TS = Ticket.Status
WS = Window.State


def _pairs(table, allowed: bool):
    return [
        (source, target)
        for source in table
        for target in table
        if (target in table[source]) == allowed
    ]


def _ticket_in(status: str, hall) -> Ticket:
    ticket = services.ticket_issue(item=hall.item)
    called = {"clerk": hall.li_na, "window": hall.window, "called_at": timezone.now()}
    with bulk_writes_allowed():
        Ticket.objects.filter(pk=ticket.pk).update(
            status=status, **(called if status != TS.WAITING else {})
        )
    ticket.refresh_from_db()
    return ticket


@pytest.mark.parametrize(("source", "target"), _pairs(TICKET_TRANSITIONS, True))
def test_every_allowed_ticket_move_is_recorded(source, target, hall):
    ticket = _ticket_in(source, hall)
    ticket.clerk, ticket.window = hall.li_na, hall.window  # a called ticket has its clerk
    with transaction.atomic():
        ticket_transition(ticket=ticket, to=target, actor=None, fields=("clerk", "window"))
    ticket.refresh_from_db()
    assert ticket.status == target
    event = AuditEvent.objects.filter(object_id=str(ticket.pk)).latest("id")
    assert event.event_type == TICKET_TRANSITIONS[source][target]


@pytest.mark.parametrize(("source", "target"), _pairs(TICKET_TRANSITIONS, False))
def test_a_ticket_move_outside_the_table_is_refused_and_changes_nothing(source, target, hall):
    ticket = _ticket_in(source, hall)
    events = AuditEvent.objects.count()
    with pytest.raises(HallStateError), transaction.atomic():
        ticket_transition(ticket=ticket, to=target, actor=None)
    ticket.refresh_from_db()
    assert ticket.status == source and AuditEvent.objects.count() == events


def _window_in(state: str, hall) -> Window:
    """A window in `state`, with a clerk (and a ticket when serving), as the database's
    own constraints require."""
    window = hall.window
    if state != WS.OFFLINE:
        services.window_sign_on(clerk=hall.li_na, window_id=window.pk)
    ticket = _ticket_in(TS.SERVING, hall) if state == WS.SERVING else None
    with bulk_writes_allowed():
        Window.objects.filter(pk=window.pk).update(state=state, current_ticket=ticket)
    window.refresh_from_db()
    return window


@pytest.mark.parametrize(("source", "target"), _pairs(WINDOW_TRANSITIONS, True))
def test_every_allowed_window_move_is_made(source, target, hall):
    window = _window_in(source, hall)
    fields = ()
    if target == WS.SERVING:
        window.current_ticket = _ticket_in(TS.SERVING, hall)
        fields = ("current_ticket",)
    elif source == WS.SERVING:
        window.current_ticket = None
        fields = ("current_ticket",)
    if target == WS.OFFLINE:
        window.clerk = None
        fields = ("clerk",)
    if source == WS.OFFLINE:
        window.clerk = hall.li_na
        fields = ("clerk",)
    with transaction.atomic():
        window_transition(window=window, to=target, actor=hall.li_na, fields=fields)
    window.refresh_from_db()
    assert window.state == target
    if WINDOW_TRANSITIONS[source][target] is not None:
        event = AuditEvent.objects.filter(object_id=str(window.pk)).latest("id")
        assert event.event_type == WINDOW_TRANSITIONS[source][target]


@pytest.mark.parametrize(("source", "target"), _pairs(WINDOW_TRANSITIONS, False))
def test_a_window_move_outside_the_table_is_refused(source, target, hall):
    window = _window_in(source, hall)
    with pytest.raises(HallStateError), transaction.atomic():
        window_transition(window=window, to=target, actor=hall.li_na)
    window.refresh_from_db()
    assert window.state == source


def test_signing_on_again_to_ones_own_window_changes_nothing(hall):
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    window = services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    assert window.state == WS.READY


def test_a_second_clerk_cannot_take_a_staffed_window(hall):
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    other = make_staff(Role.CLERK)
    with pytest.raises(ValidationError):
        services.window_sign_on(clerk=other, window_id=hall.window.pk)
