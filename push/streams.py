"""Pushed screens: a polled screen's change told over server-sent events, where polling
asked every 0.5–5 s.

A screen that polls (the call display's calls, the workbench's state card, the inbox
list, the rating pad; or an integration's API poll) opens `/events/?poll=<its poll's
URL>&etag=<the ETag of its last answer>`. The stream asks that very poll once, as the
screen would (its cookies and headers, its ETag in If-None-Match, through the whole
web application: langzhong_si.wsgi's handler, the early answer included), and serves
only while the answer is the empty 304: whoever may not poll that screen, or holds an
old answer, is told `changed` at once and the stream ends (the screen then asks as it
always did, and gets whatever the web application gives it). While it is open it waits
for the version the ETag names to move (langzhong_si.versions publishes each move on its
channel in Redis, in the same round trip) and tells `changed` then; it tells `changed`
too when its ETag turns by itself (a clock's minute, the day: the answer has changed,
and the page asks for it through every check), and asks the poll again at least every
PUSH_RECHECK_SECONDS, so a person signed out, a role removed or a device disabled stops
being told within that time; and it ends after PUSH_STREAM_SECONDS (EventSource then
opens it again, asking the poll once more).

The stream tells nothing the poll does not: that the version moved. Only a polled
view's URL is asked (any other is refused, so no other GET is made on anyone's
behalf); the headers passed on are the stream's own, but If-None-Match, X-Poll, HX-Request
and Accept, which make it the poll, and none whose name has an underscore (a WSGI server
drops those: X_Poll must not pass for X-Poll).

Served by an ASGI server (uvicorn) in a process of its own, where each open stream is a
waiting coroutine and one Redis subscription; the hall's proxy routes /events/ to it
(README, "Pushed screens"). Of the other paths it answers only the health check
(langzhong_si.asgi). Without a Redis cache (the embedded default) it answers 204, as the
web workers do (push.views): the screens keep polling. One person or device holds at
most PUSH_STREAMS_PER_HOLDER ready streams in a process (a new one ends their oldest), a
process PUSH_STREAMS_MAX; a request that shows no cookie and no `Authorization` is asked
nothing.
"""

import asyncio
import io
import logging
import random
import re
import sys
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs

from django.conf import settings
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest, get_script_name
from django.urls import Resolver404, resolve, set_script_prefix
from django.utils.functional import LazyObject, empty

from devices.models import HallDevice
from langzhong_si.versions import is_polled, poll_turns_heard, poll_turns_unheard, version_channel

logger = logging.getLogger(__name__)

EVENTS_PATH = "/events/"
# What makes the asked request the poll itself: never the stream's own.
_POLL_HEADERS = {"HTTP_IF_NONE_MATCH", "HTTP_X_POLL", "HTTP_HX_REQUEST", "HTTP_ACCEPT"}
_SKIPPED = {"HTTP_CONTENT_LENGTH", "HTTP_CONTENT_TYPE"}
_POLL_MAX, _ETAG_MAX = 1024, 256


class _Refused(Exception):
    def __init__(self, status: int, text: str):
        super().__init__(text)
        self.status, self.text = status, text


def _asked(query_string: bytes) -> tuple[str, str, str, str]:
    """The poll's path, its query, the ETag and the channel of the version it names,
    from the stream's query; refused unless the path is a polled view's, here."""
    try:
        query = parse_qs(query_string.decode("ascii"), strict_parsing=False)
    except UnicodeDecodeError:
        raise _Refused(400, "The query must be ASCII.") from None
    poll, etag = query.get("poll", [""]), query.get("etag", [""])
    if len(poll) != 1 or len(etag) != 1:
        raise _Refused(400, "Give one poll and one etag.")
    poll, etag = poll[0], etag[0]
    if not (
        0 < len(poll) <= _POLL_MAX
        and poll.isascii()
        and poll.isprintable()
        and poll.startswith("/")
        and not poll.startswith("//")
        and "\\" not in poll
        and "#" not in poll
    ):
        raise _Refused(400, "poll: the URL of a polled screen on this site.")
    if not (0 < len(etag) <= _ETAG_MAX and etag.isascii() and etag.isprintable()):
        raise _Refused(400, "etag: the ETag of the poll's last answer.")
    path, _, poll_query = poll.partition("?")
    try:
        match = resolve(path)
    except Resolver404:
        match = None
    if match is None or not is_polled(match.func):
        raise _Refused(400, "poll: the URL of a polled screen on this site.")
    channel = version_channel(etag)
    if channel is None:
        raise _Refused(400, "etag: the ETag of the poll's last answer.")
    return path, poll_query, etag, channel


