"""Pushed screens (push.streams): a polled screen's stream says `changed` when the
version its ETag names moves, and only to whoever the poll itself answers 304; it asks
the poll again while it is open, and refuses to ask anything that is not a poll."""

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis
import yaml
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from langzhong_si.versions import user_key, version_channel, versions_bump
from tests.factories import redis_default_cache, redis_keys_forget, registered_device, sign_in
from tests.worker import ROOT, wait_until
from tests.worker import test_database_url as database_url

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

INBOX_LIST = "/inbox/list/"
DISPLAY_API = "/api/display/"


def _reviewer_at_inbox(hall):
    """zhou signed in, at the inbox page's list: the browser's cookies and the list's ETag."""
    browser = Client()
    sign_in(browser, hall.zhou)
    answer = browser.get(INBOX_LIST, HTTP_X_POLL="1")
    assert answer.status_code == 200
    return browser, answer["ETag"]


def _connection(address):
    return http.client.HTTPConnection(address.removeprefix("http://"), timeout=10)


def _ready_stream(events, hall):
    """zhou's inbox list's stream, ready."""
    browser, etag = _reviewer_at_inbox(hall)
    stream = _open(events, INBOX_LIST, etag, browser.cookies)
    assert _next_event(stream) == "ready"
    return stream


def _open(address, poll, etag, cookies=None, **headers):
    connection = _connection(address)
    if cookies is not None:
        headers["Cookie"] = "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items())
    connection.request(
        "GET", "/events/?" + urlencode({"poll": poll, "etag": etag}), headers=headers
    )
    return connection.getresponse()


def _next_event(stream) -> str:
    """The next event's name (comments and the retry line skipped)."""
    name = None
    while True:
        line = stream.readline()
        if not line:
            return "<end>"
        line = line.decode().rstrip("\n")
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line == "" and name:
            return name


def test_a_stream_says_changed_when_the_screens_version_moves(events, hall):
    browser, etag = _reviewer_at_inbox(hall)
    stream = _open(events, INBOX_LIST, etag, browser.cookies)
    assert stream.status == 200
    assert stream.getheader("Content-Type").startswith("text/event-stream")
    assert _next_event(stream) == "ready"
    versions_bump(user_key(hall.zhou.pk))
    assert _next_event(stream) == "changed"


def test_a_stream_is_not_told_of_another_persons_moves(events, hall, settings):
    settings.PUSH_HEARTBEAT_SECONDS = 1
    stream = _ready_stream(events, hall)
    versions_bump(user_key(hall.sun.pk))
    assert _next_event(stream) == "alive"  # the heartbeat after a second: nothing told


def test_a_stream_for_an_answer_that_moved_says_changed_at_once(events, hall):
    browser, etag = _reviewer_at_inbox(hall)
    versions_bump(user_key(hall.zhou.pk))
    assert _next_event(_open(events, INBOX_LIST, etag, browser.cookies)) == "changed"


def test_a_stream_naming_another_persons_version_is_never_ready(events, hall):
    """sun's inbox list is answered with sun's version: an ETag naming zhou's (however
    current) is not sun's answer, so sun cannot listen to zhou's moves."""
    _browser, zhou_etag = _reviewer_at_inbox(hall)
    sun = Client()
    sign_in(sun, hall.sun)
    assert _next_event(_open(events, INBOX_LIST, zhou_etag, sun.cookies)) == "changed"


def test_a_stream_showing_no_credentials_asks_nothing(events, hall, asked):
    _browser, etag = _reviewer_at_inbox(hall)
    assert _open(events, INBOX_LIST, etag).status == 204
    assert asked == []


def test_a_stream_whose_cookie_answers_for_nobody_is_never_ready(events, hall):
    _browser, etag = _reviewer_at_inbox(hall)
    stream = _open(events, INBOX_LIST, etag, Cookie="sessionid=nothing")
    assert _next_event(stream) == "changed"


