"""Rate limits that never take the hall down: if the shared cache (Redis) is unreachable,
requests are let through and a warning is logged, rather than every kiosk ticket and
progress look-up failing while Redis restarts (found by bench/faults.py).

Every limit keys clients by langzhong_si.clientip.client_ip, so a forged
X-Forwarded-For header never resets one (only a configured trusted proxy is believed)."""

import contextlib
import hashlib
import logging
from dataclasses import dataclass

from django.core.cache import cache
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle

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


class ResilientAnonRateThrottle(_FailOpen, AnonRateThrottle):
    pass


class ResilientScopedRateThrottle(_FailOpen, ScopedRateThrottle):
    pass
