"""The pushed screens' rules that need no running stream: what the stream passes on as
the poll, where there is no stream, and when a poll's ETag turns by itself."""

import asyncio
import datetime

import pytest
from django.utils import timezone

from langzhong_si.versions import (
    next_minute,
    poll_turns_heard,
    poll_turns_unheard,
    version_channel,
)
from push.streams import _environ, _next_ask, stream
from tests.factories import minute_steady

pytestmark = pytest.mark.django_db

ETAG = '"user:3@5@20261205@zh-hans"'


def _scope(headers):
    return {
        "type": "http",
        "method": "GET",
        "path": "/events/",
        "query_string": b"",
        "headers": [(name.encode(), value.encode()) for name, value in headers],
        "client": ("10.0.0.9", 5000),
        "server": ("hall.example", 443),
        "scheme": "https",
    }


def test_the_poll_carries_the_streams_cookies_and_its_own_poll_headers():
    environ = _environ(
        _scope(
            [
                ("cookie", "sessionid=abc"),
                ("accept", "text/event-stream"),
                ("if-none-match", '"other"'),
                ("accept-language", "en"),
            ]
        ),
        "/inbox/list/",
        "",
        ETAG,
    )
    assert environ["HTTP_COOKIE"] == "sessionid=abc"
    assert environ["HTTP_ACCEPT_LANGUAGE"] == "en"
    assert environ["HTTP_IF_NONE_MATCH"] == ETAG
    assert (environ["HTTP_X_POLL"], environ["HTTP_ACCEPT"]) == ("1", "*/*")
    assert (environ["REMOTE_ADDR"], environ["wsgi.url_scheme"]) == ("10.0.0.9", "https")


def test_a_header_named_with_an_underscore_is_not_passed_on():
    """A WSGI server drops it: X_Forwarded_For must not pass for X-Forwarded-For."""
    environ = _environ(
        _scope([("x_forwarded_for", "1.2.3.4"), ("x-real-ip", "5.6.7.8")]), "/a/", "", ETAG
    )
    assert "HTTP_X_FORWARDED_FOR" not in environ
    assert environ["HTTP_X_REAL_IP"] == "5.6.7.8"


def test_the_web_workers_tell_a_screen_to_keep_polling(client):
    answer = client.get("/events/", {"poll": "/inbox/list/", "etag": ETAG})
    assert answer.status_code == 204


def test_without_redis_the_stream_tells_a_screen_to_keep_polling(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    scope = _scope([])
    scope["query_string"] = f"poll=/inbox/list/&etag={ETAG}".encode()
    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.disconnect"}

    asyncio.run(stream(scope, receive, send))
    assert sent[0]["status"] == 204


def test_the_call_displays_etag_turns_with_the_minute(rf):
    from front.views import _call_display_calls_etag

    minute_steady()
    turns = []
    token = poll_turns_heard(turns)
    try:
        _call_display_calls_etag(rf.get("/display/calls/"))
    finally:
        poll_turns_unheard(token)
    assert turns == [next_minute()]


def test_a_workbench_cards_etag_turns_when_the_wait_turns_a_minute(rf, hall):
    from front.views import _workbench_panel_etag

    issued = int(timezone.now().timestamp()) - 90  # waited 1 min 30 s: turns at 2 min (+1 s)
    request = rf.get("/counter/panel/", {"state": "serving", "since": issued})
    request.user = hall.li_na
    turns = []
    token = poll_turns_heard(turns)
    try:
        _workbench_panel_etag(request)
    finally:
        poll_turns_unheard(token)
    assert turns == [issued + 1 + 120]


def test_a_stream_looks_again_just_after_its_etag_turns_else_after_a_minute(settings):
    settings.PUSH_RECHECK_SECONDS = 60
    now = datetime.datetime(2026, 12, 5, 10, 0, 30, tzinfo=datetime.UTC).timestamp()
    at, turned = _next_ask(now + 30, now)
    assert now + 32 <= at <= now + 36 and turned
    assert _next_ask(None, now) == (now + 60, False)
    assert _next_ask(now + 600, now) == (now + 60, False)


def test_two_redis_databases_of_one_server_tell_on_channels_of_their_own(settings):
    """Redis' channels are the server's, not a database's."""
    from django.core.cache import caches

    channels = set()
    for database in (5, 6):
        settings.CACHES = {
            "default": {
                "BACKEND": "operations.cache.ReusedClientRedisCache",
                "LOCATION": f"redis://127.0.0.1:6379/{database}",
            }
        }
        channels.add(version_channel(ETAG))
        caches["default"].close()
    assert len(channels) == 2


def _etag_and_turn(etag_of, request, moment, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: moment)
    turns = []
    token = poll_turns_heard(turns)
    try:
        return etag_of(request), min(turns)
    finally:
        poll_turns_unheard(token)


def _at(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


@pytest.mark.parametrize("screen", ["display", "card", "waited", "pad"])
def test_each_etag_is_the_same_until_the_turn_it_reports_and_differs_at_it(
    rf, hall, monkeypatch, screen
):
    """A stream tells a screen `changed` at its ETag's turn without asking (push.streams):
    true only if the ETag really is the same until then and differs from then."""
    from front.views import _call_display_calls_etag, _workbench_panel_etag
    from ratings.views import _rating_pad_poll_etag
    from tests.factories import registered_device

    start = datetime.datetime(2026, 12, 5, 10, 0, 30, tzinfo=datetime.UTC)
    if screen == "display":
        etag_of, request = _call_display_calls_etag, rf.get("/display/calls/")
    elif screen == "pad":
        etag_of, request = _rating_pad_poll_etag, rf.get("/rating/poll/")
        request.hall_device = registered_device("pad", window=hall.window).device
    else:
        since = {"since": int(start.timestamp()) - 95} if screen == "waited" else {}
        etag_of, request = (
            _workbench_panel_etag,
            rf.get("/counter/panel/", {"state": "serving", **since}),
        )
        request.user = hall.li_na
    etag, turn = _etag_and_turn(etag_of, request, start, monkeypatch)
    assert _etag_and_turn(etag_of, request, _at(turn - 0.001), monkeypatch)[0] == etag
    assert _etag_and_turn(etag_of, request, _at(turn), monkeypatch)[0] != etag
