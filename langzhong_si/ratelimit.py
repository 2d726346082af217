"""Rate limits that never take the hall down: if the shared cache (Redis) is unreachable,
requests are let through and a warning is logged, rather than every kiosk ticket and
progress look-up failing while Redis restarts (found by bench/faults.py).

Every limit keys clients by langzhong_si.clientip.client_ip, so a forged
X-Forwarded-For header never resets one (only a configured trusted proxy is believed)."""

import contextlib
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import NoPermissionError, NoScriptError, ResponseError
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, SimpleRateThrottle

from langzhong_si.clientip import client_ip

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FailureBudget:
    """At most `limit` failures of one kind for one subject within `window_seconds`."""

    name: str
    subject: str
    limit: int
    window_seconds: int

    @property
    def key(self) -> str:
        # Hashed: the subject is typed by the public (any length, any characters).
        digest = hashlib.sha256(self.subject.encode()).hexdigest()[:32]
        return f"failures:{self.name}:{digest}"


def _charge(budget: FailureBudget) -> int:
    cache.add(budget.key, 0, budget.window_seconds)
    try:
        return cache.incr(budget.key)
    except ValueError:  # expired between add and incr
        cache.set(budget.key, 1, budget.window_seconds)
        return 1


def _refund(budget: FailureBudget) -> None:
    with contextlib.suppress(ValueError):  # already expired: nothing to give back
        cache.decr(budget.key)


def failure_budgets_reserve(budgets: list[FailureBudget]) -> bool:
    """Reserve one failure in every budget before an attempt whose outcome is unknown;
    False (and nothing reserved) when any budget is spent. Reserving first, atomically
    (INCR), means parallel guesses cannot all slip past a check made before the count:
    at most `limit` attempts are ever in flight or failed. The caller gives the
    reservation back with failure_budgets_release when the attempt succeeds, so
    successful attempts never count. Fails open (logged) when the cache is down."""
    reserved = []
    try:
        for budget in budgets:
            count = _charge(budget)
            reserved.append(budget)
            if count > budget.limit:
                failure_budgets_release(reserved)
                return False
    except Exception as error:  # noqa: BLE001 - any cache failure: fail open, logged
        logger.warning("rate-limit cache unavailable, not limiting: %s", error)
        return True
    return True


def failure_budgets_release(budgets: list[FailureBudget]) -> None:
    """Give back a reservation: the attempt succeeded (or was refused before trying)."""
    for budget in budgets:
        try:
            _refund(budget)
        except Exception as error:  # noqa: BLE001 - any cache failure: fail open, logged
            logger.warning("rate-limit cache unavailable, not limiting: %s", error)


# DRF's rule, kept in Redis in one round trip: the times of the requests let through in
# the last `window` seconds, as a sorted set; those older than the window are dropped; a
# request is let through, and its time kept, while fewer than `limit` remain. Answers
# whether it was, how many are kept and the oldest time (for the wait).
_SLIDING_WINDOW = b"""
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
local allowed = 0
if count < limit then
    redis.call('ZADD', key, now, ARGV[4])
    redis.call('PEXPIRE', key, math.ceil(window * 1000))
    count = count + 1
    allowed = 1
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2]
return {allowed, count, oldest or false}
"""
_SLIDING_WINDOW_SHA = hashlib.sha1(_SLIDING_WINDOW).hexdigest()  # noqa: S324 - Redis' name


# Where Redis refused the script (its user may not run scripts, or a proxy knows no
# EVALSHA), this process asks again only after this many seconds.
_SCRIPTS_REFUSED_SECONDS = 300
_scripts_refused_until = 0.0


def _scripts_refused(error) -> bool:
    return isinstance(error, NoPermissionError) or "unknown command" in str(error).lower()


def _backend(throttle_cache):
    """The cache behind a throttle's (DRF's default, django.core.cache.cache, is a proxy
    that looks the default cache up at every use)."""
    return caches[DEFAULT_CACHE_ALIAS] if throttle_cache is cache else throttle_cache


class _OneRoundTrip(SimpleRateThrottle):
    """DRF's throttle as it is (SimpleRateThrottle: the times of the last `duration`
    seconds' requests, at most `num_requests` of them), kept in Redis by one script
    where the cache is Redis: DRF reads its whole list and writes it back on every
    request (two round trips, the list pickled both ways, and two requests at once
    both let through on the same count). Any other cache: DRF's own."""

    def allow_request(self, request, view):
        global _scripts_refused_until  # noqa: PLW0603 - one per process, on purpose
        self._in_redis = False
        backend = _backend(self.cache)
        if not isinstance(backend, RedisCache) or time.monotonic() < _scripts_refused_until:
            return super().allow_request(request, view)
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        key = backend.make_and_validate_key(f"sliding:{self.key}")
        # Each request's time kept apart, however many share one clock reading (on any
        # host: process ids repeat from one container to the next).
        member = f"{self.now!r}:{secrets.token_hex(6)}"
        args = (key, repr(self.now), self.duration, self.num_requests, member)
        client = backend._cache.get_client(key, write=True)
        try:
            try:
                allowed, self._kept, oldest = client.evalsha(_SLIDING_WINDOW_SHA, 1, *args)
            except NoScriptError:  # a Redis that has not seen it since it started
                allowed, self._kept, oldest = client.eval(_SLIDING_WINDOW, 1, *args)
        except ResponseError as error:
            if not _scripts_refused(error):
                raise  # a replica, out of memory, …: as any cache failure (_FailOpen)
            # A Redis that runs no scripts (an ACL without them, a proxy): still limited,
            # by DRF's own two round trips, for a while, and said loudly once.
            _scripts_refused_until = time.monotonic() + _SCRIPTS_REFUSED_SECONDS
            logger.error("throttle script refused by Redis; DRF's own throttle used for "
                         "%s s", _SCRIPTS_REFUSED_SECONDS, exc_info=True)  # fmt: skip
            return super().allow_request(request, view)
        self._in_redis = True
        self._oldest = float(oldest) if oldest else None
        return bool(allowed)

    def wait(self):
        if not self._in_redis:
            return super().wait()
        # As DRF's: the time until the oldest request kept leaves the window, shared
        # among the requests that will then be let through.
        remaining = (
            self.duration if self._oldest is None else self.duration - (self.now - self._oldest)
        )
        available = self.num_requests - self._kept + 1
        return remaining / float(available) if available > 0 else None


class _FailOpen:
    def get_ident(self, request):
        """DRF believes X-Forwarded-For from anyone unless NUM_PROXIES is set; the one
        client address function believes only the configured trusted proxies."""
        return client_ip(request)

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception as error:  # noqa: BLE001 - any cache failure: fail open, logged
            logger.warning("throttle cache unavailable, not throttling: %s", error)
            return True


class ResilientAnonRateThrottle(_FailOpen, AnonRateThrottle, _OneRoundTrip):
    pass


class ResilientScopedRateThrottle(_FailOpen, ScopedRateThrottle, _OneRoundTrip):
    pass