def _environ(scope, path: str, query: str, etag: str) -> dict:
    """The poll as a WSGI request: the stream's connection and headers, the poll's URL
    and ETag."""
    server, client = scope.get("server") or ("localhost", 80), scope.get("client")
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": scope.get("root_path", ""),
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] or 80),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": client[0] if client else "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in scope.get("headers", []):
        name = name.decode("latin1")
        if "_" in name:
            continue
        key = "HTTP_" + name.upper().replace("-", "_")
        if key in _SKIPPED or key in _POLL_HEADERS:
            continue
        value = value.decode("latin1")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    environ.update(HTTP_IF_NONE_MATCH=etag, HTTP_X_POLL="1", HTTP_HX_REQUEST="true")
    environ["HTTP_ACCEPT"] = "*/*"
    return environ


_handler: WSGIHandler | None = None


def _poll_asked(environ: dict) -> tuple[int, float | None, str | None]:
    """The poll asked through the whole web application, as WSGIHandler asks it: its
    status, when the ETag it was compared with next turns by itself (None: not told), and
    whom it answered (_holder_of)."""
    global _handler
    if _handler is None:
        _handler = WSGIHandler()
    turns = []
    token = poll_turns_heard(turns)
    try:
        set_script_prefix(get_script_name(environ))
        signals.request_started.send(sender=WSGIHandler, environ=environ)
        request = WSGIRequest({**environ, "wsgi.input": io.BytesIO()})
        response = _handler.get_response(request)
        try:
            status, holder = response.status_code, _holder_of(request)
        finally:
            response.close()  # request_finished: the connections' end of request
    finally:
        poll_turns_unheard(token)
    return status, min(turns) if turns else None, holder


def _holder_of(request) -> str | None:
    """Whom the poll was answered for: the hall device, else the signed-in person (a
    session's or an API key's account), as the answer's checks found them; None if none."""
    device = getattr(request, "hall_device", None)  # a device's screen (its cookie)
    if device is None and isinstance(getattr(request, "auth", None), HallDevice):
        device = request.auth  # a device's API poll (`Authorization: Device`)
    if device is not None:
        return f"device:{device.pk}"
    user = request.__dict__.get("user")
    while isinstance(user, LazyObject):  # read by the checks, or not at all
        user = None if user._wrapped is empty else user._wrapped
    return f"user:{user.pk}" if getattr(user, "is_authenticated", False) else None


# The polls are asked in threads of their own (PUSH_ASK_THREADS): a few at once, so one
# slow answer holds up no other stream, each thread keeping its database connection as
# a web worker does (DATABASE_CONN_MAX_AGE). Not asgiref's one thread, nor Django's
# ASGI handler's thread per request, whose connections outlive their threads.
_executor: ThreadPoolExecutor | None = None


