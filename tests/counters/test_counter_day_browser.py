"""Issue 19 in headless Chromium: the call display is heard without a click when started
as README says, and asks for a tap when the browser blocks sound; the counter keys on a
case page; F4's confirmation; the kiosk's slip returning to the start, its keypad and
its closed screen; a case waiting for its draw updating itself. Every screen is also
captured at 200 % zoom (test-artifacts/)."""

import datetime

import pytest
from django.utils import timezone

from counters import services
from counters.models import Ticket, Window
from devices.decorators import DEVICE_COOKIE
from tests.conftest import (
    ARTIFACTS,
    browser_clerk_ready,
    browser_polls_answered,
    browser_sign_in,
)
from tests.factories import (
    as_if_awaiting_its_draw,
    hall_case_accept,
    registered_device,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))

# Headless Chromium plays sound whatever its autoplay policy (there is no speaker to
# protect), so a blocking browser is reproduced here with the rule ordinary Chromium
# applies: no media playback and a suspended AudioContext until the page's user has
# activated it. The activation is the browser's own (navigator.userActivation), which a
# real tap (Playwright's trusted click) sets.
AUTOPLAY_BLOCKED = """
(() => {
  const active = () => navigator.userActivation.hasBeenActive;
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    if (!active()) {
      return Promise.reject(new DOMException("play() failed because the user didn't " +
        "interact with the document first.", "NotAllowedError"));
    }
    return play.call(this);
  };
  const state = Object.getOwnPropertyDescriptor(BaseAudioContext.prototype, "state");
  Object.defineProperty(BaseAudioContext.prototype, "state", {
    configurable: true,
    get() { return active() ? state.get.call(this) : "suspended"; },
  });
})();
"""

SOUND_EVENTS = "() => (window.hallDisplaySound || {events: []}).events.map(e => e.kind)"


def _device_page(browser, live_server, kind, viewport=(1920, 1080), scale=1, init_script=""):
    device = registered_device(kind)
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]}, device_scale_factor=scale
    )
    cookie = {"name": DEVICE_COOKIE, "value": device.credential, "url": live_server.url}
    context.add_cookies([cookie])
    if init_script:
        context.add_init_script(init_script)
    return context.new_page()


