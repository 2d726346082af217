"""A clerk whose session ends — signed out, or ended for idleness — leaves no ready window
behind for the dispatch to call citizens to."""

import time

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from counters import services
from counters.models import Ticket, Window
from staff.middleware import LAST_ACTIVE_AT
from staff.roles import Role
from tests.factories import ItemFactory, WindowFactory, make_staff, sign_in

pytestmark = pytest.mark.django_db

POLL = {"HTTP_X_POLL": "1", "HTTP_HX_REQUEST": "true"}


@pytest.fixture
def ready_clerk(client):
    clerk = make_staff(Role.CLERK)
    window = WindowFactory(number=7)
    services.window_sign_on(clerk=clerk, window_id=window.pk)
    services.window_declare_ready(clerk=clerk)
    sign_in(client, clerk)
    return clerk, window


def _idle(client, settings):
    session = client.session
    session[LAST_ACTIVE_AT] = time.time() - settings.SESSION_IDLE_SECONDS - 1
    session.save()


def test_an_idle_clerks_ready_window_goes_offline_when_the_session_ends(
    client, settings, ready_clerk
):
    clerk, window = ready_clerk
    _idle(client, settings)
    response = client.get(reverse("counters:workbench_panel"), **POLL)
    assert response.status_code == 204 and response["HX-Redirect"] == reverse("login")
    window.refresh_from_db()
    assert (window.state, window.clerk_id) == (Window.State.OFFLINE, None)
    event = AuditEvent.objects.filter(event_type="window.signed_off", actor=clerk).get()
    assert event.data["reason"] == "session_ended"


def test_a_ticket_taken_after_the_clerk_timed_out_is_not_handed_to_their_window(
    client, settings, ready_clerk
):
    _clerk, window = ready_clerk
    _idle(client, settings)
    client.get(reverse("counters:workbench_panel"), **POLL)
    ticket = services.ticket_issue(item=ItemFactory(), queue=window.queue)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.WAITING and ticket.window_id is None


def test_signing_out_releases_the_window(client, ready_clerk):
    _clerk, window = ready_clerk
    client.post(reverse("logout"))
    window.refresh_from_db()
    assert window.state == Window.State.OFFLINE


def test_a_window_serving_a_ticket_stays_with_its_clerk_when_the_session_ends(
    client, settings, ready_clerk
):
    clerk, window = ready_clerk
    ticket = services.ticket_issue(item=ItemFactory(), queue=window.queue)
    window.refresh_from_db()
    assert window.state == Window.State.SERVING and window.current_ticket_id == ticket.pk
    _idle(client, settings)
    client.get(reverse("counters:workbench_panel"), **POLL)
    window.refresh_from_db()
    assert (window.state, window.clerk_id) == (Window.State.SERVING, clerk.pk)