async def _ask(environ: dict) -> tuple[int, float | None, str | None]:
    """The poll asked (_poll_asked) in the asking threads; a poll not answered within
    _ASK_SECONDS counts as refused (the thread finishes it unheard)."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(settings.PUSH_ASK_THREADS, thread_name_prefix="push-ask")
    try:
        status, turns, holder = await asyncio.wait_for(
            asyncio.get_running_loop().run_in_executor(_executor, _poll_asked, environ),
            _ASK_SECONDS,
        )
    except TimeoutError:
        logger.warning("push: a poll took over %s s to answer", _ASK_SECONDS)
        return 504, None, None
    except Exception:
        logger.exception("push: asking a poll failed")
        return 500, None, None
    if status in _MISCONFIGURED or status >= 500:
        _misconfigured_warn(status)
    return status, turns, holder


_ASK_SECONDS = 10
_warned_at = 0.0


def _misconfigured_warn(status: int) -> None:
    """Once a minute at most: anyone can send a Host the site does not allow."""
    global _warned_at
    if time.monotonic() - _warned_at >= 60:
        _warned_at = time.monotonic()
        logger.warning(
            "push: a poll was answered %s (a proxy's Host or X-Forwarded-Proto not passed on?):"
            " its screen keeps polling",
            status,
        )


def asks_end() -> None:
    """The asking threads stopped (at the process's end, and by the tests): with them go
    their database connections."""
    global _executor
    if _executor is not None:
        _executor.shutdown(wait=True)
        _executor = None


# Answers that a screen's own poll never gets: the request as the stream made it is wrong
# (its Host not allowed, http where https is required).
_MISCONFIGURED = {301, 308, 400}


def _redis_url() -> str | None:
    cache = settings.CACHES.get("default", {})
    location = cache.get("LOCATION")
    if not cache.get("BACKEND", "").endswith("RedisCache") or not location:
        return None
    # As Django's RedisCache reads it: several servers, the first one written to (and so
    # where versions_bump publishes).
    return re.split("[;,]", location)[0] if isinstance(location, str) else location[0]


# One Redis client (and its pool) for each event loop and address: a client is bound to
# the loop it was made in.
_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _redis(url: str):
    import redis.asyncio

    loop = asyncio.get_running_loop()
    clients = _clients.setdefault(loop, {})
    if url not in clients:
        clients[url] = redis.asyncio.Redis.from_url(url)
    return clients[url]


async def _plain(send, status: int, text: str = "") -> None:
    headers = [(b"cache-control", b"no-store")]
    if text:
        headers.append((b"content-type", b"text/plain; charset=utf-8"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text.encode()})


async def _told(pubsub) -> None:
    """Returns when the channel tells something."""
    while await pubsub.get_message(ignore_subscribe_messages=True, timeout=None) is None:
        pass


async def _gone(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _next_ask(turns: float | None, now: float) -> tuple[float, bool]:
    """When to look again, and whether the ETag will have turned by itself then: at the
    latest after PUSH_RECHECK_SECONDS (the poll asked again), else just after its ETag
    turns, when the answer has surely changed and the stream says so without asking."""
    again = now + settings.PUSH_RECHECK_SECONDS
    if turns is not None and turns < again:
        # 2–6 s after: the web workers' clocks may be a little behind this one's, and
        # every display's clock turns at the same minute.
        return max(turns, now) + 2 + 4 * random.random(), True  # noqa: S311 - spreading
    return again, False


_open = 0  # streams open in this process
_opening = 0  # of them, those whose first poll is not answered yet
# Ready streams by whom they serve (_holder_of), oldest first: each one's way to be ended.
_ready: dict[str, list[asyncio.Event]] = {}


def _credentials_shown(scope) -> bool:
    """Whether the request shows anything a poll could be answered for (a cookie, an
    `Authorization`): without, no poll is asked."""
    names = {name for name, _value in scope.get("headers", [])}
    return b"cookie" in names or b"authorization" in names


async def stream(scope, receive, send) -> None:
    global _open, _opening
    url = _redis_url()
    busy = _open >= settings.PUSH_STREAMS_MAX or _opening >= 8 * settings.PUSH_ASK_THREADS
    if url is None or busy or not _credentials_shown(scope):
        await _plain(send, 204)  # no push here (or now, or for this): the screen polls
        return
    try:
        path, query, etag, channel = _asked(scope.get("query_string", b""))
    except _Refused as refused:
        await _plain(send, refused.status, refused.text)
        return
    environ = _environ(scope, path, query, etag)
    _open += 1
    _opening += 1  # counted at once: no burst passes the check above before it counts
    opening = [True]
    pubsub = None
    try:
        pubsub = _redis(url).pubsub()
        try:
            # Listening before asking: a move between the answer and the subscription
            # would otherwise never be told.
            await pubsub.subscribe(channel)
        except Exception:
            logger.warning("push: Redis unavailable, the screen keeps polling", exc_info=True)
            await _plain(send, 204)
            return
        await _serve(send, receive, pubsub, environ, opening)
    finally:
        _open -= 1
        _opened(opening)
        if pubsub is not None:
            try:
                await pubsub.aclose()
            except Exception:  # noqa: BLE001 - the connection is dropped either way
                logger.debug("push: closing a subscription failed", exc_info=True)


def _opened(opening: list) -> None:
    """The stream's first poll answered (or the stream over): no longer opening."""
    global _opening
    if opening[0]:
        opening[0] = False
        _opening -= 1


async def _serve(send, receive, pubsub, environ, opening) -> None:
    status, turns, holder = await _ask(environ)
    _opened(opening)
    if status == 304 and holder is None:
        await _plain(send, 204)
        return
    ended = asyncio.Event()
    if status == 304:
        # One person or device holds at most PUSH_STREAMS_PER_HOLDER ready streams (in
        # this process): a new one ends their oldest, which is likelier a dead one (a
        # connection dropped without a word) than a screen they are looking at.
        held = _ready.setdefault(holder, [])
        held.append(ended)
        while len(held) > settings.PUSH_STREAMS_PER_HOLDER:
            held.pop(0).set()
    try:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-store"),
                    (b"x-accel-buffering", b"no"),  # a proxy passes each event on at once
                ],
            }
        )
        if status != 304:
            logger.debug(
                "push: %s answered %s, not the 304: told changed", environ["PATH_INFO"], status
            )
            await _event(send, "changed", more=False)
            return
        await _held(send, receive, pubsub, environ, turns, ended)
    finally:
        if status == 304:
            held = _ready.get(holder, [])
            if ended in held:
                held.remove(ended)
            if not held:
                _ready.pop(holder, None)


