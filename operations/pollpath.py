"""An unchanged poll answered early: the workbench, the inbox and the call display send
their last ETag every few seconds, and while nothing changed the answer is an empty 304.
Going through the whole stack for it cost 2–4 ms of CPU, most of it in middleware and
DRF machinery that has nothing to add to an empty answer.

FastPollMiddleware stands after the middleware that find out who is asking (sessions,
language, CSRF, authentication, second factor: all lazy, and their response side still
wraps the early answer) and before the rest. For a GET with If-None-Match to a view
that names its poll version (`poll_key`), it runs the checks the whole path would run,
with the same code and nothing remembered beyond what that path remembers (but which
view a path resolves to, kept per URL resolver, which renderer DRF's content
negotiation picks, kept per renderers, Accept header and format, and the signed-in
person's account or the device's row, either of which may come from its copy: at most
SESSION_CACHE_SECONDS old, marked by every change made through the models, and never used
by the whole path, which reads them again): the account security checks
(staff.middleware), then the view's own DRF content negotiation, authentication,
permissions, the ETag (langzhong_si.versions.poll_etag) and, last, the view's throttles
(last so a request is counted once: an answer that falls through is counted by the
whole path). Only when every one of them passes and the ETag matches
does it answer, with the view's own 304 passed through the response side of the
middleware it skipped (frame options, request id, content security policy). Anything
else — a refusal, a changed version, a throttled request, a poll that is not one
(no X-Poll from a session: the person's own request extends it) — goes down the
whole path, which gives exactly the answer it gives without this middleware.

A view answered here is checked by its DRF classes only: give `poll_key` to no view
whose access also rests on a decorator or on code in its `get` before the ETag.

The browser's polled screens (the call display's calls, the workbench's state card, the
inbox page's list, the rating pad's check) are function views: each declares its early
answer (langzhong_si.versions.polled_screen), its own access checks and ETag around a
stand-in for its body. It is given here after the account security checks, and only
when it is a 304.
"""

import logging

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.urls import Resolver404, get_resolver, get_urlconf
from django.utils.functional import LazyObject, empty
from rest_framework.exceptions import APIException, AuthenticationFailed, Throttled
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.views import APIView

from audit.middleware import RequestContextMiddleware
from devices.api_access import device_credential
from devices.selectors import device_copy_key
from langzhong_si.compiled import RowCopies, row_copies
from langzhong_si.credentials import credential_digest
from langzhong_si.middleware import ContentSecurityPolicyMiddleware
from langzhong_si.versions import (
    early_poll_of,
    is_polled,
    person_named,
    poll_etag,
    poll_not_modified,
    version_named,
)
from operations.sessions import SessionStore
from staff.api_access import api_key_presented, api_token_remembered_key
from staff.middleware import account_passes_unchanged
from staff.selectors import account_copy_key

logger = logging.getLogger(__name__)
_ANSWER = "_early_poll_answer"
_NONE = object()


class FastPollMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        # The response side of the middleware after this one (settings.MIDDLEWARE), in
        # their order; the others there add nothing to an empty 304.
        self.answer = XFrameOptionsMiddleware(
            RequestContextMiddleware(ContentSecurityPolicyMiddleware(_prepared))
        )

    def __call__(self, request):
        if request.method == "GET" and "HTTP_IF_NONE_MATCH" in request.META:
            response = _unchanged_poll(request)
            if response is not None:
                setattr(request, _ANSWER, response)
                return self.answer(request)
        return self.get_response(request)


def _prepared(request):
    return getattr(request, _ANSWER)


def _unchanged_poll(request):
    """The view's 304 (or, throttled, its 429) when the whole path would give it, else
    None (and the request as it came: DRF's authentication sets request.user, which the
    rest of the path must not see; and a person read from their account's copy is read
    again, from the account, by the whole path)."""
    user, auth = request.user, getattr(request, "auth", _NONE)
    copies = RowCopies(settings.SESSION_CACHE_SECONDS)
    with row_copies(copies):
        response = _unchanged_poll_answer(request, copies)
    if response is None:
        if copies.used:
            _read_again(user, request)
        request.user = user
        if auth is not _NONE:
            request.auth = auth
        elif hasattr(request, "auth"):
            del request.auth
    return response


