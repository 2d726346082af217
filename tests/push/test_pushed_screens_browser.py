"""The pushed screens in headless Chromium, served by the ASGI process as deployed
behind the hall's proxy (pages and /events/ at one address): once the stream is ready a
screen sends no timed polls, and a change reaches it at once."""

import time
from types import SimpleNamespace

import pytest

from counters import services
from devices.decorators import DEVICE_COOKIE
from langzhong_si.versions import TICKETS, user_key, versions_bump
from tests.conftest import ARTIFACTS, browser_clerk_ready, browser_sign_in
from tests.counters.test_counter_day_browser import SOUND_EVENTS
from tests.factories import registered_device

pytestmark = [pytest.mark.browser, pytest.mark.redis]


def _asked(page, path):
    """The list of requests the page makes for `path` from now on (kept up to date)."""
    asked = []
    page.on("request", lambda request: path in request.url and asked.append(request.url))
    return asked


def _turned_since(started: float) -> bool:
    """Whether the clock's minute turned since 7 s before `started`: a screen showing the
    clock is told of its turn 2–6 s after it (push.streams), and asks once."""
    return int(time.time() // 60) != int((started - 7) // 60)


def _stream_ready(page, path, asked, every_ms):
    """Waits until the page's timed polls of `path`, sent every `every_ms`, stop (its
    stream is ready), four of its double intervals at most; then none for three of its
    intervals (but one when the clock's minute turned meanwhile: _turned_since)."""
    for _ in range(4):
        before = len(asked)
        page.wait_for_timeout(every_ms * 2)
        if len(asked) == before:
            break
    else:
        raise AssertionError(f"{path} still polled: {asked}")
    quiet, started = len(asked), time.time()
    page.wait_for_timeout(every_ms * 3)
    assert len(asked) - quiet <= _turned_since(started), asked


def _asked_once_more(page, asked):
    """Whether the page asked once (twice if the clock's minute turned meanwhile:
    _turned_since) in the next 1.5 s."""
    before, started = len(asked), time.time()
    page.wait_for_timeout(1500)
    return 1 <= len(asked) - before <= 1 + _turned_since(started)


def test_the_call_display_is_told_of_a_call_and_polls_no_more_meanwhile(
    events, display_browser, hall
):
    """Started as README says for the display (sound without a tap): the pushed call is
    heard too."""
    device = registered_device("display")
    context = display_browser.new_context(viewport={"width": 1920, "height": 1080})
    context.add_cookies([{"name": DEVICE_COOKIE, "value": device.credential, "url": events}])
    page = context.new_page()
    asked = _asked(page, "/display/calls/")
    streams = _asked(page, "/events/")
    page.goto(f"{events}/display/")
    _stream_ready(page, "/display/calls/", asked, 500)
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    ticket = services.ticket_issue(item=hall.item)  # called to window 1 at once
    page.wait_for_selector(f".display-call:has-text('{ticket.display_number}')", timeout=3000)
    page.wait_for_function(f"() => ({SOUND_EVENTS})().includes('chime')", timeout=5000)
    assert len(streams) >= 2, "a new stream for the new answer"
    page.screenshot(path=ARTIFACTS / "display-pushed.png")


def test_the_workbench_is_told_a_ticket_was_handed_over(events, browser, hall):
    clerk = browser_clerk_ready(browser, SimpleNamespace(url=events), hall)
    asked = _asked(clerk, "/counter/panel/")
    _stream_ready(clerk, "/counter/panel/", asked, 2000)
    services.ticket_issue(item=hall.item)  # handed to the ready window
    clerk.wait_for_selector("#id_applicant_name", timeout=3000)
    assert clerk.inner_text("[data-testid=current-ticket]") == "A001"


def test_the_inbox_list_is_asked_for_once_its_version_moves(events, browser, hall):
    reviewer = browser_sign_in(browser, SimpleNamespace(url=events), hall.sun)
    asked = _asked(reviewer, "/inbox/list/")
    reviewer.goto(f"{events}/inbox/")
    _stream_ready(reviewer, "/inbox/list/", asked, 5000)
    versions_bump(user_key(hall.sun.pk))  # as a task given to sun moves it
    assert _asked_once_more(reviewer, asked), asked


def test_the_rating_pad_is_asked_for_once_its_window_moves(events, browser, hall):
    device = registered_device("pad", window=hall.window)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_cookies([{"name": DEVICE_COOKIE, "value": device.credential, "url": events}])
    pad = context.new_page()
    asked = _asked(pad, "/rating/poll/")
    pad.goto(f"{events}/rating/")
    _stream_ready(pad, "/rating/poll/", asked, 3000)
    versions_bump(TICKETS)  # no clerk signed on at its window: the tickets' version
    assert _asked_once_more(pad, asked), asked
