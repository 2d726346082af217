"""Where the cache is Redis, DRF's throttles keep their requests' times in Redis with one
script (langzhong_si.ratelimit): the same answers as DRF's own, in one round trip, and
requests at once never let through more than the limit."""

import os
import random
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache as default_cache
from django.core.cache.backends.locmem import LocMemCache
from django.test import RequestFactory
from redis.exceptions import NoPermissionError, NoScriptError, ReadOnlyError
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from devices.models import HallDevice
from langzhong_si import ratelimit
from langzhong_si.ratelimit import _SLIDING_WINDOW, ResilientAnonRateThrottle
from operations.cache import ReusedClientRedisCache
from tests.factories import (
    default_cache_forget,
    redis_default_cache,
    redis_key_prefix,
    redis_keys_forget,
    registered_device,
)

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_cache():
    # The tests' own Redis database (CELERY_BROKER_URL), keys under a prefix of their own.
    cache = ReusedClientRedisCache(
        os.environ["CELERY_BROKER_URL"], {"KEY_PREFIX": redis_key_prefix("test-rate")}
    )
    yield cache
    redis_keys_forget(cache)


class _Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


def _throttle(cache, clock, rate="3/minute"):
    class Anonymous(ResilientAnonRateThrottle):
        pass

    Anonymous.rate = rate
    throttle = Anonymous()
    throttle.cache = cache
    throttle.timer = clock
    return throttle


def _request(address="203.0.113.7"):
    request = RequestFactory().get("/api/catalog/categories/", REMOTE_ADDR=address)
    request.user = AnonymousUser()
    return request


def test_a_throttle_in_redis_lets_its_rate_through_and_refuses_the_next(redis_cache):
    clock = _Clock()
    answers = [_throttle(redis_cache, clock).allow_request(_request(), None) for _ in range(4)]
    assert answers == [True, True, True, False]


def test_a_throttle_in_redis_lets_through_again_once_the_oldest_leaves_the_window(redis_cache):
    clock = _Clock()
    for _ in range(3):
        _throttle(redis_cache, clock).allow_request(_request(), None)
        clock.now += 10
    refused = _throttle(redis_cache, clock)
    assert not refused.allow_request(_request(), None)
    assert refused.wait() == pytest.approx(30)  # the first, at 0, leaves at 60
    clock.now += 30
    assert _throttle(redis_cache, clock).allow_request(_request(), None)


def test_a_throttle_in_redis_answers_as_drfs_own_for_any_sequence(redis_cache):
    """The same decisions and waits as DRF's list in a local cache, request by request,
    over random gaps around the window's length."""
    chance = random.Random(15)
    for round_ in range(5):
        ours_clock, theirs_clock = _Clock(), _Clock()
        theirs_cache = LocMemCache(f"drf-{round_}", {})
        address = f"198.51.100.{round_}"
        for _ in range(60):
            gap = chance.choice([0, 0.5, 1, 5, 19.5, 20, 30, 59.9, 60, 61])
            ours_clock.now += gap
            theirs_clock.now += gap
            rate = "0/minute" if round_ == 4 else "3/minute"
            ours = _throttle(redis_cache, ours_clock, rate)
            theirs = _throttle(theirs_cache, theirs_clock, rate)
            assert isinstance(theirs.cache, LocMemCache)  # DRF's own code path
            allowed = ours.allow_request(_request(address), None)
            assert allowed == theirs.allow_request(_request(address), None)
            if not allowed:
                assert ours.wait() == pytest.approx(theirs.wait())


def test_a_throttle_in_redis_takes_one_round_trip(redis_cache):
    clock = _Clock()
    client = redis_cache._cache.get_client(write=True)
    client.script_load(_SLIDING_WINDOW)  # as after its first use since Redis started
    with mock.patch.object(client, "execute_command", wraps=client.execute_command) as sent:
        _throttle(redis_cache, clock).allow_request(_request(), None)
    assert sent.call_count == 1


def test_requests_at_once_never_pass_more_than_the_limit_in_redis(redis_cache):
    clock = _Clock()

    def one(_):
        return _throttle(redis_cache, clock, rate="5/minute").allow_request(_request(), None)

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(one, range(64)))
    assert answers.count(True) == 5


