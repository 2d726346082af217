"""The public guide page in headless Chromium, on screen and as printed on A4."""

import pytest
from django.core.management import call_command

from tests.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_guide_reads_on_screen_and_prints_on_a4_without_the_navigation(browser, live_server):
    call_command("load_catalog", stdout=open("/dev/null", "w"))  # noqa: SIM115
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/guides/SYBX-001/")
    assert page.inner_text("h1") == "失业保险金申领"
    assert page.is_visible(".guide-qr img")
    page.screenshot(path=ARTIFACTS / "guide.png", full_page=True)

    page.emulate_media(media="print")
    assert page.is_hidden(".app-nav") and page.is_hidden("[data-print]")
    assert page.is_visible(".materials-checklist")
    page.pdf(path=ARTIFACTS / "guide.pdf", format="A4")
    assert (ARTIFACTS / "guide.pdf").stat().st_size > 10_000

    page.emulate_media(media="screen")
    page.fill("input[name=q]", "sbk")
    page.press("input[name=q]", "Enter")
    assert "社会保障卡挂失" in page.inner_text("[data-testid=search-results]")