def _zoomed(browser, live_server, kind, path, name, width=1920, height=1080, init_script=""):
    """The same screen at 200 % zoom: half the CSS viewport at twice the pixel density."""
    page = _device_page(
        browser, live_server, kind, (width // 2, height // 2), scale=2, init_script=init_script
    )
    page.goto(f"{live_server.url}{path}")
    page.screenshot(path=ARTIFACTS / f"{name}-200.png", full_page=True)
    return page


def _call(hall):
    """li_na at window 1 is ready and a citizen takes a ticket: it is called."""
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    return services.ticket_issue(item=hall.item)


# --- the call display's sound ----------------------------------------------------------------


def test_a_call_is_announced_without_any_click_when_started_as_the_readme_says(
    display_browser, live_server, hall
):
    page = _device_page(display_browser, live_server, "display")
    page.goto(f"{live_server.url}/display/")
    page.wait_for_function("() => window.hallDisplaySound !== undefined")
    ticket = _call(hall)
    # The chime, then the call twice: in the recorded clips, as headless Chromium has no
    # Chinese voice ("请 A 0 0 1 号 到 1 号 窗口 办理", twice).
    page.wait_for_function(
        f"() => ({SOUND_EVENTS})().filter(kind => kind === 'announced').length === 1",
        timeout=40_000,
    )
    events = page.evaluate("() => window.hallDisplaySound.events")
    kinds = [event["kind"] for event in events]
    played = [event["detail"] for event in events if event["kind"] == "clip-playing"]
    assert kinds.index("chime") < kinds.index("clip-playing")
    call = ["qing", "A", "0", "0", "1", "hao", "dao", "1", "hao", "chuangkou", "banli"]
    assert played == 2 * call
    assert "blocked" not in kinds
    assert page.is_hidden("[data-testid=sound-prompt]")
    assert ticket.display_number in page.inner_text(".display-call")
    page.screenshot(path=ARTIFACTS / "display-call.png")
    _zoomed(display_browser, live_server, "display", "/display/", "display-call")


def test_the_display_says_a_window_number_as_a_number_and_a_ticket_digit_by_digit(
    browser, live_server, hall
):
    page = _device_page(browser, live_server, "display")
    page.goto(f"{live_server.url}/display/")
    page.wait_for_function("() => window.hallDisplaySound !== undefined")
    said = {
        window: page.evaluate(f"() => window.hallDisplaySound.clipNames('B012', {window})")
        for window in (3, 10, 12, 20, 35)
    }
    words = {window: clips[7:-3] for window, clips in said.items()}
    assert said[12][:6] == ["qing", "B", "0", "1", "2", "hao"]
    assert words == {
        3: ["3"],
        10: ["shi"],
        12: ["shi", "2"],
        20: ["2", "shi"],
        35: ["3", "shi", "5"],
    }


def test_the_display_asks_for_a_tap_when_sound_is_blocked_and_the_tap_enables_it(
    browser, live_server, hall
):
    page = _device_page(browser, live_server, "display", init_script=AUTOPLAY_BLOCKED)
    page.goto(f"{live_server.url}/display/")
    page.wait_for_selector("[data-testid=sound-prompt]", state="visible")
    assert page.is_hidden("[data-testid=sound-prompt] [data-again]"), "the first time"
    page.screenshot(path=ARTIFACTS / "display-sound-prompt.png")
    zoomed = _zoomed(
        browser, live_server, "display", "/display/", "display-sound-prompt",
        init_script=AUTOPLAY_BLOCKED,
    )  # fmt: skip
    zoomed.wait_for_selector("[data-testid=sound-prompt]", state="visible")
    zoomed.screenshot(path=ARTIFACTS / "display-sound-prompt-200.png")

    page.click("[data-testid=sound-prompt]")
    assert page.is_hidden("[data-testid=sound-prompt]")
    assert page.evaluate("() => localStorage.getItem('hall.display.sound')") == "enabled"
    _call(hall)
    page.wait_for_function(f"() => ({SOUND_EVENTS})().includes('clip-playing')", timeout=20_000)
    assert page.is_hidden("[data-testid=sound-prompt]")

    page.reload()  # a restarted browser blocks sound again: the prompt returns, and says so
    page.wait_for_selector("[data-testid=sound-prompt]", state="visible")
    assert page.is_visible("[data-testid=sound-prompt] [data-again]")


def test_a_call_that_comes_while_sound_is_blocked_is_announced_after_the_tap(
    browser, live_server, hall
):
    page = _device_page(browser, live_server, "display", init_script=AUTOPLAY_BLOCKED)
    page.goto(f"{live_server.url}/display/")
    page.wait_for_selector("[data-testid=sound-prompt]", state="visible")
    _call(hall)
    page.wait_for_selector(".display-call[data-call-id]")
    assert "clip-playing" not in page.evaluate(SOUND_EVENTS)
    page.click("[data-testid=sound-prompt]")
    page.wait_for_function(f"() => ({SOUND_EVENTS})().includes('clip-playing')", timeout=20_000)


# --- the counter keys --------------------------------------------------------------------------


def test_the_counter_keys_work_on_a_case_page_and_f8_leaves_the_window_ready(
    browser, live_server, hall, django_capture_on_commit_callbacks
):
    ticket = _call(hall)
    with django_capture_on_commit_callbacks(execute=True):
        case = hall_case_accept(hall)
    page = browser_sign_in(browser, live_server, hall.li_na)
    page.goto(f"{live_server.url}/counter/cases/{case.pk}/")
    assert "A001" in page.inner_text("[data-testid=counter-keys]")
    page.screenshot(path=ARTIFACTS / "case-page-counter-keys.png")

    with page.expect_navigation():
        page.keyboard.press("F3")
    assert page.url.endswith(f"/counter/cases/{case.pk}/")
    assert Ticket.objects.get(pk=ticket.pk).recall_count == 1

    page.keyboard.press("F8")
    page.wait_for_selector("[data-testid=counter-keys-state]:has-text('空闲待叫号')")
    assert Ticket.objects.get(pk=ticket.pk).status == "done"
    assert Window.objects.get(pk=hall.window.pk).state == "ready"
    assert page.url.endswith(f"/counter/cases/{case.pk}/")

    zoomed = browser.new_context(
        viewport={"width": 720, "height": 450}, device_scale_factor=2,
        storage_state=page.context.storage_state(),
    ).new_page()  # fmt: skip
    zoomed.goto(f"{live_server.url}/counter/cases/{case.pk}/")
    zoomed.screenshot(path=ARTIFACTS / "case-page-counter-keys-200.png", full_page=True)


def test_f4_asks_first_and_a_too_early_no_show_is_refused_with_its_reason(
    browser, live_server, hall
):
    ticket = _call(hall)
    page = browser_sign_in(browser, live_server, hall.li_na)
    page.goto(f"{live_server.url}/counter/")
    page.keyboard.press("F4")
    dialog = page.wait_for_selector("[data-testid=no-show-confirm]", state="visible")
    assert "A001" in dialog.inner_text()
    page.screenshot(path=ARTIFACTS / "workbench-no-show-confirm.png")
    page.click("[data-confirm-cancel]")
    assert page.is_hidden("[data-testid=no-show-confirm]")
    assert Ticket.objects.get(pk=ticket.pk).status == "serving"

    page.keyboard.press("F4")
    with page.expect_navigation():
        page.click("[data-confirm-yes]")
    assert "过早" in page.inner_text(".messages")
    assert Ticket.objects.get(pk=ticket.pk).status == "serving"

    zoomed = browser.new_context(
        viewport={"width": 720, "height": 450}, device_scale_factor=2,
        storage_state=page.context.storage_state(),
    ).new_page()  # fmt: skip
    zoomed.goto(f"{live_server.url}/counter/")
    zoomed.keyboard.press("F4")
    zoomed.wait_for_selector("[data-testid=no-show-confirm]", state="visible")
    zoomed.screenshot(path=ARTIFACTS / "workbench-no-show-confirm-200.png")


# --- the kiosk -----------------------------------------------------------------------------------


def test_the_kiosk_slip_returns_to_the_start_screen_by_itself(browser, live_server, hall, settings):
    settings.KIOSK_RETURN_SECONDS = 5
    page = _device_page(browser, live_server, "kiosk", (1080, 1920))
    page.goto(f"{live_server.url}/kiosk/?category={hall.item.category.code}")
    page.click(f"button[name=item][value='{hall.item.pk}']")
    assert page.inner_text("[data-testid=ticket-number]") == "A001"
    page.wait_for_url(f"{live_server.url}/kiosk/", timeout=9_000)
    assert page.is_visible("[data-testid=kiosk-keypad]")
    assert "A001" not in page.content()


def test_the_kiosk_keypad_types_an_id_number_with_large_keys(browser, live_server, hall):
    page = _device_page(browser, live_server, "kiosk", (1080, 1920))
    page.goto(f"{live_server.url}/kiosk/?category={hall.item.category.code}")
    keypad = "[data-testid=kiosk-keypad]"
    for key in "11010519491231002X":
        page.click(f"{keypad} [data-key='{key}']")
    assert page.input_value("#id_id_number") == "11010519491231002X"
    page.click(f"{keypad} [data-key='delete']")
    assert page.input_value("#id_id_number") == "11010519491231002"
    for box in (key.bounding_box() for key in page.query_selector_all(f"{keypad} button")):
        assert box["width"] >= 44 and box["height"] >= 44
    page.screenshot(path=ARTIFACTS / "kiosk-keypad.png")
    page.click(f"{keypad} [data-key='clear']")
    assert page.input_value("#id_id_number") == ""
    _zoomed(browser, live_server, "kiosk", "/kiosk/", "kiosk-keypad", 1080, 1920)


def test_the_kiosk_shows_when_the_hall_opens_again_outside_hours(
    browser, live_server, settings, monkeypatch
):
    settings.HALL_HOURS_ENFORCED = True
    saturday = datetime.datetime(2024, 6, 22, 10, 0, tzinfo=SHANGHAI)
    monkeypatch.setattr(timezone, "now", lambda: saturday)
    page = _device_page(browser, live_server, "kiosk", (1080, 1920))
    page.goto(f"{live_server.url}/kiosk/")
    assert "2024-06-24 08:30" in page.inner_text("[data-testid=kiosk-closed]")
    page.screenshot(path=ARTIFACTS / "kiosk-closed.png")
    _zoomed(browser, live_server, "kiosk", "/kiosk/", "kiosk-closed", 1080, 1920)


# --- a case waiting for its draw -------------------------------------------------------------


def test_a_case_waiting_for_its_draw_updates_itself_when_the_reviewer_is_drawn(
    browser, live_server, hall
):
    from risk.services import review_task_draw

    _call(hall)
    case = hall_case_accept(hall)
    task = as_if_awaiting_its_draw(case)
    page = browser_sign_in(browser, live_server, hall.li_na)
    page.goto(f"{live_server.url}/counter/cases/{case.pk}/")
    assert "正在抽取审核人" in page.inner_text("[data-testid=case-progress]")
    page.screenshot(path=ARTIFACTS / "case-drawing.png")
    review_task_draw(task_id=task.pk)  # the worker comes round: the draw runs
    page.wait_for_selector("[data-testid=case-progress]:not(:has-text('正在抽取'))", timeout=10_000)
    assert "无符合条件" not in page.inner_text("[data-testid=case-progress]")


# --- the polls: an empty 304 while nothing moved ---------------------------------------------


def test_the_call_displays_browser_keeps_its_calls_and_is_answered_304_while_none_moved(
    browser, live_server, hall, caplog
):
    services.ticket_issue(item=hall.item)
    page = _device_page(browser, live_server, "display")
    with caplog.at_level("INFO", logger="langzhong.request"):
        page.goto(f"{live_server.url}/display/")
        answered = browser_polls_answered(caplog, page, "counters:call_display_calls", 6)
    # The first poll has no ETag to send (the page brought the calls along); the clock on
    # the screen may turn a minute once meanwhile.
    assert answered.count(304) >= 4, answered
    assert "A 1" in page.inner_text("#calls"), "the kept answer (one waiting) is still shown"


def test_the_workbenchs_state_card_is_answered_304_until_a_ticket_is_handed_over(
    browser, live_server, hall, caplog
):
    clerk = browser_clerk_ready(browser, live_server, hall)
    with caplog.at_level("INFO", logger="langzhong.request"):
        answered = browser_polls_answered(caplog, clerk, "counters:workbench_panel", 4)
    # The card's first poll has no ETag to send; the minute may turn once meanwhile.
    assert answered.count(304) >= 2, answered
    services.ticket_issue(item=hall.item)  # handed to the ready window
    clerk.wait_for_selector("#id_applicant_name", timeout=10_000)
    assert clerk.inner_text("[data-testid=current-ticket]") == "A001"
