"""好差评: the window's pad rates its last service once, a bad rating needs a reason and
opens the team lead's follow-up, the citizen adds one later rating, staff never edit one."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from counters import services
from langzhong_si.calendar import working_days_after
from ratings import services as rating_services
from ratings.models import FollowUp, Rating
from staff.roles import Role
from tests.factories import WindowFactory, make_staff, minute_steady

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk_at_window(hall):
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    return hall.li_na


def _serve_and_finish(clerk, item):
    services.window_declare_ready(clerk=clerk)
    ticket = services.ticket_issue(item=item)
    services.ticket_finish(clerk=clerk)
    ticket.refresh_from_db()
    return ticket


def test_the_pad_rates_its_windows_last_service_once(
    client, clerk_at_window, hall, register_device
):
    register_device(client, "pad", window=hall.window)
    ticket = _serve_and_finish(clerk_at_window, hall.item)
    assert ticket.display_number in client.get("/rating/").content.decode()
    assert client.post("/rating/", {"ticket": ticket.pk, "level": 5}).status_code == 200
    assert Rating.objects.get().level == 5
    page = client.get("/rating/").content.decode()
    assert ticket.display_number not in page, "nothing left to rate"
    other_window = WindowFactory(number=9)
    with pytest.raises(PermissionDenied):
        rating_services.rating_submit(ticket_id=ticket.pk, level=4, window=other_window)


POLL = "/rating/poll/"


def test_the_pads_poll_leaves_the_form_shown_alone_while_its_ticket_awaits(
    client, clerk_at_window, hall, register_device
):
    register_device(client, "pad", window=hall.window)
    assert client.get(POLL).status_code == 204  # nothing to rate, nothing shown
    ticket = _serve_and_finish(clerk_at_window, hall.item)
    offered = client.get(POLL)  # what it shows is no more what it should
    assert (
        offered.status_code == 200
        and f'name="ticket" value="{ticket.pk}"' in offered.content.decode()
    )
    assert client.get(POLL, {"showing": ticket.pk}).status_code == 204


def test_the_pads_poll_offers_the_next_service_in_place_of_the_last(
    client, clerk_at_window, hall, register_device
):
    register_device(client, "pad", window=hall.window)
    first = _serve_and_finish(clerk_at_window, hall.item)
    second = _serve_and_finish(clerk_at_window, hall.item)
    answer = client.get(POLL, {"showing": first.pk}).content.decode()
    assert f'name="ticket" value="{second.pk}"' in answer
    assert f'name="ticket" value="{first.pk}"' not in answer


def test_the_pads_poll_takes_back_the_form_of_a_service_rated(
    client, clerk_at_window, hall, register_device
):
    register_device(client, "pad", window=hall.window)
    ticket = _serve_and_finish(clerk_at_window, hall.item)
    rating_services.rating_submit(ticket_id=ticket.pk, level=5, window=hall.window)
    answer = client.get(POLL, {"showing": ticket.pk})
    assert answer.status_code == 200 and 'name="ticket"' not in answer.content.decode()


def test_a_rating_moves_the_pads_poll_on_at_once(
    client, clerk_at_window, hall, register_device, django_capture_on_commit_callbacks
):
    """The pad that offered the service does not get its kept form back after the thanks:
    the rating moves the version its poll is tagged with."""
    minute_steady()
    register_device(client, "pad", window=hall.window)
    ticket = _serve_and_finish(clerk_at_window, hall.item)
    offered = client.get(POLL)  # the waiting pad's poll: the form, kept by the browser
    with django_capture_on_commit_callbacks(execute=True):
        rating_services.rating_submit(ticket_id=ticket.pk, level=5, window=hall.window)
    again = client.get(POLL, HTTP_IF_NONE_MATCH=offered["ETag"])
    assert again.status_code == 204, "nothing to rate: what it shows, it keeps"


def test_a_refusal_shown_on_the_waiting_pad_is_taken_away_at_its_next_poll(
    client, hall, register_device
):
    register_device(client, "pad", window=hall.window)
    answer = client.get(POLL, {"refused": "1"})
    assert answer.status_code == 200 and "alert" not in answer.content.decode()


def test_an_unchanged_pad_poll_is_an_empty_304_without_reading_the_tickets(
    client, clerk_at_window, hall, register_device, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    minute_steady()
    register_device(client, "pad", window=hall.window)
    ticket = _serve_and_finish(clerk_at_window, hall.item)
    first = client.get(POLL, {"showing": ticket.pk})
    with CaptureQueriesContext(connection) as queries:
        again = client.get(POLL, {"showing": ticket.pk}, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert not [q for q in queries if "counters_ticket" in q["sql"]], "the tickets were read"
    with django_capture_on_commit_callbacks(execute=True):  # the versions move on commit
        _serve_and_finish(clerk_at_window, hall.item)  # the next service, at the same window
    moved = client.get(POLL, {"showing": ticket.pk}, HTTP_IF_NONE_MATCH=first["ETag"])
    assert moved.status_code == 200


def test_only_a_registered_pad_is_answered_the_pads_poll(client, hall, register_device):
    assert client.get(POLL).status_code == 403
    register_device(client, "display")
    assert client.get(POLL).status_code == 403


def test_a_bad_rating_needs_a_reason_and_opens_a_follow_up(clerk_at_window, hall):
    lead = make_staff(Role.TEAM_LEAD)
    ticket = _serve_and_finish(clerk_at_window, hall.item)
    with pytest.raises(ValidationError):
        rating_services.rating_submit(ticket_id=ticket.pk, level=1, window=hall.window)
    rating = rating_services.rating_submit(
        ticket_id=ticket.pk, level=2, reason="等候太久", window=hall.window
    )
    follow_up = FollowUp.objects.get(rating=rating)
    today = timezone.localdate()
    assert follow_up.callback_due == working_days_after(today, 1)
    assert follow_up.reply_due == working_days_after(today, 15)
    assert lead.notifications.count() == 1
    with pytest.raises(PermissionDenied):
        rating_services.follow_up_record(
            follow_up_id=follow_up.pk, lead=hall.li_na, callback_note="x"
        )
    rating_services.follow_up_record(
        follow_up_id=follow_up.pk, lead=lead, callback_note="已电话回访"
    )
    rating_services.follow_up_record(follow_up_id=follow_up.pk, lead=lead, reply="已书面答复")
    follow_up.refresh_from_db()
    assert follow_up.callback_at and follow_up.replied_at


def test_the_citizen_may_add_one_later_rating_from_the_ticket_page(client, clerk_at_window, hall):
    ticket = _serve_and_finish(clerk_at_window, hall.item)
    rating_services.rating_submit(ticket_id=ticket.pk, level=5, window=hall.window)
    page = f"/t/{ticket.public_token}/"
    assert client.post(page, {"action": "rate", "level": 3}).status_code == 302
    assert client.post(page, {"action": "rate", "level": 1, "reason": "x"}).status_code == 400
    assert list(Rating.objects.order_by("sequence").values_list("level", flat=True)) == [5, 3]


def test_no_staff_screen_creates_edits_or_deletes_a_rating():
    from django.contrib import admin

    assert Rating not in admin.site._registry
