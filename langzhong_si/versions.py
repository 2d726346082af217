"""Change counters for the polled screens: "did anything change since version N?"

A poll (the workbench, the inbox, the call display) sends back the ETag of its last
answer; while the version behind it has not moved, it gets an empty 304 without a
database query for its content. Versions live in the cache (CACHE_URL: shared by every
web host) and are bumped once a change commits (audit.states.state_move for every
status change; ticket issue for the queues). A version the cache lost starts again
from the clock, never from a number an old ETag could hold.
"""

import contextvars
import datetime
import re
import time

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.cache import cache_control
from django.views.decorators.http import condition, require_GET
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


def person_named(etag: str) -> int | None:
    """The person whose version (user_key) an ETag of poll_etag's names, or None: as
    version_named's, only ever a hint of what to read ahead."""
    name = etag.strip('"').partition("@")[0]
    kind, _, number = name.partition(":")
    return int(number) if kind == "user" and number and _NAME.fullmatch(name) else None


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


def version_channel(etag: str) -> str | None:
    """Where the moves of the version an ETag of poll_etag's names are told (push.streams
    listens): only a Redis cache tells them (operations.cache, in the round trip of the
    move, on a channel of the version's own); None for any other cache, or an ETag that
    names no version."""
    named = version_named(etag)
    channel_of = getattr(caches[DEFAULT_CACHE_ALIAS], "channel_of", None)
    return channel_of(named) if named and channel_of else None


def _bump(keys: list[str]) -> None:
    backend = caches[DEFAULT_CACHE_ALIAS]  # once: `cache` looks it up at every use
    several = getattr(backend, "incr_many_or_start", None)  # Redis: one round trip
    if several is not None:
        several([_cache_key(key) for key in keys], time.time_ns(), tell=True)
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


# When the ETag a poll was given next turns by itself (its `also`'s clock, the day): the
# pushed screens' streams tell their screen then (push.streams). Set to a list by whoever
# wants to know, for the requests it makes; poll_etag adds the instant to it.
_turns_wanted: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "poll_turns_wanted", default=None
)


def poll_turns_heard(turns: list) -> contextvars.Token:
    """From now in this context, poll_etag adds to `turns` when each ETag it makes next
    turns by itself (seconds since the epoch). Returns the token that ends it."""
    return _turns_wanted.set(turns)


def poll_turns_unheard(token: contextvars.Token) -> None:
    _turns_wanted.reset(token)


def next_minute(now: datetime.datetime | None = None) -> float:
    """When the clock's minute next turns (seconds since the epoch): the turn of an ETag
    that shows the clock's minute."""
    now = now or timezone.now()
    return (int(now.timestamp()) // 60 + 1) * 60


def _next_day(today: datetime.date) -> float:
    start = datetime.datetime.combine(
        today + datetime.timedelta(days=1), datetime.time(), timezone.get_current_timezone()
    )
    return start.timestamp()


def poll_etag(
    request, key: str, *, also: str = "", known: dict | None = None, turns: float | None = None
) -> tuple[str, bool]:
    """The ETag of `key`'s current version, and whether the poll already holds it.
    `also`: what else the answer shows that moves without the version (a clock);
    `turns`: when `also` next turns by itself (next_minute for the clock's minute).
    `known`: as version_of's; by default what the request read along
    (operations.pollpath: with its session, a device's poll with the device's copy, an API
    key's with its remembered token): the version its If-None-Match names, with the named
    person's or the device's row copy or the token, which version_of never takes."""
    if known is None:
        known = getattr(request, "read_along_found", None)
    # The day too: the screens show today's queues, which a new day empties unasked.
    today = timezone.localdate()
    etag = f'"{key}@{version_of(key, known)}@{today:%Y%m%d}{also}"'
    wanted = _turns_wanted.get()
    if wanted is not None:
        wanted.append(min(_next_day(today), turns) if turns else _next_day(today))
    return etag, request.headers.get("If-None-Match") == etag


def poll_not_modified(etag: str) -> Response:
    """The answer to a poll that already holds `etag` (the view's and
    operations.pollpath's alike)."""
    return Response(status=304, headers={"ETag": etag})


# --- Polled screens answered early -----------------------------------------------------------
#
# A screen polled by the browser (an HTML fragment htmx asks for every few seconds, with
# the ETag its browser kept) is a function view. operations.pollpath answers its unchanged
# poll before the rest of the middleware, by the view's early answer: the view's own
# decorators (its access checks, then the ETag's) around a stand-in for its body, given
# only when they answer 304. Declared by polled_screen on the function it returns; any
# decorator stacked above that (functools.wraps copies the attribute) leaves it with an
# owner that is not the view the URL names: no early answer, so that check is never
# skipped. Access checks go to polled_screen itself.

_EARLY = "early_poll_answer"


def early_poll_of(view):
    """The early answer `view` itself declared, or None."""
    answer = getattr(view, _EARLY, None)
    return answer if getattr(answer, "owner", None) is view else None


def is_polled(view) -> bool:
    """Whether a URL's view is a polled one: a DRF view naming its poll version
    (`poll_key`), or a screen declared by polled_screen."""
    return hasattr(getattr(view, "view_class", None), "poll_key") or early_poll_of(view) is not None


def _body_skipped(request, *args, **kwargs):
    return HttpResponse()  # the early answer's stand-in for the view's body: never sent


def polled_screen(etag_func, *checks):
    """A screen the browser polls with GET: `checks` (decorators that check access,
    outermost first), then the ETag of `etag_func(request, ...)` on every answer, an
    empty 304 while the poll holds it, kept by the browser only to ask again (private,
    no-cache). The early answer passes through the very same decorators."""

    def decorated(body):
        view = require_GET(cache_control(private=True, no_cache=True)(condition(etag_func)(body)))
        for check in reversed(checks):
            view = check(view)
        return view

    def decorator(body):
        view, unchanged_or_not = decorated(body), decorated(_body_skipped)

        def answer(request, *args, **kwargs):
            try:
                response = unchanged_or_not(request, *args, **kwargs)
            except Exception:  # noqa: BLE001 - a refusal, or a check that needs the rest
                return None  # of the middleware: the whole path runs it again, and answers
            return response if response.status_code == 304 else None

        answer.owner = view
        setattr(view, _EARLY, answer)
        return view

    return decorator