def test_a_throttle_in_redis_works_after_redis_forgot_its_script(redis_cache):
    client = redis_cache._cache.get_client(write=True)
    with mock.patch.object(client, "evalsha", side_effect=NoScriptError("NOSCRIPT")):
        answers = [_throttle(redis_cache, _Clock()).allow_request(_request(), None) for _ in "ab"]
    assert answers == [True, True]
    kept = redis_cache.make_and_validate_key("sliding:throttle_anon_203.0.113.7")
    assert client.zcard(kept) == 2  # counted all the same, by EVAL


def test_a_redis_that_runs_no_scripts_still_limits_with_drfs_own(redis_cache, caplog, monkeypatch):
    monkeypatch.setattr(ratelimit, "_scripts_refused_until", 0.0)  # put back afterwards
    client = redis_cache._cache.get_client(write=True)
    refused = NoPermissionError("this user has no permissions to run the 'evalsha' command")
    with mock.patch.object(client, "evalsha", side_effect=refused) as asked:
        clock = _Clock()
        answers = [_throttle(redis_cache, clock).allow_request(_request(), None) for _ in range(4)]
        last = _throttle(redis_cache, clock)
        assert not last.allow_request(_request(), None)
        assert last.wait() == pytest.approx(60)
    assert answers == [True, True, True, False]
    assert asked.call_count == 1  # not asked again for a while
    assert caplog.text.count("throttle script refused") == 1


def test_a_redis_that_fails_a_script_otherwise_lets_through_as_when_down(redis_cache, caplog):
    client = redis_cache._cache.get_client(write=True)
    read_only = ReadOnlyError("You can't write against a read only replica.")
    with mock.patch.object(client, "evalsha", side_effect=read_only):
        assert _throttle(redis_cache, _Clock(), rate="0/minute").allow_request(_request(), None)
    assert "not throttling" in caplog.text and "script refused" not in caplog.text


def test_a_rate_of_none_a_minute_refuses_every_request_in_redis(redis_cache):
    clock = _Clock()
    throttle = _throttle(redis_cache, clock, rate="0/minute")
    assert not throttle.allow_request(_request(), None)


def test_a_throttle_in_redis_lets_through_when_redis_is_down(caplog):
    gone = ReusedClientRedisCache("redis://127.0.0.1:1/0", {"OPTIONS": {}})
    assert _throttle(gone, _Clock()).allow_request(_request(), None)
    assert "not throttling" in caplog.text


def test_a_display_over_its_rate_is_refused_with_the_wait_when_the_cache_is_redis(
    hall, settings, monkeypatch
):
    """As deployed: DRF's throttles on the default cache (a proxy), CACHE_URL Redis."""
    redis_default_cache(settings, "test-rate")
    rates = {**SimpleRateThrottle.THROTTLE_RATES, "device": "2/minute"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    api = APIClient()
    registration = registered_device(HallDevice.Kind.DISPLAY)
    api.credentials(HTTP_AUTHORIZATION=f"Device {registration.credential}")
    try:
        answers = [api.get("/api/display/") for _ in range(3)]
        assert [answer.status_code for answer in answers] == [200, 200, 429]
        assert 0 < int(answers[2]["Retry-After"]) <= 60
        kept = default_cache.make_and_validate_key(
            f"sliding:throttle_device_device-{registration.device.pk}"
        )
        assert default_cache._cache.get_client(write=True).zcard(kept) == 2
    finally:
        redis_keys_forget(default_cache)


def test_emptying_the_default_cache_in_redis_between_tests_leaves_others_keys(settings):
    """The tests' Redis database is the Celery broker's too: emptying a test's cache
    never empties it (clear() would send FLUSHDB)."""
    redis_default_cache(settings, "test-forget")
    client = default_cache._cache.get_client(write=True)
    foreign = f"{redis_key_prefix('test-foreign')}:a-broker-queue"
    client.set(foreign, "kept", ex=60)
    try:
        default_cache.set("own", "gone")
        default_cache_forget()
        assert default_cache.get("own") is None
        assert client.get(foreign) == b"kept"
    finally:
        client.delete(foreign)