# What each path asked with If-None-Match resolves to: its match when a poll's view
# answers it, else None. Kept with the URL resolver they came from (a changed
# ROOT_URLCONF starts afresh), at most _MATCHES_KEPT paths, then started again:
# resolving walks every pattern. One (resolver, matches) pair, replaced whole, so a
# thread never keeps a match under another resolver than its own.
_matches: tuple = (None, {})
_MATCHES_KEPT = 1024


def _poll_match(path: str):
    global _matches
    resolver = get_resolver(get_urlconf())
    kept_for, matches = _matches
    if kept_for is not resolver or len(matches) >= _MATCHES_KEPT:
        matches = {}
        _matches = (resolver, matches)
    match = matches.get(path, _NONE)
    if match is _NONE:
        try:
            match = resolver.resolve(path)
        except Resolver404:
            match = None
        if match is not None and not is_polled(match.func):
            match = None
        matches[path] = match
    return match


# What DRF's content negotiation picked for a poll (which of the view's renderers, and the
# media type), by the renderers offered, Accept header, `?format=` and format suffix: the
# same four always pick the same, and parsing the header took a tenth of an early
# answer's CPU. Only for DRF's own negotiation (a view or negotiator of its own may read
# anything), and an Accept header of at most _ACCEPT_KEPT characters; at most
# _NEGOTIATED_KEPT of them, then started again. What the negotiation refused is not kept:
# it is refused again, down the whole path.
_negotiated: dict = {}
_NEGOTIATED_KEPT = 256
_ACCEPT_KEPT = 512


def _negotiation(view, drf_request):
    negotiator = view.get_content_negotiator()
    accept = drf_request._request.META.get("HTTP_ACCEPT")
    if (
        type(view).perform_content_negotiation is not APIView.perform_content_negotiation
        or type(negotiator).select_renderer is not DefaultContentNegotiation.select_renderer
        or (accept and len(accept) > _ACCEPT_KEPT)
    ):
        return view.perform_content_negotiation(drf_request)
    # This request's own renderers (DRF's keep state while rendering), as DRF's
    # perform_content_negotiation takes them.
    renderers = view.get_renderers()
    override = negotiator.settings.URL_FORMAT_OVERRIDE
    key = (
        tuple((type(one), one.media_type, one.format) for one in renderers),
        accept,
        drf_request._request.GET.get(override) if override else None,
        view.format_kwarg,
    )
    kept = _negotiated.get(key)
    if kept is not None:
        at, media_type = kept
        return renderers[at], media_type
    renderer, media_type = negotiator.select_renderer(drf_request, renderers, view.format_kwarg)
    if len(_negotiated) >= _NEGOTIATED_KEPT:
        _negotiated.clear()
    _negotiated[key] = (next(at for at, one in enumerate(renderers) if one is renderer), media_type)
    return renderer, media_type


def _concrete(user):
    """The person behind request.user's lazy wrappers (authentication's, and the second
    factor's around it), read as they read it: every check below asks several things of
    them, each through both wrappers otherwise."""
    while isinstance(user, LazyObject):
        if user._wrapped is empty:
            user._setup()
        user = user._wrapped
    return user


def _read_again(user, request):
    """request.user's lazy wrappers (authentication's, and the second factor's around
    it) set to read the person afresh at their next use."""
    while isinstance(user, LazyObject):
        inner, user._wrapped = user._wrapped, empty
        user = inner
    request.__dict__.pop("_cached_user", None)  # where authentication's keeps its read