def test_a_session_awaiting_its_sign_in_code_is_never_ready(events, hall):
    """A password someone else set opens nothing before the code: not a stream either,
    whatever current ETag its holder shows."""
    from staff.roles import Role
    from staff.services import password_set
    from tests.factories import make_staff

    _browser, etag = _reviewer_at_inbox(hall)
    password_set(
        user=hall.zhou, password="Reset-pass-456", set_by=make_staff(Role.SYSTEM_ADMINISTRATOR)
    )
    holder = Client()
    holder.post("/login/", {"username": hall.zhou.username, "password": "Reset-pass-456"})
    poll = holder.get(INBOX_LIST, HTTP_X_POLL="1")
    assert poll.status_code == 302 and poll.url.startswith("/account/sign-in-code/")
    assert _next_event(_open(events, INBOX_LIST, etag, holder.cookies)) == "changed"


def test_a_stream_stops_once_the_person_is_signed_out(events, hall, settings):
    settings.PUSH_RECHECK_SECONDS = 1
    stream = _ready_stream(events, hall)
    Session.objects.all().delete()
    assert _next_event(stream) == "changed"


@pytest.fixture
def asked(monkeypatch):
    """The polls the streams ask (their paths), as they ask them."""
    from push import streams

    paths, ask = [], streams._poll_asked

    def spied(environ):
        paths.append(environ["PATH_INFO"])
        return ask(environ)

    monkeypatch.setattr(streams, "_poll_asked", spied)
    return paths


@pytest.mark.parametrize(
    "poll", ["/logout/", "//elsewhere.example/inbox/list/", "/inbox/", "inbox/list/", "/nowhere/"]
)
def test_a_stream_asks_nothing_but_a_polled_screen(events, hall, poll, asked):
    browser, etag = _reviewer_at_inbox(hall)
    refused = _open(events, poll, etag, browser.cookies)
    assert refused.status == 400
    assert asked == []


def test_a_stream_says_changed_when_its_etag_turns(events, hall, asked, monkeypatch):
    """The inbox list's ETag turns with the day: made to turn in a second, the stream says
    changed then, without asking (the answer has changed: the page asks for it)."""
    monkeypatch.setattr("langzhong_si.versions._next_day", lambda today: time.time() + 1)
    stream = _ready_stream(events, hall)
    started = time.monotonic()
    assert _next_event(stream) == "changed"
    assert time.monotonic() - started < 8  # 2–6 s after the turn
    assert asked == [INBOX_LIST]


def test_a_persons_new_stream_past_their_limit_ends_their_oldest(events, hall, settings):
    """However they show themselves (another session, a made-up API key beside it), one
    person holds PUSH_STREAMS_PER_HOLDER ready streams: the oldest is told to stop (its
    page polls)."""
    settings.PUSH_STREAMS_PER_HOLDER = 1
    browser, etag = _reviewer_at_inbox(hall)
    first = _open(events, INBOX_LIST, etag, browser.cookies)
    assert _next_event(first) == "ready"
    other = Client()
    sign_in(other, hall.zhou)
    second = _open(events, INBOX_LIST, etag, other.cookies, Authorization="Token made-up")
    assert _next_event(second) == "ready"
    assert _next_event(first) == "stop"
    second.close()
    again = _open(events, INBOX_LIST, etag, browser.cookies)
    assert _next_event(again) == "ready", "a closed stream no longer counts"


def test_a_stream_says_alive_though_it_asks_its_poll_more_often(events, hall, settings):
    settings.PUSH_RECHECK_SECONDS, settings.PUSH_HEARTBEAT_SECONDS = 1, 2
    stream = _ready_stream(events, hall)
    started = time.monotonic()
    assert _next_event(stream) == "alive"
    assert time.monotonic() - started < 3.5


