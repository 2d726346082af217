"""Issue 16, item 1 in the browser: with the simulated device bridge running, the kiosk
issues a ticket by a card swipe, the workbench's intake is filled from the card with its
photo shown, the receipt is signed on the simulated pad; without a bridge the pages say
so and typing works as before."""

import pytest
from playwright.sync_api import expect

from counters.models import CaseDocument, Ticket
from devices.bridge.simulator import CITIZENS
from devices.models import HallDevice
from langzhong_si.identity import id_number_digest
from tests.conftest import ARTIFACTS, browser_clerk_ready
from tests.test_browser_journey import _register

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CARD = CITIZENS[0]


def test_a_card_swipe_takes_a_ticket_fills_the_intake_and_the_pad_signs_the_receipt(
    browser, live_server, hall, simulated_bridge
):
    clerk = browser_clerk_ready(browser, live_server, hall)

    kiosk = browser.new_page(viewport={"width": 1080, "height": 1920})
    _register(kiosk, live_server, HallDevice.objects.create(kind="kiosk", name="kiosk"))
    kiosk.goto(f"{live_server.url}/kiosk/?category={hall.item.category.code}")
    kiosk.click("[data-kiosk-read-card]")  # shown once the bridge reports a card reader
    expect(kiosk.locator("#id_id_number")).to_have_value(CARD["id_number"])
    kiosk.screenshot(path=ARTIFACTS / "kiosk-card-read.png", full_page=True)
    kiosk.click(f"button[name=item][value='{hall.item.pk}']")
    assert kiosk.inner_text("[data-testid=ticket-number]") == "A001"
    assert Ticket.objects.get().applicant_id_digest == id_number_digest(CARD["id_number"])

    clerk.wait_for_selector("#id_applicant_name", timeout=10_000)
    clerk.click("[data-read-card]")
    clerk.wait_for_selector("[data-testid=card-photo]:not([hidden])")
    assert clerk.input_value("#id_applicant_name") == CARD["name"]
    assert clerk.input_value("#id_id_number") == CARD["id_number"]
    assert clerk.evaluate("document.querySelector('[data-card-photo] img').naturalWidth") == 102
    clerk.click("[data-capture-document]")  # the document camera adds a page to the scans
    expect(clerk.locator("[data-device-message]")).to_contain_text("1")
    clerk.check(f"#material-{hall.material.pk}")
    clerk.screenshot(path=ARTIFACTS / "workbench-card-read.png", full_page=True)
    clerk.keyboard.press("F9")
    clerk.wait_for_selector("[data-testid=case-status]")
    case = Ticket.objects.get().cases.get()
    assert case.applicant_name == CARD["name"]
    assert case.applicant_id_digest == id_number_digest(CARD["id_number"])
    assert case.documents.get().display_name == "材料-补充-1.jpg"  # the camera's page

    clerk.click("[data-testid=receipt-link]")
    clerk.click("[data-paper-signature] [data-sign]")
    clerk.wait_for_selector("[data-signature-message].text-success")
    assert clerk.evaluate("document.querySelector('[data-signature-image]').naturalWidth") > 0
    clerk.screenshot(path=ARTIFACTS / "receipt-signed.png", full_page=True)
    signature = CaseDocument.objects.get(case=case, display_name="签名-受理回执.png")
    assert len(signature.sha256) == 64


def test_a_verified_social_security_qr_code_fills_the_intake(
    browser, live_server, hall, simulated_bridge
):
    from counters import services

    clerk = browser_clerk_ready(browser, live_server, hall)
    services.ticket_issue(item=hall.item)
    clerk.wait_for_selector("#id_applicant_name", timeout=10_000)
    clerk.click("[data-scan-qr]")
    expect(clerk.locator("#id_id_number")).to_have_value(CARD["id_number"])
    assert clerk.input_value("#id_applicant_name") == CARD["name"]


def test_without_a_bridge_the_kiosk_says_to_type_and_shows_no_device_buttons(
    browser, live_server, hall, settings
):
    settings.DEVICE_BRIDGE_URL = "ws://127.0.0.1:9"  # nothing listens there
    kiosk = browser.new_page(viewport={"width": 1080, "height": 1920})
    _register(kiosk, live_server, HallDevice.objects.create(kind="kiosk", name="kiosk"))
    kiosk.goto(f"{live_server.url}/kiosk/?category={hall.item.category.code}")
    kiosk.wait_for_selector("html[data-bridge-state=absent]")
    assert kiosk.is_hidden("[data-kiosk-read-card]")
    assert "keypad" in kiosk.inner_text(".kiosk-card-status").lower() or (
        "键盘" in kiosk.inner_text(".kiosk-card-status")
    )
    kiosk.click(".kiosk-keypad [data-key='1']")
    assert kiosk.input_value("#id_id_number") == "1"


def _axe_within(page, selector: str) -> list[str]:
    """Serious or critical axe violations inside `selector` (the device controls only:
    the rest of each screen is checked in tests/test_accessibility.py)."""
    from tests.test_accessibility import _TOUCH_TARGETS, AXE, TOUCH_MIN

    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        "async (s) => (await axe.run(s, {resultTypes: ['violations']})).violations"
        ".filter(v => ['serious', 'critical'].includes(v.impact)).map(v => v.id)",
        selector,
    )
    small = [t for t in page.evaluate(_TOUCH_TARGETS, TOUCH_MIN) if "card" in t or "sign" in t]
    return violations + small


def test_the_device_controls_are_accessible_with_large_enough_targets(
    browser, live_server, hall, simulated_bridge
):
    from counters import services

    # axe is injected as a script tag: this context bypasses the CSP (the journey above
    # runs under it).
    context = browser.new_context(viewport={"width": 1080, "height": 1920}, bypass_csp=True)
    kiosk = context.new_page()
    _register(kiosk, live_server, HallDevice.objects.create(kind="kiosk", name="kiosk"))
    kiosk.goto(f"{live_server.url}/kiosk/?category={hall.item.category.code}")
    kiosk.click("[data-kiosk-read-card]")
    expect(kiosk.locator("#id_id_number")).to_have_value(CARD["id_number"])
    assert _axe_within(kiosk, ".kiosk-card") == []

    clerk = browser_clerk_ready(browser, live_server, hall)
    services.ticket_issue(item=hall.item)
    staff = browser.new_context(viewport={"width": 1440, "height": 900}, bypass_csp=True)
    staff.add_cookies(clerk.context.cookies())
    clerk.close()
    page = staff.new_page()
    page.goto(f"{live_server.url}/counter/")
    page.click("[data-read-card]")
    page.wait_for_selector("[data-testid=card-photo]:not([hidden])")
    assert _axe_within(page, "[data-intake-devices]") == []