def _read_along(request, key: str, what: str) -> dict | None:
    """The version the poll's If-None-Match names and `key` read in one round trip, kept
    as what the request read along (poll_etag takes the version from it); None with the
    cache down: each is then read where the whole path reads it. Only ever hints, as the
    session's read along."""
    named = version_named(request.META["HTTP_IF_NONE_MATCH"])
    try:
        found = cache.get_many([one for one in (named, key) if one])
    except Exception:
        logger.warning("%s poll read nothing along: cache unavailable", what, exc_info=True)
        return None
    request.read_along_found = found
    return found


def _device_read_along(request, copies) -> None:
    """A device's poll (its credential in the API's header or the screens' cookie): the
    device's row copy read along, for the device's look-up (devices.selectors), where
    there were a round trip and a query."""
    credential = device_credential(request)
    if not credential or not copies.seconds:
        return
    copy = device_copy_key(credential_digest(credential))
    found = _read_along(request, copy, "device")
    if found is not None:
        copies.found, copies.wanted = found, {copy}


def _token_read_along(request) -> None:
    """An integration account's poll (its key in `Authorization: Token`): the key's
    remembered token (staff.api_access) read along, where there were two round trips. The
    first authentication of the request takes it, early or down the whole path."""
    try:
        key = api_key_presented(request)
    except AuthenticationFailed:  # refused as it is, down the whole path
        return
    if key is not None:
        _read_along(request, api_token_remembered_key(key), "token")


def _unchanged_poll_answer(request, copies):
    match = _poll_match(request.path_info)
    if match is None:
        return None
    session = getattr(request, "session", None)
    if isinstance(session, SessionStore) and not hasattr(session, "_session_cache"):
        # Not read yet: its read (of the cache's copy) takes along the version the poll
        # names, for poll_etag below, and the account copy of the person it names, for
        # their account checks (one round trip where there were two, and one to the
        # database). Only ever hints: the version compared is the one the view names, and
        # an account is taken from its copy only for the session's own person.
        etag = request.META["HTTP_IF_NONE_MATCH"]
        named, person = version_named(etag), person_named(etag)
        copy = account_copy_key(person) if person is not None else None
        session.read_along = tuple(key for key in (named, copy) if key)
        signed_in = SESSION_KEY in session  # read now (a key's): what it took along is known
        request.read_along_found = getattr(session, "read_along_found", {})
        if signed_in:
            copies.found, copies.wanted = request.read_along_found, {copy} if copy else set()
    if not copies.wanted:
        _device_read_along(request, copies)
    if not getattr(request, "read_along_found", None):
        _token_read_along(request)
    request.user = _concrete(request.user)  # _unchanged_poll puts the wrapper back
    if not account_passes_unchanged(request):
        return None
    screen = early_poll_of(match.func)
    if screen is not None:  # a function view's own (its checks, then its 304, or None)
        request.resolver_match = match  # as the handler sets it before a view (and the log)
        return screen(request, *match.args, **match.kwargs)
    view_class = match.func.view_class
    # As APIView.dispatch and APIView.initial do, throttles apart.
    view = view_class(**match.func.view_initkwargs)
    view.setup(request, *match.args, **match.kwargs)
    drf_request = view.initialize_request(request, *match.args, **match.kwargs)
    view.request = drf_request
    view.headers = view.default_response_headers
    try:
        view.format_kwarg = view.get_format_suffix(**match.kwargs)
        drf_request.accepted_renderer, drf_request.accepted_media_type = _negotiation(
            view, drf_request
        )
        drf_request.version, drf_request.versioning_scheme = view.determine_version(
            drf_request, *match.args, **match.kwargs
        )
        view.perform_authentication(drf_request)
        view.check_permissions(drf_request)
        etag, unchanged = poll_etag(drf_request, view.poll_key(drf_request))
        if not unchanged:
            return None
        try:
            view.check_throttles(drf_request)
            answer = poll_not_modified(etag)
        except Throttled as throttled:
            # Answered here as the whole path would: DRF asks every throttle, so each one
            # that allowed the request has counted it already and must not count it again.
            answer = view.handle_exception(throttled)
    except (APIException, Http404, PermissionDenied):
        return None
    request.resolver_match = match  # the request log names the view
    return view.finalize_response(drf_request, answer).render()
