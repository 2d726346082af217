"""The pushed screens in headless Chromium, served by the ASGI process as deployed
behind the hall's proxy (pages and /events/ at one address): once the stream is ready a
screen sends no timed polls, and a change reaches it at once."""

from types import SimpleNamespace

import pytest

from counters import services
from devices.decorators import DEVICE_COOKIE
from tests.conftest import ARTIFACTS, browser_clerk_ready
from tests.factories import registered_device

pytestmark = [pytest.mark.browser, pytest.mark.redis]


def _asked(page, path):
    """The list of requests the page makes for `path` from now on (kept up to date)."""
    asked = []
    page.on("request", lambda request: path in request.url and asked.append(request.url))
    return asked


def _stream_ready(page, path, asked, every_ms):
    """Waits until the page's timed polls of `path`, sent every `every_ms`, stop (its
    stream is ready), 15 s at most; then none for three of its intervals."""
    for _ in range(15_000 // (every_ms * 2)):
        before = len(asked)
        page.wait_for_timeout(every_ms * 2)
        if len(asked) == before:
            break
    else:
        raise AssertionError(f"{path} still polled: {asked}")
    quiet = len(asked)
    page.wait_for_timeout(every_ms * 3)
    assert len(asked) == quiet, asked


def test_the_call_display_is_told_of_a_call_and_polls_no_more_meanwhile(events, browser, hall):
    device = registered_device("display")
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
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
    assert len(streams) >= 2, "a new stream for the new answer"
    page.screenshot(path=ARTIFACTS / "display-pushed.png")


def test_the_workbench_is_told_a_ticket_was_handed_over(events, browser, hall):
    clerk = browser_clerk_ready(browser, SimpleNamespace(url=events), hall)
    asked = _asked(clerk, "/counter/panel/")
    _stream_ready(clerk, "/counter/panel/", asked, 2000)
    services.ticket_issue(item=hall.item)  # handed to the ready window
    clerk.wait_for_selector("#id_applicant_name", timeout=3000)
    assert clerk.inner_text("[data-testid=current-ticket]") == "A001"
