"""The hall devices in headless Chromium: registering a kiosk and a pad from their one-time
links, the slip, the pad and the refusal page. Screenshots go to test-artifacts/."""

import pytest

from counters import services
from devices.models import HallDevice
from devices.services import hall_device_link_issue
from ratings.models import Rating
from tests.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _open_link(page, live_server, device) -> str:
    secret = hall_device_link_issue(device_id=device.pk, actor=None, reason="browser")
    url = f"{live_server.url}/devices/{secret}/register/"
    page.goto(url)
    return url


def test_a_kiosk_and_a_pad_register_once_print_and_rate_in_the_browser(browser, live_server, hall):
    kiosk = browser.new_page(viewport={"width": 1080, "height": 1920})
    link = _open_link(kiosk, live_server, HallDevice.objects.create(kind="kiosk", name="取号机 1"))
    kiosk.screenshot(path=ARTIFACTS / "device-register.png")
    kiosk.click("[data-testid=device-register] button")
    kiosk.goto(f"{live_server.url}/kiosk/?category={hall.item.category.code}")
    kiosk.click(f"button[name=item][value='{hall.item.pk}']")
    assert kiosk.inner_text("[data-testid=ticket-number]") == "A001"
    assert "20" in kiosk.inner_text("[data-testid=slip-return]")
    kiosk.screenshot(path=ARTIFACTS / "kiosk-slip.png")

    intruder = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    intruder.goto(link)
    assert intruder.is_visible("[data-testid=link-refused]")
    intruder.screenshot(path=ARTIFACTS / "device-link-refused.png")
    ticket_url = kiosk.url
    intruder.goto(ticket_url)
    assert "A001" not in intruder.content()

    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    services.ticket_finish(clerk=hall.li_na)
    pad = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    pad_device = HallDevice.objects.create(kind="pad", name="窗口 1 评价器", window=hall.window)
    _open_link(pad, live_server, pad_device)
    pad.click("[data-testid=device-register] button")
    pad.wait_for_selector(".pad-form")
    pad.screenshot(path=ARTIFACTS / "rating-pad-device.png")
    pad.click(".pad-level.level-5")
    pad.click("button.kiosk-consult")
    pad.wait_for_selector(".pad-message")
    assert Rating.objects.get().level == 5
