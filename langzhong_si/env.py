"""Typed readers for environment variables.

Each helper returns the default when the variable is unset and raises
ImproperlyConfigured on a value it cannot read, so a typo in a deployment fails
at start-up rather than silently falling back to a development default.
"""

import datetime
import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def env_time_ranges(name: str, default: str) -> list[tuple[datetime.time, datetime.time]]:
    """Comma-separated `HH:MM-HH:MM` ranges of one day, in order and not overlapping
    (e.g. `08:30-12:00,14:00-17:30`)."""
    raw = os.environ.get(name, default)
    ranges: list[tuple[datetime.time, datetime.time]] = []
    for part in (piece.strip() for piece in raw.split(",")):
        try:
            start, end = (datetime.time.fromisoformat(t.strip()) for t in part.split("-"))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must be ranges like 08:30-12:00,14:00-17:30, got {raw!r}"
            ) from None
        if start >= end or (ranges and start < ranges[-1][1]):
            raise ImproperlyConfigured(f"{name}: ranges must be in order, got {raw!r}")
        ranges.append((start, end))
    return ranges
