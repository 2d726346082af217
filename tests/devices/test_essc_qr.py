"""The electronic social-security card's QR code: verified by the configured verifier
(the simulator's HMAC signature here); a tampered, expired, foreign or unconfigured code
is refused with a clear message, and nothing from it is used."""

import time

import pytest

from devices.essc import QrUnverifiable, demo_payload, essc_qr_verify
from staff.roles import Role
from tests.factories import make_staff, sign_in

pytestmark = pytest.mark.django_db

NUMBER = "511381197803122018"


@pytest.fixture(autouse=True)
def _simulator_verifier(settings):
    settings.ESSC_QR_VERIFIER = "devices.essc.SimulatorQrVerifier"
    settings.ESSC_DEMO_KEY = "demo-key"


def _code(*, key="demo-key", expires_in=300, number=NUMBER):
    expires_at = time.time() + expires_in
    return demo_payload(id_number=number, name="张建国", expires_at=expires_at, key=key)


def test_a_valid_code_gives_the_card_holders_id_number_and_name():
    holder = essc_qr_verify(_code())
    assert (holder.id_number, holder.name) == (NUMBER, "张建国")


def test_a_tampered_code_is_refused():
    prefix, body, signature = _code().split(".")
    other = _code(number="511381198511073028").split(".")[1]  # another citizen's body
    with pytest.raises(QrUnverifiable) as refused:
        essc_qr_verify(f"{prefix}.{other}.{signature}")
    assert refused.value.code == "essc_unverifiable"
    assert "无法核验" in refused.value.messages[0]  # zh-hans, the default language


def test_a_code_signed_with_another_key_is_refused():
    with pytest.raises(QrUnverifiable):
        essc_qr_verify(_code(key="someone-elses-key"))


def test_an_expired_code_is_refused_and_says_so():
    with pytest.raises(QrUnverifiable) as refused:
        essc_qr_verify(_code(expires_in=-1))
    assert refused.value.code == "essc_expired"
    assert "已过期" in refused.value.messages[0]


def test_a_correctly_signed_code_with_an_invalid_id_number_is_refused():
    with pytest.raises(QrUnverifiable):
        essc_qr_verify(_code(number="511381197803122019"))


def test_the_production_verifier_unconfigured_refuses_every_code(settings):
    settings.ESSC_QR_VERIFIER = "devices.essc.PlatformQrVerifier"
    settings.ESSC_PLATFORM_URL = ""
    with pytest.raises(QrUnverifiable) as refused:
        essc_qr_verify(_code())
    assert refused.value.code == "essc_not_configured"


def test_the_production_verifier_refuses_a_plain_http_platform(settings):
    settings.ESSC_QR_VERIFIER = "devices.essc.PlatformQrVerifier"
    settings.ESSC_PLATFORM_URL = "http://platform.invalid/verify"
    with pytest.raises(QrUnverifiable):
        essc_qr_verify(_code())


def test_a_clerk_gets_the_id_number_and_name_of_a_verified_code(client):
    sign_in(client, make_staff(Role.CLERK))
    answer = client.post("/devices/essc/verify/", {"payload": _code()})
    assert answer.status_code == 200
    assert answer.json() == {"ok": True, "id_number": NUMBER, "name": "张建国"}


def test_a_kiosk_gets_only_the_id_number(client, register_device):
    register_device(client, "kiosk")
    assert client.post("/devices/essc/verify/", {"payload": _code()}).json() == {
        "ok": True, "id_number": NUMBER
    }  # fmt: skip


def test_an_unverifiable_code_is_answered_400_with_the_message(client, register_device):
    register_device(client, "kiosk")
    answer = client.post("/devices/essc/verify/", {"payload": _code(expires_in=-5)})
    assert answer.status_code == 400
    assert answer.json()["code"] == "essc_expired" and "已过期" in answer.json()["error"]


def test_anyone_else_may_not_verify_codes(client, register_device):
    assert client.post("/devices/essc/verify/", {"payload": _code()}).status_code == 403
    register_device(client, "display")
    assert client.post("/devices/essc/verify/", {"payload": _code()}).status_code == 403


def test_a_kiosk_with_too_many_failed_codes_is_refused_with_a_clear_message(
    client, register_device, settings
):
    settings.ESSC_VERIFY_FAILURES = 3
    register_device(client, "kiosk")
    for _attempt in range(3):
        assert client.post("/devices/essc/verify/", {"payload": "forged"}).status_code == 400
    answer = client.post("/devices/essc/verify/", {"payload": _code()})
    assert answer.status_code == 429
    assert answer.json()["code"] == "essc_rate_limited"
    assert "身份证" in answer.json()["error"]  # the way on: the ID card
    assert "id_number" not in answer.json()


def test_verified_codes_never_count_against_the_caller(client, settings):
    settings.ESSC_VERIFY_FAILURES = 2
    sign_in(client, make_staff(Role.CLERK))
    assert client.post("/devices/essc/verify/", {"payload": "forged"}).status_code == 400
    for _attempt in range(5):
        assert client.post("/devices/essc/verify/", {"payload": _code()}).status_code == 200
    assert client.post("/devices/essc/verify/", {"payload": "forged"}).status_code == 400
    assert client.post("/devices/essc/verify/", {"payload": _code()}).status_code == 429


def test_one_callers_failures_do_not_lock_out_another(client, register_device, settings):
    settings.ESSC_VERIFY_FAILURES = 1
    register_device(client, "kiosk")
    client.post("/devices/essc/verify/", {"payload": "forged"})
    assert client.post("/devices/essc/verify/", {"payload": _code()}).status_code == 429
    client.cookies.clear()
    register_device(client, "kiosk")
    assert client.post("/devices/essc/verify/", {"payload": _code()}).status_code == 200
