"""Rate limits fail open (and say so in the log) when the shared cache is down, so a Redis
restart never stops the kiosk or the progress page; every limit keys a client by one
address function that believes X-Forwarded-For only from configured trusted proxies."""

from unittest import mock

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from audit.models import AuditEvent
from devices.models import HallDevice
from langzhong_si.clientip import client_ip
from langzhong_si.ratelimit import (
    FailureBudget,
    failure_budgets_release,
    failure_budgets_reserve,
)
from tests.factories import registered_device

pytestmark = pytest.mark.django_db


def _cache_down():
    broken = mock.MagicMock()
    for method in ("get", "set", "add", "incr", "get_or_set", "get_many"):
        getattr(broken, method).side_effect = ConnectionError("redis is down")
    return broken


def test_a_failure_budget_lets_through_when_the_cache_is_down(caplog):
    budget = FailureBudget("test", "x", 1, 60)
    with mock.patch("langzhong_si.ratelimit.cache", _cache_down()):
        assert all(failure_budgets_reserve([budget]) for _ in range(3))
    assert "not limiting" in caplog.text


def test_a_failure_budget_counts_unreleased_attempts_only():
    budget = FailureBudget("test", "case 1", 2, 60)
    for _ in range(5):  # successes give their reservation back
        assert failure_budgets_reserve([budget])
        failure_budgets_release([budget])
    assert failure_budgets_reserve([budget]) and failure_budgets_reserve([budget])
    assert not failure_budgets_reserve([budget])


def test_a_spent_budget_refuses_without_charging_the_others():
    spent, other = FailureBudget("test", "a", 1, 60), FailureBudget("test", "b", 1, 60)
    assert failure_budgets_reserve([spent])
    assert not failure_budgets_reserve([other, spent])
    assert failure_budgets_reserve([other])


def test_the_kiosk_issues_tickets_while_the_cache_is_down(hall):
    _kiosk, credential = registered_device(HallDevice.Kind.KIOSK, name="k")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {credential}")
    with mock.patch("rest_framework.throttling.SimpleRateThrottle.cache", _cache_down()):
        response = client.post("/api/kiosk/tickets/", {"item": hall.item.pk}, format="json")
    assert response.status_code == 201


def test_the_progress_page_answers_while_the_cache_is_down(client):
    with mock.patch("langzhong_si.ratelimit.cache", _cache_down()):
        response = client.get("/progress/", {"case": "2026", "id4": "1234"})
    assert response.status_code == 200


# --- Throttles behind proxies -------------------------------------------------


def _request(peer: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(_request("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_a_forwarded_header_from_an_untrusted_peer_is_ignored(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(_request("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_right_most_untrusted_address_is_the_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1", "10.0.1.0/24"]
    # The client forged the first entry; the proxies appended the rest.
    request = _request("10.0.0.1", "1.2.3.4, 198.51.100.7, 10.0.1.5")
    assert client_ip(request) == "198.51.100.7"


def test_behind_a_trusted_proxy_garbage_in_the_header_is_not_believed(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    assert client_ip(_request("10.0.0.1", "<script>, not-an-ip")) == "10.0.0.1"


def test_a_bad_trusted_proxies_value_fails_at_start_up(monkeypatch):
    import importlib

    from django.core.exceptions import ImproperlyConfigured

    import langzhong_si.settings as project_settings

    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.1,proxy.example")
    try:
        with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
            importlib.reload(project_settings)
    finally:
        monkeypatch.delenv("TRUSTED_PROXIES")
        importlib.reload(project_settings)


def _anon_rate(monkeypatch, rate: str):
    from rest_framework.throttling import AnonRateThrottle

    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": rate, "progress": rate})


def test_a_forged_forwarded_header_does_not_reset_the_api_throttle(settings, monkeypatch):
    settings.TRUSTED_PROXIES = []
    _anon_rate(monkeypatch, "3/minute")
    api = APIClient()
    codes = [
        api.get(
            "/api/catalog/categories/",
            REMOTE_ADDR="203.0.113.9",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        ).status_code
        for n in range(5)
    ]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]


def test_behind_a_trusted_proxy_each_client_has_its_own_throttle(settings, monkeypatch):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    _anon_rate(monkeypatch, "3/minute")
    api = APIClient()

    def get(client_address):
        return api.get(
            "/api/catalog/categories/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=client_address
        ).status_code

    assert [get("198.51.100.1") for _ in range(4)] == [200, 200, 200, 429]
    assert get("198.51.100.2") == 200


def test_the_audit_log_records_the_same_client_address(settings, hall):
    _kiosk, credential = registered_device(HallDevice.Kind.KIOSK, name="k")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Device {credential}")

    def issue(**headers):
        api.post("/api/kiosk/tickets/", {"item": hall.item.pk}, format="json", **headers)
        return AuditEvent.objects.filter(event_type="ticket.issued").latest("id").source_ip

    settings.TRUSTED_PROXIES = []
    assert issue(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="1.2.3.4") == "203.0.113.9"
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    assert issue(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4") == "1.2.3.4"


def test_sign_in_attempts_record_the_same_client_address(settings, client, db):
    from axes.models import AccessAttempt

    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    client.post(
        "/login/",
        {"username": "nobody", "password": "wrong"},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7",
    )
    assert AccessAttempt.objects.get().ip_address == "198.51.100.7"


def test_parallel_guesses_cannot_spend_more_than_the_budget():
    from concurrent.futures import ThreadPoolExecutor

    budget = FailureBudget("test", "one case", 5, 60)
    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(lambda _: failure_budgets_reserve([budget]), range(64)))
    assert outcomes.count(True) == 5
