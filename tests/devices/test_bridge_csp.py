"""The Content-Security-Policy lets pages connect to the device bridge's one loopback
address (DEVICE_BRIDGE_URL) and nowhere else; the pages that use devices name it."""

import pytest

from tests.factories import sign_in

pytestmark = pytest.mark.django_db


def _connect_src(response) -> str:
    policy = response.headers["Content-Security-Policy"]
    return next(part for part in policy.split("; ") if part.startswith("connect-src"))


def test_the_policy_allows_exactly_the_bridge_address(client, settings):
    settings.DEVICE_BRIDGE_URL = "ws://127.0.0.1:17321"
    assert _connect_src(client.get("/login/")) == "connect-src 'self' ws://127.0.0.1:17321"


def test_without_a_bridge_the_policy_allows_only_the_site(client, settings):
    settings.DEVICE_BRIDGE_URL = ""
    assert _connect_src(client.get("/login/")) == "connect-src 'self'"


def test_the_kiosk_names_the_bridge_for_its_card_hook(client, register_device, settings, hall):
    settings.DEVICE_BRIDGE_URL = "ws://127.0.0.1:17321"
    register_device(client, "kiosk")
    page = client.get(f"/kiosk/?category={hall.item.category.code}").content.decode()
    assert '<meta name="device-bridge" content="ws://127.0.0.1:17321">' in page
    assert "js/kiosk_card.js" in page and "data-kiosk-read-card" in page


def test_without_a_bridge_the_kiosk_loads_no_bridge_module(client, register_device, settings):
    settings.DEVICE_BRIDGE_URL = ""
    register_device(client, "kiosk")
    page = client.get("/kiosk/").content.decode()
    assert "device-bridge" not in page and "device_bridge.js" not in page


def test_the_receipt_offers_signing_on_the_pad(client, submitted_case, hall):
    case, _number = submitted_case
    sign_in(client, hall.li_na)
    page = client.get(f"/counter/cases/{case.pk}/receipt/").content.decode()
    assert "data-paper-signature" in page and 'data-paper="receipt"' in page


@pytest.mark.parametrize(
    "url", ["ws://10.0.0.5:17321", "http://127.0.0.1:17321", "ws://127.0.0.1:17321/x?y=1"]
)
def test_a_bridge_address_off_this_machine_stops_start_up(url):
    import os
    import subprocess
    import sys

    result = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-c", "import langzhong_si.settings"],
        env={**os.environ, "DEVICE_BRIDGE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0 and "DEVICE_BRIDGE_URL must be" in result.stderr