def test_a_poll_refused_for_the_streams_own_request_is_logged(events, hall, caplog, monkeypatch):
    """A proxy that does not pass the hall's Host on: every poll the stream asks is refused
    (400), which a screen's own poll never is: told changed, and logged as a warning."""
    monkeypatch.setattr("push.streams._warned_at", float("-inf"))  # once a minute at most
    browser, etag = _reviewer_at_inbox(hall)
    with caplog.at_level("WARNING", logger="push.streams"):
        stream = _open(events, INBOX_LIST, etag, browser.cookies, Host="events:8001")
        assert _next_event(stream) == "changed"
    assert "a poll was answered 400" in caplog.text


def test_a_stream_refuses_an_etag_that_names_no_version(events, hall):
    browser, _etag = _reviewer_at_inbox(hall)
    assert _open(events, INBOX_LIST, "*", browser.cookies).status == 400


def test_past_the_streams_limit_a_screen_is_told_to_keep_polling(events, hall, settings):
    settings.PUSH_STREAMS_MAX = 0
    browser, etag = _reviewer_at_inbox(hall)
    assert _open(events, INBOX_LIST, etag, browser.cookies).status == 204


def test_the_asgi_process_serves_the_rest_of_the_site(events):
    connection = _connection(events)
    connection.request("GET", "/healthz")
    assert connection.getresponse().status == 200


def test_a_version_move_is_told_on_its_channel(settings):
    redis_default_cache(settings, "push-told")
    etag = f'"{user_key(7)}@1@20261205"'
    listener = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"]).pubsub()
    listener.subscribe(version_channel(etag))
    assert listener.get_message(timeout=2)["type"] == "subscribe"
    versions_bump(user_key(7))
    told = listener.get_message(timeout=2)
    listener.close()
    redis_keys_forget(cache)
    assert told is not None and told["channel"].decode() == version_channel(etag)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_compose_files_events_process_serves_the_streams(hall, settings):
    """docker-compose.yml's `events` command, as it is written there, in a process of its
    own beside this one (as beside gunicorn): a stream is ready, then told."""
    redis_default_cache(settings, "push-process")
    service = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["events"]
    port = _free_port()
    command = [
        {"0.0.0.0": "127.0.0.1", "8001": str(port)}.get(part, part)  # noqa: S104 - replaced
        for part in service["command"]
    ]
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CACHE_URL": settings.CACHES["default"]["LOCATION"],
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
    }
    venv = Path(sys.executable).parent
    process = subprocess.Popen([str(venv / command[0]), *command[1:]], cwd=ROOT, env=env)
    address = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(address), timeout=30, what="the events process")
        connection = _connection(address)
        connection.request("GET", "/login/")
        assert connection.getresponse().status == 404, "no page is served there"
        browser, etag = _reviewer_at_inbox(hall)
        stream = _open(address, INBOX_LIST, etag, browser.cookies)
        assert _next_event(stream) == "ready"
        versions_bump(user_key(hall.zhou.pk))
        assert _next_event(stream) == "changed"
    finally:
        process.terminate()
        process.wait(timeout=30)
        redis_keys_forget(cache)


def _answers(address) -> bool:
    try:
        connection = _connection(address)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


def test_a_devices_api_poll_is_held_for_the_device(events, hall, settings):
    """The call display's API poll (`Authorization: Device`): its stream is ready, and
    counted for the device."""
    settings.PUSH_STREAMS_PER_HOLDER = 1
    device = registered_device("display")
    api = APIClient()
    answer = api.get(DISPLAY_API, HTTP_AUTHORIZATION=f"Device {device.credential}")
    assert answer.status_code == 200
    auth = {"Authorization": f"Device {device.credential}"}
    first = _open(events, DISPLAY_API, answer["ETag"], **auth)
    assert _next_event(first) == "ready"
    second = _open(events, DISPLAY_API, answer["ETag"], **auth)
    assert _next_event(second) == "ready"
    assert _next_event(first) == "stop", "the same device's: one at most"
