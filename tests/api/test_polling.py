"""The polled screens ask "did anything change since my last answer?" (If-None-Match
with the last ETag) and, while nothing did, get an empty 304 without reading their
content; a change shows up at the very next poll."""

import pytest
from rest_framework.test import APIClient

from counters import services as counter_services
from devices.models import HallDevice
from staff.roles import Role
from tests.factories import (
    integration_token,
    make_staff,
    minute_steady,
    registered_device,
    sign_in,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk_api(hall):
    """An integration account acting as a clerk (token auth, as the hall's devices poll),
    signed on at window 1."""
    clerk = make_staff([Role.INTEGRATION, Role.CLERK])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {integration_token(clerk)}")
    counter_services.window_sign_on(clerk=clerk, window_id=hall.window.pk)
    counter_services.window_declare_ready(clerk=clerk)
    return api


def _poll(api, path, etag):
    return api.get(path, HTTP_IF_NONE_MATCH=etag, HTTP_X_POLL="1")  # a poll is not activity


def test_an_unchanged_workbench_poll_is_an_empty_304_without_a_query(
    clerk_api, django_assert_num_queries
):
    first = clerk_api.get("/api/counter/")
    assert first.status_code == 200 and first["ETag"]
    with django_assert_num_queries(0):  # the token is remembered; the version is cached
        again = _poll(clerk_api, "/api/counter/", first["ETag"])
    assert again.status_code == 304 and not again.content


def test_a_ticket_handed_to_the_window_shows_at_the_next_workbench_poll(
    clerk_api, hall, django_capture_on_commit_callbacks
):
    first = clerk_api.get("/api/counter/")
    assert first.json()["window"]["state"] == "ready"
    with django_capture_on_commit_callbacks(execute=True):
        counter_services.ticket_issue(item=hall.item)
    changed = _poll(clerk_api, "/api/counter/", first["ETag"])
    assert changed.status_code == 200 and changed.json()["window"]["state"] == "serving"
    assert changed["ETag"] != first["ETag"]


def test_a_changed_workbench_poll_reads_the_window_and_its_ticket_in_one_query(
    clerk_api, hall, django_assert_num_queries, django_capture_on_commit_callbacks
):
    first = clerk_api.get("/api/counter/")
    with django_capture_on_commit_callbacks(execute=True):
        counter_services.ticket_issue(item=hall.item)
    with django_assert_num_queries(1):  # the ticket's window is the window just read
        changed = _poll(clerk_api, "/api/counter/", first["ETag"])
    assert changed.json()["window"]["current_ticket"]["window"] == hall.window.number


def test_an_unchanged_inbox_poll_is_an_empty_304_reading_no_task(hall):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api = APIClient()
    sign_in(api, hall.zhou)
    first = api.get("/api/inbox/tasks/")
    assert first.status_code == 200 and first.json() == []
    with CaptureQueriesContext(connection) as queries:
        again = _poll(api, "/api/inbox/tasks/", first["ETag"])
    assert again.status_code == 304
    # Only the signed-in session's own checks, none about tasks, and no session save: the
    # session, the account with its password age (and on PostgreSQL its roles: one query,
    # staff.backends), the second factor's device; the roles apart on SQLite.
    assert len(queries) == (3 if connection.vendor == "postgresql" else 4)
    assert not any("risk_reviewtask" in query["sql"] for query in queries)


def test_with_sessions_remembered_an_unchanged_inbox_poll_does_not_read_the_session(hall, settings):
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from operations.sessions import _cache_keys

    settings.SESSION_CACHE_SECONDS = 30  # as with a Redis CACHE_URL
    api = APIClient()
    sign_in(api, hall.zhou)
    first = api.get("/api/inbox/tasks/")
    cache.delete(_cache_keys(api.cookies["sessionid"].value)[0])  # as 30 s after the sign-in
    _poll(api, "/api/inbox/tasks/", first["ETag"])  # reads the session and remembers it
    with CaptureQueriesContext(connection) as queries:
        again = _poll(api, "/api/inbox/tasks/", first["ETag"])
    assert again.status_code == 304
    # The account (with its roles on PostgreSQL) and the second factor's device.
    assert len(queries) == (2 if connection.vendor == "postgresql" else 3)
    assert not any("django_session" in query["sql"] for query in queries)


def test_a_task_drawn_to_a_reviewer_shows_at_the_next_inbox_poll(
    hall, clerk_api, django_capture_on_commit_callbacks
):
    from cases.services import case_accept
    from tests.factories import make_id_number

    api = APIClient()
    sign_in(api, hall.zhou)
    first = api.get("/api/inbox/tasks/")
    clerk = hall.window.__class__.objects.get(pk=hall.window.pk).clerk
    with django_capture_on_commit_callbacks(execute=True):
        counter_services.ticket_issue(item=hall.item)
    with django_capture_on_commit_callbacks(execute=True):
        case_accept(
            clerk=clerk, item_id=hall.item.pk, applicant_name="王大山",
            id_number=make_id_number(), received_material_ids={hall.material.pk},
        )  # fmt: skip
    changed = _poll(api, "/api/inbox/tasks/", first["ETag"])
    assert changed.status_code == 200 and len(changed.json()) == 1


def test_an_unchanged_call_display_poll_is_an_empty_304_with_only_the_device_read(
    hall, django_assert_num_queries
):
    display = registered_device(HallDevice.Kind.DISPLAY, name="display")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Device {display.credential}")
    first = api.get("/api/display/")
    assert first.status_code == 200
    with django_assert_num_queries(1):  # the device's credential
        again = _poll(api, "/api/display/", first["ETag"])
    assert again.status_code == 304


def test_a_ticket_issued_shows_at_the_next_call_display_poll(
    hall, django_capture_on_commit_callbacks
):
    display = registered_device(HallDevice.Kind.DISPLAY, name="display")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Device {display.credential}")
    first = api.get("/api/display/")
    assert first.json()["waiting"]["A"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        counter_services.ticket_issue(item=hall.item)
    changed = _poll(api, "/api/display/", first["ETag"])
    assert changed.status_code == 200 and changed.json()["waiting"]["A"] == 1


def test_a_number_called_again_shows_at_the_next_call_display_poll(
    hall, clerk_api, django_capture_on_commit_callbacks
):
    display = registered_device(HallDevice.Kind.DISPLAY, name="display")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Device {display.credential}")
    with django_capture_on_commit_callbacks(execute=True):
        counter_services.ticket_issue(item=hall.item)  # called at window 1
    first = api.get("/api/display/")
    clerk = hall.window.__class__.objects.get(pk=hall.window.pk).clerk
    with django_capture_on_commit_callbacks(execute=True):
        counter_services.ticket_recall(clerk=clerk)
    again = _poll(api, "/api/display/", first["ETag"])
    assert again.status_code == 200, "the citizen must be called again on the screen"


def test_the_display_pages_unchanged_calls_are_an_empty_304_without_reading_them(
    hall, client, register_device, django_assert_num_queries
):
    register_device(client, "display")
    first = client.get("/display/calls/")
    assert first.status_code == 200 and "no-cache" in first["Cache-Control"]
    with django_assert_num_queries(1):  # the display's own credential
        again = client.get("/display/calls/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert (again.status_code, again.content) == (304, b"")


def test_the_display_pages_calls_change_with_a_ticket_and_with_the_minute(
    hall, client, register_device, time_passes, django_capture_on_commit_callbacks
):
    register_device(client, "display")
    etag = client.get("/display/calls/")["ETag"]
    with django_capture_on_commit_callbacks(execute=True):
        counter_services.ticket_issue(item=hall.item)  # one more waiting
    issued = client.get("/display/calls/", HTTP_IF_NONE_MATCH=etag)
    assert issued.status_code == 200 and "<strong>A</strong> 1" in issued.content.decode()
    time_passes(minutes=1)  # the clock on the screen
    assert client.get("/display/calls/", HTTP_IF_NONE_MATCH=issued["ETag"]).status_code == 200


def test_the_display_pages_calls_are_tagged_by_language():
    from django.test import RequestFactory
    from django.utils import translation

    from front.views import _call_display_calls_etag

    request = RequestFactory().get("/display/calls/")
    tags = set()
    for language in ("zh-hans", "en"):
        with translation.override(language):
            tags.add(_call_display_calls_etag(request))
    assert len(tags) == 2


# --- The workbench's state card (the browser's workbench polls it every 2 s) ------------------

PANEL = "/counter/panel/"


@pytest.fixture
def panel_clerk(hall, client):
    """A clerk at a browser counter: signed in with a session, signed on at window 1."""
    minute_steady()
    sign_in(client, hall.li_na)
    counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    return client


def _panel_poll(client, state, etag):
    return client.get(
        PANEL, {"state": state}, HTTP_IF_NONE_MATCH=etag, HTTP_X_POLL="1", HTTP_HX_REQUEST="true"
    )


def test_an_unchanged_state_card_is_an_empty_304_without_reading_the_window(panel_clerk):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = panel_clerk.get(PANEL, {"state": "paused"})
    assert first.status_code == 200 and "no-cache" in first["Cache-Control"] and first["ETag"]
    with CaptureQueriesContext(connection) as queries:
        again = _panel_poll(panel_clerk, "paused", first["ETag"])
    assert (again.status_code, again.content) == (304, b"")
    assert not [q for q in queries if "counters_window" in q["sql"]], "the window was read"


def test_a_ticket_handed_to_the_window_reloads_the_workbench_at_the_next_poll(
    panel_clerk, hall, django_capture_on_commit_callbacks
):
    first = panel_clerk.get(PANEL, {"state": "paused"})
    with django_capture_on_commit_callbacks(execute=True):
        counter_services.window_declare_ready(clerk=hall.li_na)
        counter_services.ticket_issue(item=hall.item)
    moved = _panel_poll(panel_clerk, "paused", first["ETag"])
    assert moved.status_code == 204 and moved["HX-Refresh"] == "true"
    serving = panel_clerk.get(PANEL, {"state": "serving"})
    assert serving.status_code == 200 and serving["ETag"] != first["ETag"]
    assert _panel_poll(panel_clerk, "serving", serving["ETag"]).status_code == 304


def test_the_state_card_moves_with_the_clocks_minute(panel_clerk, time_passes):
    etag = panel_clerk.get(PANEL, {"state": "paused"})["ETag"]
    assert _panel_poll(panel_clerk, "paused", etag).status_code == 304
    time_passes(minutes=1)
    assert _panel_poll(panel_clerk, "paused", etag).status_code == 200


def test_the_state_cards_wait_moves_at_the_tickets_own_minutes(
    panel_clerk, hall, time_passes, django_capture_on_commit_callbacks
):
    """ "Waited 1 minute" shows a minute after the ticket was issued, whatever the clock's
    minute: the card's URL carries the issue time."""
    with django_capture_on_commit_callbacks(execute=True):
        counter_services.window_declare_ready(clerk=hall.li_na)
        ticket = counter_services.ticket_issue(item=hall.item)
    ticket.refresh_from_db()
    page = panel_clerk.get("/counter/").content.decode()
    since = f"since={int(ticket.issued_at.timestamp())}"
    assert f"?state=serving&amp;{since}" in page
    url = f"{PANEL}?state=serving&{since}"
    time_passes(seconds=5)
    etag = panel_clerk.get(url)["ETag"]
    time_passes(seconds=45)
    assert panel_clerk.get(url, HTTP_IF_NONE_MATCH=etag, HTTP_X_POLL="1").status_code == 304
    time_passes(seconds=15)  # 65 s waited: "1 minute"
    moved = panel_clerk.get(url, HTTP_IF_NONE_MATCH=etag, HTTP_X_POLL="1")
    assert moved.status_code == 200 and moved["ETag"] != etag


def test_a_new_pause_reason_shows_at_the_next_state_card_poll(
    panel_clerk, hall, django_capture_on_commit_callbacks
):
    etag = panel_clerk.get(PANEL, {"state": "paused"})["ETag"]
    with django_capture_on_commit_callbacks(execute=True):
        counter_services.window_pause(clerk=hall.li_na, reason="午间休息")
    moved = _panel_poll(panel_clerk, "paused", etag)
    assert moved.status_code == 200 and "午间休息" in moved.content.decode()


def test_a_state_card_etag_answers_only_the_state_it_was_given_for(panel_clerk, hall):
    paused = panel_clerk.get(PANEL, {"state": "paused"})["ETag"]
    # The same version, asked as if the card showed another state: the whole answer.
    assert _panel_poll(panel_clerk, "ready", paused)["HX-Refresh"] == "true"


def test_a_state_card_asked_for_no_state_has_no_etag(panel_clerk):
    response = panel_clerk.get(PANEL, {"state": "dancing"})
    assert response.status_code == 204 and "ETag" not in response


def test_the_state_card_is_tagged_by_language(panel_clerk, settings):
    chinese = panel_clerk.get(PANEL, {"state": "paused"})["ETag"]
    panel_clerk.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the language switch
    assert _panel_poll(panel_clerk, "paused", chinese).status_code == 200


# --- The inbox page's list (polled every 5 s) -------------------------------------------------

INBOX_LIST = "/inbox/list/"


def test_an_unchanged_inbox_list_is_an_empty_304_without_reading_the_tasks(hall, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sign_in(client, hall.zhou)
    first = client.get(INBOX_LIST)
    assert first.status_code == 200 and "no-cache" in first["Cache-Control"]
    with CaptureQueriesContext(connection) as queries:
        again = client.get(INBOX_LIST, HTTP_IF_NONE_MATCH=first["ETag"], HTTP_X_POLL="1")
    assert (again.status_code, again.content) == (304, b"")
    assert not [q for q in queries if "risk_reviewtask" in q["sql"]], "the tasks were read"


def test_a_task_drawn_to_a_person_is_listed_with_its_count_in_their_inbox_list_only(
    hall, client, submitted_case
):
    from risk.models import ReviewTask

    task = ReviewTask.objects.get(case=submitted_case[0], status=ReviewTask.Status.OPEN)
    sign_in(client, task.assignee)
    listed = client.get(INBOX_LIST)
    assert submitted_case[0].number in listed.content.decode()
    assert "1 项待办任务" in listed.content.decode()
    other = next(person for person in (hall.zhou, hall.sun) if person != task.assignee)
    client.logout()
    sign_in(client, other)
    assert submitted_case[0].number not in client.get(INBOX_LIST).content.decode()


def _inbox_list_after_a_bump(client, person, bumped, capture):
    from langzhong_si.versions import user_key, versions_bump

    sign_in(client, person)
    etag = client.get(INBOX_LIST)["ETag"]
    with capture(execute=True):
        versions_bump(user_key(bumped.pk))
    return client.get(INBOX_LIST, HTTP_IF_NONE_MATCH=etag, HTTP_X_POLL="1").status_code


def test_the_inbox_list_moves_with_the_persons_version(
    hall, client, django_capture_on_commit_callbacks
):
    assert (
        _inbox_list_after_a_bump(client, hall.zhou, hall.zhou, django_capture_on_commit_callbacks)
        == 200
    )


def test_the_inbox_list_stays_when_another_persons_version_moves(
    hall, client, django_capture_on_commit_callbacks
):
    assert (
        _inbox_list_after_a_bump(client, hall.zhou, hall.sun, django_capture_on_commit_callbacks)
        == 304
    )
