"""Hall devices are rate-limited per device, not per address: a hall's kiosks, displays
and pads often share one address, and one display polling twice a second must not spend
the budget of the kiosks beside it."""

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from devices.models import HallDevice
from tests.factories import registered_device

pytestmark = pytest.mark.django_db


def _display_api():
    api = APIClient()
    credential = registered_device(HallDevice.Kind.DISPLAY).credential
    api.credentials(HTTP_AUTHORIZATION=f"Device {credential}")
    return api


@pytest.fixture
def rates(monkeypatch):
    def set_rates(**rates):
        monkeypatch.setattr(
            SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, **rates}
        )

    return set_rates


def test_two_displays_behind_one_address_are_not_held_to_the_public_per_address_limit(hall, rates):
    rates(anon="2/minute", device="100/minute")
    displays = [_display_api(), _display_api()]
    codes = [api.get("/api/display/").status_code for _ in range(3) for api in displays]
    assert codes == [200] * 6


def test_a_device_over_its_own_limit_is_refused_while_another_at_its_address_is_not(hall, rates):
    rates(device="2/minute")
    busy, other = _display_api(), _display_api()
    assert [busy.get("/api/display/").status_code for _ in range(3)] == [200, 200, 429]
    assert other.get("/api/display/").status_code == 200


def test_a_request_without_a_device_credential_is_refused_before_any_limit(hall, rates):
    rates(device="1/minute")
    anonymous = APIClient()
    codes = [anonymous.get("/api/display/").status_code for _ in range(3)]
    assert codes == [401, 401, 401]
