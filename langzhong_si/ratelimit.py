"""Rate limits that never take the hall down: if the shared cache (Redis) is unreachable,
requests are let through and a warning is logged, rather than every kiosk ticket and
progress look-up failing while Redis restarts (found by bench/faults.py)."""

import logging

from django.core.cache import cache
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle

logger = logging.getLogger(__name__)


def counter_hit(key: str, window_seconds: int) -> int | None:
    """Count one more hit for `key` in its window; None when the cache is unreachable."""
    try:
        cache.add(key, 0, window_seconds)
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window_seconds)
        return 1
    except Exception as error:  # noqa: BLE001 - any cache failure: fail open, logged
        logger.warning("rate-limit cache unavailable, not limiting: %s", error)
        return None


class _FailOpen:
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
