"""The Redis cache keeps one client per connection pool (building one per call cost as
much CPU as the call), and moves several poll versions on in one round trip."""

import os

import pytest

from operations.cache import ReusedClientRedisCache
from tests.factories import redis_key_prefix, redis_keys_forget

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_cache():
    # The tests' own Redis database (CELERY_BROKER_URL), keys under a prefix of their own.
    cache = ReusedClientRedisCache(
        os.environ["CELERY_BROKER_URL"],
        {"KEY_PREFIX": redis_key_prefix("test-cache"), "TIMEOUT": 60},
    )
    yield cache
    redis_keys_forget(cache)


def test_every_call_uses_the_same_client(redis_cache):
    redis_cache.set("a", 1)
    client = redis_cache._cache.get_client("a")
    assert redis_cache.get("a") == 1
    assert redis_cache._cache.get_client("a", write=True) is client


def test_several_counters_move_on_by_one_in_one_call(redis_cache):
    redis_cache.set("a", 10)
    redis_cache.set("b", 20)
    redis_cache.incr_many_or_start(["a", "b"], start=1000)
    assert (redis_cache.get("a"), redis_cache.get("b")) == (11, 21)


def test_a_missing_counter_starts_from_the_number_given_and_expires(redis_cache):
    redis_cache.incr_many_or_start(["c"], start=1000)
    assert redis_cache.get("c") == 1001
    key = redis_cache.make_and_validate_key("c")
    assert 0 < redis_cache._cache.get_client("c").ttl(key) <= 60
