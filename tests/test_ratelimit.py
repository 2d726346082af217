"""Rate limits fail open (and say so in the log) when the shared cache is down, so a Redis
restart never stops the kiosk or the progress page."""

from unittest import mock

import pytest
from rest_framework.test import APIClient

from counters.models import HallDevice
from langzhong_si.ratelimit import counter_hit

pytestmark = pytest.mark.django_db


def _cache_down():
    broken = mock.MagicMock()
    for method in ("get", "set", "add", "incr", "get_or_set", "get_many"):
        getattr(broken, method).side_effect = ConnectionError("redis is down")
    return broken


def test_the_counter_lets_through_when_the_cache_is_down(caplog):
    with mock.patch("langzhong_si.ratelimit.cache", _cache_down()):
        assert counter_hit("x", 60) is None
    assert "not limiting" in caplog.text


def test_the_kiosk_issues_tickets_while_the_cache_is_down(hall):
    kiosk = HallDevice.objects.create(kind=HallDevice.Kind.KIOSK, name="k")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {kiosk.token}")
    with mock.patch("rest_framework.throttling.SimpleRateThrottle.cache", _cache_down()):
        response = client.post("/api/kiosk/tickets/", {"item": hall.item.pk}, format="json")
    assert response.status_code == 201


def test_the_progress_page_answers_while_the_cache_is_down(client):
    with mock.patch("langzhong_si.ratelimit.cache", _cache_down()):
        response = client.get("/progress/", {"case": "2026", "id4": "1234"})
    assert response.status_code == 200