async def _held(send, receive, pubsub, environ, turns, ended) -> None:
    """A ready stream, until it is told, asked in vain, gone, ended or past its time."""
    retry = settings.PUSH_RETRY_SECONDS * 1000
    await send(
        {"type": "http.response.body", "body": f"retry: {retry}\n".encode(), "more_body": True}
    )
    # The page stops trusting a stream it has heard nothing from for a while (a connection
    # dropped without a word): an `alive` every PUSH_HEARTBEAT_SECONDS, which it is told.
    heartbeat = settings.PUSH_HEARTBEAT_SECONDS
    await _event(send, "ready", str(heartbeat))
    started = said = time.time()
    ends = started + settings.PUSH_STREAM_SECONDS
    ask_at, turning = _next_ask(turns, started)
    told, gone = asyncio.ensure_future(_told(pubsub)), asyncio.ensure_future(_gone(receive))
    over = asyncio.ensure_future(ended.wait())
    try:
        while True:
            now = time.time()
            wake = min(ends, ask_at, said + heartbeat)
            done, _ = await asyncio.wait(
                {told, gone, over},
                timeout=max(0.0, wake - now),
                return_when=asyncio.FIRST_COMPLETED,
            )
            if gone in done:
                return
            if over in done:  # a newer stream of theirs took its place: the page polls
                await _event(send, "stop", more=False)
                return
            if time.time() >= ends:
                await send({"type": "http.response.body", "body": b""})
                return
            if told in done:
                if told.exception() is not None:
                    logger.warning("push: Redis lost", exc_info=told.exception())
                await _event(send, "changed", more=False)  # lost: the screen asks itself
                return
            if time.time() >= ask_at:
                if turning:  # the answer surely changed: the page asks for it (every check)
                    await _event(send, "changed", more=False)
                    return
                status, turns, _holder = await _ask(environ)
                if status != 304:
                    await _event(send, "changed", more=False)
                    return
                ask_at, turning = _next_ask(turns, time.time())
            if time.time() - said >= heartbeat:
                await _event(send, "alive")
                said = time.time()
    finally:
        for task in (told, gone, over):
            task.cancel()
        await asyncio.gather(told, gone, over, return_exceptions=True)


async def _event(send, name: str, data: str = "", *, more: bool = True) -> None:
    body = f"event: {name}\ndata: {data}\n\n".encode()
    await send({"type": "http.response.body", "body": body, "more_body": more})


def events_application(application, *, only: tuple | None = None):
    """`application` (Django's ASGI handler) with /events/ served here; with `only`, the
    only other paths it is given (404 for the rest: the deployed process is reached for
    /events/ and its health check, and no page is served in it)."""

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":  # nothing to start; at the end, the asking threads
            while True:
                message = await receive()
                if message["type"] == "lifespan.shutdown":
                    asks_end()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
                await send({"type": message["type"] + ".complete"})
        if scope["type"] == "http" and scope["path"] == EVENTS_PATH:
            if scope["method"] != "GET":
                await _plain(send, 405, "GET only.")
                return
            await stream(scope, receive, send)
            return
        if only is not None and scope["type"] == "http" and scope["path"] not in only:
            await _plain(send, 404, "Not found.")
            return
        await application(scope, receive, send)

    return app
