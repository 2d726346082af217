"""End-to-end in headless Chromium (Debian's package, never a downloaded browser):
kiosk → call display → clerk workbench → reviewer → approver. Screenshots are kept in
test-artifacts/ for a person to look at."""

import pytest

from devices.models import HallDevice
from devices.services import hall_device_link_issue
from ratings.models import Rating
from risk.models import ReviewTask
from tests.conftest import ARTIFACTS, browser_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_citizen_and_three_staff_walk_a_level_2_case_in_the_browser(browser, live_server, hall):
    clerk = browser_sign_in(browser, live_server, hall.li_na)
    clerk.click(f"button[name=window][value='{hall.window.pk}']")
    clerk.wait_for_selector("[data-counter-key=F2]")
    clerk.wait_for_load_state("load")  # the shortcut handler is a deferred script
    clerk.keyboard.press("F2")
    clerk.wait_for_selector(".state-card.state-ready")

    kiosk_device = HallDevice.objects.create(kind="kiosk", name="kiosk")
    display_device = HallDevice.objects.create(kind="display", name="display")
    kiosk = browser.new_page(viewport={"width": 1080, "height": 1920})
    _register(kiosk, live_server, kiosk_device)
    kiosk.goto(f"{live_server.url}/kiosk/?category={hall.item.category.code}")
    kiosk.screenshot(path=ARTIFACTS / "kiosk.png", full_page=True)
    kiosk.click(f"button[name=item][value='{hall.item.pk}']")
    assert kiosk.inner_text("[data-testid=ticket-number]") == "A001"
    kiosk.screenshot(path=ARTIFACTS / "ticket.png")

    display = browser.new_page(viewport={"width": 1920, "height": 1080})
    _register(display, live_server, display_device)
    assert "A001" in display.inner_text(".display-current")
    display.screenshot(path=ARTIFACTS / "call-display.png")

    # The polled state card notices the handed-over ticket and reloads the workbench.
    clerk.wait_for_selector("#id_applicant_name", timeout=10_000)
    assert clerk.inner_text("[data-testid=current-ticket]") == "A001"
    clerk.fill("#id_applicant_name", "王大山")
    clerk.fill("#id_id_number", "11010519491231002x")
    clerk.check(f"#material-{hall.material.pk}")
    clerk.screenshot(path=ARTIFACTS / "workbench-intake.png", full_page=True)
    clerk.wait_for_load_state("load")
    clerk.keyboard.press("F9")
    clerk.wait_for_selector("[data-testid=case-status]")
    assert "110105********002X" in clerk.content()
    clerk.screenshot(path=ARTIFACTS / "case-under-review.png", full_page=True)
    clerk.click("[data-testid=receipt-link]")
    assert "A001" not in clerk.inner_text("[data-testid=receipt]")  # the receipt names the case
    clerk.screenshot(path=ARTIFACTS / "receipt.png", full_page=True)

    # The service ends; the citizen rates it on the window's pad.
    clerk.goto(f"{live_server.url}/counter/")
    clerk.wait_for_load_state("load")
    clerk.keyboard.press("F8")
    clerk.wait_for_selector(".state-card.state-ready")  # F8: ready again, not paused
    pad = browser.new_page(viewport={"width": 1280, "height": 800})
    _register(
        pad, live_server, HallDevice.objects.create(kind="pad", name="pad", window=hall.window)
    )
    pad.screenshot(path=ARTIFACTS / "rating-pad.png")
    pad.click(".pad-level.level-5")
    pad.click("button.kiosk-consult")
    pad.wait_for_selector(".pad-message")
    assert Rating.objects.get().level == 5

    for step, person in ((1, hall.zhou), (2, hall.ma)):
        task = ReviewTask.objects.get(step=step)
        assert task.assignee == person
        page = browser_sign_in(browser, live_server, person)
        page.goto(f"{live_server.url}/inbox/tasks/{task.pk}/")
        assert "李娜" not in page.content()
        page.screenshot(path=ARTIFACTS / f"task-step-{step}.png", full_page=True)
        page.click("button[value=approve]")
        page.wait_for_selector("table.inbox")

    clerk.goto(f"{live_server.url}/counter/cases/{task.case_id}/")
    assert clerk.get_attribute("[data-testid=case-status]", "class").endswith("status-approved")


def _register(page, live_server, device):
    """Open the device's one-time link on the screen and confirm, as the team lead would."""
    secret = hall_device_link_issue(device_id=device.pk, actor=None, reason="journey")
    page.goto(f"{live_server.url}/devices/{secret}/register/")
    page.click("[data-testid=device-register] button")
    page.wait_for_load_state("load")
