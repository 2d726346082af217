"""Change counters for the polled screens: "did anything change since version N?"

A poll (the workbench, the inbox, the call display) sends back the ETag of its last
answer; while the version behind it has not moved, it gets an empty 304 without a
database query for its content. Versions live in the cache (CACHE_URL: shared by every
web host) and are bumped once a change commits (audit.states.state_move for every
status change; ticket issue for the queues). A version the cache lost starts again
from the clock, never from a number an old ETag could hold.
"""

import re
import time

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.db import transaction
from django.utils import timezone
from rest_framework.response import Response

# The display's version: any ticket issued, called, finished or cancelled.
TICKETS = "tickets"


def user_key(user_id: int) -> str:
    """The version of what one person's screens show (their window, their inbox)."""
    return f"user:{user_id}"


def _cache_key(key: str) -> str:
    return f"version:{key}"


# What a version's name in an ETag may look like (user_key, TICKETS): anything else an
# If-None-Match names is never looked up ahead (version_named).
_NAME = re.compile(r"[a-z]{1,16}(:[0-9]{1,12})?")


def version_named(etag: str) -> str | None:
    """The cache key of the version an ETag of poll_etag's names, for a read that can
    take it along in a round trip it makes anyway (operations.pollpath); None when the
    text names none. Only ever a hint: poll_etag compares the version of the key the
    view names, whatever was read ahead."""
    name = etag.strip('"').partition("@")[0]
    return _cache_key(name) if _NAME.fullmatch(name) else None


def version_of(key: str, known: dict | None = None) -> int:
    """`key`'s version; `known`: cache entries already read in this request (by cache
    key), taken instead of asking the cache again."""
    value = known.get(_cache_key(key)) if known else None
    if value is None:
        value = cache.get(_cache_key(key))
    if value is None:
        cache.add(_cache_key(key), time.time_ns())
        value = cache.get(_cache_key(key), 0)
    return value


def _bump(keys: list[str]) -> None:
    backend = caches[DEFAULT_CACHE_ALIAS]  # once: `cache` looks it up at every use
    several = getattr(backend, "incr_many_or_start", None)  # Redis: one round trip
    if several is not None:
        several([_cache_key(key) for key in keys], time.time_ns())
        return
    for key in keys:
        try:
            backend.incr(_cache_key(key))
        except ValueError:  # not in the cache (expired or never read): a fresh start
            backend.add(_cache_key(key), time.time_ns())


def versions_bump(*keys: str) -> None:
    """Move these versions on once the caller's transaction commits (at once outside
    one): a poll never sees a new version before the change is visible. The bumps of one
    transaction made within the same savepoints go to the cache together (one round
    trip), whatever else was asked for commit in between (the audit sequencer's nudge,
    say: every commit hook runs after the commit, so their order shows nowhere): a
    savepoint rolled back drops exactly the bumps made inside it."""
    wanted = [key for key in dict.fromkeys(keys) if key]
    if not wanted:
        return
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        open_now = set(connection.savepoint_ids)
        for sids, hook, _robust in reversed(connection.run_on_commit):
            together = getattr(hook, "version_keys", None)
            if together is not None and sids == open_now:
                together.extend(key for key in wanted if key not in together)
                return

    def bump():
        _bump(bump.version_keys)

    bump.version_keys = wanted
    transaction.on_commit(bump)


def poll_etag(request, key: str, *, also: str = "", known: dict | None = None) -> tuple[str, bool]:
    """The ETag of `key`'s current version, and whether the poll already holds it.
    `also`: what else the answer shows that moves without the version (a clock).
    `known`: as version_of's."""
    # The day too: the screens show today's queues, which a new day empties unasked.
    etag = f'"{key}@{version_of(key, known)}@{timezone.localdate():%Y%m%d}{also}"'
    return etag, request.headers.get("If-None-Match") == etag


def poll_not_modified(etag: str) -> Response:
    """The answer to a poll that already holds `etag` (the view's and
    operations.pollpath's alike)."""
    return Response(status=304, headers={"ETag": etag})
