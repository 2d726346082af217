"""An unchanged poll is answered early (operations.pollpath) only when the whole path
would answer it with the same 304: every refusal of the whole path — signed out, session
ended, account disabled, role removed, password to change, second factor missing, device
disabled, token revoked, throttled — still gets its own answer at the very next poll.
Each refusal is checked with the early answer in place and without it (`path`)."""

import logging
import time
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from counters import services as counter_services
from devices.models import HallDevice
from langzhong_si.versions import (
    TICKETS,
    person_named,
    user_key,
    version_named,
    version_of,
    versions_bump,
)
from operations.sessions import _cache_keys
from staff import services as staff_services
from staff.middleware import LAST_ACTIVE_AT, SIGNED_IN_AT
from staff.models import ApiToken
from staff.roles import Role
from staff.selectors import account_copy_key
from tests.factories import (
    integration_token,
    make_staff,
    minute_steady,
    redis_default_cache,
    redis_keys_forget,
    registered_device,
    sign_in,
)

pytestmark = pytest.mark.django_db

FAST = "operations.pollpath.FastPollMiddleware"
INBOX = "/api/inbox/tasks/"
WORKBENCH = "/api/counter/"
DISPLAY = "/api/display/"
INBOX_LIST = "/inbox/list/"  # the inbox page's


@pytest.fixture(params=["early", "whole", "remembered"])
def path(request, settings):
    """With the early answer (as deployed), without it (the whole path), and with the
    early answer and sessions remembered in the cache (as deployed with Redis): a refusal
    must be the same every way."""
    if request.param == "remembered":
        settings.SESSION_CACHE_SECONDS = 30
    if request.param == "whole":
        settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if name != FAST]
    return request.param


def _poll(api, url, etag, **extra):
    return api.get(url, HTTP_IF_NONE_MATCH=etag, HTTP_X_POLL="1", **extra)


def _signed_in(user, url=INBOX):
    """A person at their inbox (`url`: the API's list, or the page's); with sessions
    remembered, as SESSION_CACHE_SECONDS after their sign-in: their session's copy and,
    on PostgreSQL, their account's copy made by a poll, so the next reads neither."""
    api = APIClient()
    sign_in(api, user)
    first = api.get(url)
    assert first.status_code == 200
    if settings.SESSION_CACHE_SECONDS:
        # The sign-in's marks gone (it saved the session and the account's last sign-in).
        cache.delete_many([_cache_keys(api.cookies["sessionid"].value)[0], _copy_of(user)])
        assert _poll(api, url, first["ETag"]).status_code == 304
        assert isinstance(cache.get(_cache_keys(api.cookies["sessionid"].value)[0]), dict)
        if connection.vendor == "postgresql":
            assert isinstance(cache.get(_copy_of(user)), tuple)
    return api, first["ETag"]


def _copy_of(user):
    return account_copy_key(user.pk)


def _clerk_by_token(hall):
    clerk = make_staff([Role.INTEGRATION, Role.CLERK])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {integration_token(clerk)}")
    counter_services.window_sign_on(clerk=clerk, window_id=hall.window.pk)
    first = api.get(WORKBENCH)
    assert first.status_code == 200
    return clerk, api, first["ETag"]


def _display(hall):
    registration = registered_device(HallDevice.Kind.DISPLAY, site=hall.window.site)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Device {registration.credential}")
    first = api.get(DISPLAY)
    assert first.status_code == 200
    return registration.device, api, first["ETag"]


def _whole_path_only(monkeypatch):
    """Make the early answer impossible to give (its check fails as a refusal would)."""
    monkeypatch.setattr("operations.pollpath.account_passes_unchanged", lambda request: False)


# --- The early answer is given, and is the whole path's answer ------------------------------


def _refuse_view(monkeypatch, view):
    def refused(*args, **kwargs):
        raise AssertionError("the view was reached")

    monkeypatch.setattr(view, "get", refused)


def test_an_unchanged_inbox_poll_is_answered_before_the_view(hall, monkeypatch):
    from inbox.api import InboxListApi

    api, etag = _signed_in(hall.zhou)
    _refuse_view(monkeypatch, InboxListApi)
    assert _poll(api, INBOX, etag).status_code == 304


def test_an_unchanged_workbench_poll_by_token_is_answered_before_the_view(hall, monkeypatch):
    from front.api import WorkbenchApi

    _clerk, api, etag = _clerk_by_token(hall)
    _refuse_view(monkeypatch, WorkbenchApi)
    assert _poll(api, WORKBENCH, etag).status_code == 304


def test_an_unchanged_display_poll_is_answered_before_the_view(hall, monkeypatch):
    from front.api import CallDisplayApi

    _device, api, etag = _display(hall)
    _refuse_view(monkeypatch, CallDisplayApi)
    assert _poll(api, DISPLAY, etag).status_code == 304


def _same_answer_both_ways(monkeypatch, api, url, etag):
    # The proxy's request id is kept by both, so the headers can be compared whole.
    early = _poll(api, url, etag, HTTP_X_REQUEST_ID="poll-1")
    with monkeypatch.context() as patch:
        _whole_path_only(patch)
        whole = _poll(api, url, etag, HTTP_X_REQUEST_ID="poll-1")
    assert early.status_code == whole.status_code == 304
    assert dict(early.headers) == dict(whole.headers)
    assert early.content == whole.content == b""
    assert early.cookies.output() == whole.cookies.output()


def test_an_early_inbox_304_has_the_whole_paths_headers(hall, monkeypatch):
    api, etag = _signed_in(hall.zhou)
    _same_answer_both_ways(monkeypatch, api, INBOX, etag)


def test_an_early_workbench_304_has_the_whole_paths_headers(hall, monkeypatch):
    _clerk, api, etag = _clerk_by_token(hall)
    _same_answer_both_ways(monkeypatch, api, WORKBENCH, etag)


def test_an_early_display_304_has_the_whole_paths_headers(hall, monkeypatch):
    _device, api, etag = _display(hall)
    _same_answer_both_ways(monkeypatch, api, DISPLAY, etag)


def test_an_early_304_carries_the_security_headers(hall):
    api, etag = _signed_in(hall.zhou)
    response = _poll(api, INBOX, etag)
    assert response.status_code == 304
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Request-ID"] and response["ETag"] == etag


def test_an_early_304_is_logged_with_its_view_and_account(hall, caplog):
    api, etag = _signed_in(hall.zhou)
    with caplog.at_level(logging.INFO, logger="langzhong.request"):
        _poll(api, INBOX, etag)
    record = [r for r in caplog.records if r.name == "langzhong.request"][-1]
    assert (record.view, record.status, record.user_id) == ("api-inbox", 304, hall.zhou.pk)
    assert record.request_id


def test_an_early_poll_does_not_keep_the_session_alive(hall):
    api, etag = _signed_in(hall.zhou)
    session = api.session
    session[LAST_ACTIVE_AT] = time.time() - 60
    session.save()
    assert _poll(api, INBOX, etag).status_code == 304
    assert abs(api.session[LAST_ACTIVE_AT] - (time.time() - 60)) < 5


def test_a_conditional_request_that_is_no_poll_still_counts_as_activity(hall):
    api, etag = _signed_in(hall.zhou)
    session = api.session
    session[LAST_ACTIVE_AT] = time.time() - 600
    session.save()
    assert api.get(INBOX, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert time.time() - api.session[LAST_ACTIVE_AT] < 5


def test_a_changed_version_is_answered_in_full(hall, path, django_capture_on_commit_callbacks):
    _clerk, api, etag = _clerk_by_token(hall)
    with django_capture_on_commit_callbacks(execute=True):
        counter_services.window_declare_ready(clerk=_clerk)
    response = _poll(api, WORKBENCH, etag)
    assert response.status_code == 200 and response.json()["window"]["state"] == "ready"


# --- Refusals: the same at the very next poll, with or without the early answer --------------


def _account_action_required(response):
    return (
        response.status_code == 403
        and response.json()["error"]["code"] == "account_action_required"
    )


def test_a_signed_out_person_is_refused_the_poll(hall, path):
    api, etag = _signed_in(hall.zhou)
    api.logout()
    assert _poll(api, INBOX, etag).status_code == 403


def test_a_deleted_session_is_refused_the_poll(hall, path):
    api, etag = _signed_in(hall.zhou)
    api.session.delete()  # as sign-out and a new sign-in's key delete it
    assert not Session.objects.exists()
    assert _poll(api, INBOX, etag).status_code == 403


def test_an_idle_session_ends_at_the_poll(hall, path, settings):
    api, etag = _signed_in(hall.zhou)
    session = api.session
    session[LAST_ACTIVE_AT] = time.time() - settings.SESSION_IDLE_SECONDS - 1
    session.save()
    assert _account_action_required(_poll(api, INBOX, etag))
    assert "_auth_user_id" not in api.session, "signed out"


def test_a_session_past_its_absolute_lifetime_ends_at_the_poll(hall, path, settings):
    api, etag = _signed_in(hall.zhou)
    session = api.session
    session[SIGNED_IN_AT] = time.time() - settings.SESSION_ABSOLUTE_SECONDS - 1
    session[LAST_ACTIVE_AT] = time.time()
    session.save()
    assert _account_action_required(_poll(api, INBOX, etag))


def test_a_disabled_account_is_refused_the_poll(hall, path):
    api, etag = _signed_in(hall.sun)
    staff_services.account_active_set(
        user=hall.sun, active=False, changed_by=make_staff(Role.SYSTEM_ADMINISTRATOR)
    )
    assert _poll(api, INBOX, etag).status_code == 403


@pytest.mark.parametrize("url", [INBOX, INBOX_LIST])
def test_a_removed_role_is_refused_the_poll(hall, path, url):
    api, etag = _signed_in(hall.sun, url)
    staff_services.role_revoke(
        user=hall.sun, role=Role.REVIEWER, revoked_by=make_staff(Role.SECURITY_ADMINISTRATOR)
    )
    assert _poll(api, url, etag).status_code == 403


def test_a_password_that_must_change_is_refused_the_poll(hall, path):
    api, etag = _signed_in(hall.sun)
    staff_services.password_must_change(
        user=hall.sun, set_by=make_staff(Role.SECURITY_ADMINISTRATOR)
    )
    assert _account_action_required(_poll(api, INBOX, etag))


def test_an_expired_password_is_refused_the_poll(hall, path, settings):
    api, etag = _signed_in(hall.sun)
    settings.PASSWORD_MAX_AGE_DAYS = 0  # time alone expires it: nothing is written
    assert _account_action_required(_poll(api, INBOX, etag))


def test_a_missing_second_factor_is_refused_the_poll(hall, path):
    _api, etag = _signed_in(hall.ma)
    unconfirmed = APIClient()
    unconfirmed.force_login(hall.ma)  # another sign-in, its code not yet given
    assert _account_action_required(_poll(unconfirmed, INBOX, etag))


def test_a_reset_second_factor_is_refused_the_poll(hall, path):
    api, etag = _signed_in(hall.ma)
    staff_services.second_factor_reset(
        user=hall.ma, reset_by=make_staff(Role.SECURITY_ADMINISTRATOR)
    )
    assert _account_action_required(_poll(api, INBOX, etag))


def test_a_revoked_token_is_refused_the_poll(hall, path):
    clerk, api, etag = _clerk_by_token(hall)
    token = ApiToken.objects.get(user=clerk)
    staff_services.api_token_revoke(
        token_id=token.pk, revoked_by=make_staff(Role.SYSTEM_ADMINISTRATOR)
    )
    # 403, not 401: the view's first authentication (the session's) names no challenge.
    assert _poll(api, WORKBENCH, etag).status_code == 403


def test_a_token_of_a_disabled_account_is_refused_the_poll(hall, path):
    clerk, api, etag = _clerk_by_token(hall)
    staff_services.account_active_set(
        user=clerk, active=False, changed_by=make_staff(Role.SYSTEM_ADMINISTRATOR)
    )
    # 403, not 401: the view's first authentication (the session's) names no challenge.
    assert _poll(api, WORKBENCH, etag).status_code == 403


def test_a_token_whose_clerk_role_was_removed_is_refused_the_poll(hall, path):
    clerk, api, etag = _clerk_by_token(hall)
    staff_services.role_revoke(
        user=clerk, role=Role.CLERK, revoked_by=make_staff(Role.SECURITY_ADMINISTRATOR)
    )
    assert _poll(api, WORKBENCH, etag).status_code == 403


def test_a_disabled_display_is_refused_the_poll(hall, path):
    device, api, etag = _display(hall)
    HallDevice.objects.filter(pk=device.pk).update(enabled=False)  # no copy made yet
    assert _poll(api, DISPLAY, etag).status_code == 401


def test_a_kiosk_is_refused_the_displays_poll(hall, path):
    _device, display, etag = _display(hall)
    kiosk = APIClient()
    kiosk.credentials(
        HTTP_AUTHORIZATION=f"Device {registered_device(HallDevice.Kind.KIOSK).credential}"
    )
    assert _poll(kiosk, DISPLAY, etag).status_code == 403


def test_display_polls_stay_throttled(hall, path, monkeypatch):
    _device, api, etag = _display(hall)  # the first request counted
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES,
                                               "device": "3/minute"}
    )  # fmt: skip
    codes = [_poll(api, DISPLAY, etag).status_code for _ in range(3)]
    assert codes == [304, 304, 429]


def test_a_changed_display_poll_is_counted_once(
    hall, path, monkeypatch, django_capture_on_commit_callbacks
):
    _device, api, etag = _display(hall)  # counted: 1
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES,
                                               "device": "3/minute"}
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        versions_bump(TICKETS)
    changed = _poll(api, DISPLAY, etag)  # 2, however far the early answer went
    assert changed.status_code == 200
    codes = [_poll(api, DISPLAY, changed["ETag"]).status_code for _ in range(2)]
    assert codes == [304, 429]


def _in_redis(settings, name):
    """As deployed with Redis: the cache there, sessions remembered in it."""
    redis_default_cache(settings, name)
    settings.SESSION_CACHE_SECONDS = 30


def _commands_sent(poll) -> tuple[int, list[str]]:
    """`poll()`'s status and the Redis commands it sent."""
    client = cache._cache.get_client(write=True)
    with mock.patch.object(client, "execute_command", wraps=client.execute_command) as sent:
        status = poll().status_code
    return status, [call.args[0] for call in sent.call_args_list]


@pytest.mark.redis
def test_with_sessions_in_redis_a_signed_out_cookie_is_refused_the_poll(hall, settings):
    """As deployed: sessions remembered in Redis (operations.cache), so the poll reads no
    session row; the cookie of a session signed out is refused however it is replayed."""
    _in_redis(settings, "test-fast-poll")
    api, etag = _signed_in(hall.zhou)
    cookie = api.cookies["sessionid"].value
    try:
        with CaptureQueriesContext(connection) as queries:
            assert _poll(api, INBOX, etag).status_code == 304
        assert not any("django_session" in query["sql"] for query in queries)
        api.logout()
        replay = APIClient()
        replay.cookies["sessionid"] = cookie
        assert _poll(replay, INBOX, etag).status_code == 403
    finally:
        redis_keys_forget(cache)


@pytest.mark.redis
def test_with_sessions_in_redis_an_unchanged_inbox_poll_takes_one_round_trip(hall, settings):
    """The session's copy, its ending's mark and the poll's version in one MGET."""
    _in_redis(settings, "test-read-along")
    api, etag = _signed_in(hall.zhou)
    try:
        assert _commands_sent(lambda: _poll(api, INBOX, etag)) == (304, ["MGET"])
    finally:
        redis_keys_forget(cache)


@pytest.mark.redis
def test_with_sessions_in_redis_a_moved_version_read_along_is_answered_in_full(
    hall, settings, django_capture_on_commit_callbacks
):
    _in_redis(settings, "test-read-along")
    api, etag = _signed_in(hall.zhou)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            versions_bump(user_key(hall.zhou.pk))
        changed = _poll(api, INBOX, etag)
        assert changed.status_code == 200 and changed["ETag"] != etag
        assert _poll(api, INBOX, changed["ETag"]).status_code == 304
    finally:
        redis_keys_forget(cache)


# --- The account's copy: an unchanged poll reads no row of the database ----------------------


@pytest.mark.postgres
def test_with_sessions_remembered_an_unchanged_poll_reads_no_row(hall, settings):
    settings.SESSION_CACHE_SECONDS = 30
    api, etag = _signed_in(hall.sun)  # no second factor: nothing else to read
    with CaptureQueriesContext(connection) as queries:
        assert _poll(api, INBOX, etag).status_code == 304
    assert queries.captured_queries == []


@pytest.mark.postgres
@pytest.mark.redis
def test_with_sessions_in_redis_the_accounts_copy_comes_in_the_sessions_round_trip(hall, settings):
    _in_redis(settings, "test-account-copy")
    api, etag = _signed_in(hall.sun, INBOX_LIST)
    client = cache._cache.get_client(write=True)
    try:
        with (
            mock.patch.object(client, "execute_command", wraps=client.execute_command) as sent,
            CaptureQueriesContext(connection) as queries,
        ):
            assert _poll(api, INBOX_LIST, etag).status_code == 304
        assert [call.args[0] for call in sent.call_args_list] == ["MGET"]
        assert queries.captured_queries == []
    finally:
        redis_keys_forget(cache)


@pytest.mark.postgres
def test_an_account_change_marks_its_copy_again_once_committed(
    hall, settings, django_capture_on_commit_callbacks
):
    settings.SESSION_CACHE_SECONDS = 30
    api, etag = _signed_in(hall.sun)
    with django_capture_on_commit_callbacks(execute=True):
        staff_services.account_active_set(
            user=hall.sun, active=False, changed_by=make_staff(Role.SYSTEM_ADMINISTRATOR)
        )
        cache.delete(_copy_of(hall.sun))  # as if a read had put the old row back meanwhile
    assert cache.get(_copy_of(hall.sun)) == "changed"
    assert _poll(api, INBOX, etag).status_code == 403


@pytest.mark.postgres
def test_an_account_change_stands_with_the_cache_down(hall, settings, caplog):
    settings.SESSION_CACHE_SECONDS = 30
    with mock.patch.object(cache, "set", side_effect=ConnectionError("down")):
        staff_services.account_active_set(
            user=hall.sun, active=False, changed_by=make_staff(Role.SYSTEM_ADMINISTRATOR)
        )
    hall.sun.refresh_from_db()
    assert not hall.sun.is_active and "not marked" in caplog.text


@pytest.mark.postgres
def test_a_password_record_written_since_the_copy_is_refused_the_poll(hall, settings):
    settings.SESSION_CACHE_SECONDS = 30
    api, etag = _signed_in(hall.sun)
    from staff.models import PasswordRecord

    record = PasswordRecord.objects.filter(user=hall.sun).latest("set_at")
    record.set_at = record.set_at.replace(year=record.set_at.year - 1)
    record.save()
    assert _account_action_required(_poll(api, INBOX, etag))


@pytest.mark.postgres
def test_an_answer_in_full_reads_the_account_afresh_not_its_copy(
    hall, settings, django_capture_on_commit_callbacks
):
    settings.SESSION_CACHE_SECONDS = 30
    api, etag = _signed_in(hall.sun)
    with connection.cursor() as cursor:  # a change no signal announces: the copy lags it
        cursor.execute("DELETE FROM auth_user_groups WHERE user_id = %s", [hall.sun.pk])
    assert _poll(api, INBOX, etag).status_code == 304  # the copy only ever decides an empty 304
    with django_capture_on_commit_callbacks(execute=True):
        versions_bump(user_key(hall.sun.pk))
    assert _poll(api, INBOX, etag).status_code == 403  # anything more: the account as it is


@pytest.mark.postgres
def test_a_copy_answers_the_accounts_read_without_a_query(hall, settings):
    from langzhong_si.compiled import RowCopies, row_copies
    from staff.selectors import user_with_account_state

    key = _copy_of(hall.sun)
    cache.delete(key)  # the account's creation marked it
    with row_copies(RowCopies(30, found={}, wanted={key})):
        read = user_with_account_state(hall.sun.pk)
    kept = cache.get(key)
    with (
        row_copies(RowCopies(30, found={key: kept}, wanted={key})) as copies,
        CaptureQueriesContext(connection) as queries,
    ):
        copied = user_with_account_state(hall.sun.pk)
    assert queries.captured_queries == [] and copies.used
    assert (copied.pk, copied.password, copied._role_cache) == (
        read.pk, read.password, read._role_cache)  # fmt: skip


@pytest.mark.postgres
def test_an_accounts_copy_keeps_its_password_hash_encrypted(hall, settings):
    from langzhong_si.compiled import _seal, _unseal

    settings.SESSION_CACHE_SECONDS = 30
    _signed_in(hall.sun)
    row, columns = cache.get(_copy_of(hall.sun))
    kept = row[columns.index("password")]
    hall.sun.refresh_from_db()
    assert hall.sun.password not in repr(row) and _unseal(kept) == hall.sun.password
    assert _seal(hall.sun.password) != _seal(hall.sun.password)  # a nonce each time


@pytest.mark.parametrize(
    "kept",
    [
        b"\x00" * 40,  # not sealed by us
        "gAAAAABm-an-older-releases-fernet-token",  # an older release's (text)
        "another key",  # sealed under another PERSONAL_DATA_KEY (made below)
    ],
)
@pytest.mark.postgres
def test_a_copy_whose_password_does_not_decrypt_is_not_taken(hall, settings, kept):
    from langzhong_si.compiled import RowCopies, row_copies
    from staff.selectors import user_with_account_state

    settings.SESSION_CACHE_SECONDS = 30
    _signed_in(hall.sun)
    row, columns = cache.get(_copy_of(hall.sun))
    at = columns.index("password")
    if kept == "another key":
        from langzhong_si.compiled import _seal

        settings.PERSONAL_DATA_KEY = "a key since retired" * 3
        kept = _seal(hall.sun.password)
        settings.PERSONAL_DATA_KEY = "the key now" * 3
    forged = (row[:at] + (kept,) + row[at + 1 :], columns)
    key = _copy_of(hall.sun)
    with (
        row_copies(RowCopies(30, found={key: forged}, wanted={key})) as copies,
        CaptureQueriesContext(connection) as queries,
    ):
        read = user_with_account_state(hall.sun.pk)
    assert len(queries.captured_queries) == 1 and not copies.used
    assert read.password == hall.sun.password


@pytest.mark.postgres
def test_a_marked_account_is_read_and_not_copied(hall, settings):
    from langzhong_si.compiled import RowCopies, row_copies
    from staff.selectors import user_with_account_state

    key = _copy_of(hall.sun)
    cache.set(key, "changed", 5)
    with (
        row_copies(RowCopies(30, found={key: "changed"}, wanted={key})) as copies,
        CaptureQueriesContext(connection) as queries,
    ):
        user_with_account_state(hall.sun.pk)
    assert len(queries.captured_queries) == 1 and not copies.used
    assert cache.get(key) == "changed"


@pytest.mark.postgres
def test_a_copy_is_taken_only_for_its_own_account(hall, settings):
    from langzhong_si.compiled import RowCopies, row_copies
    from staff.selectors import user_with_account_state

    others = _copy_of(hall.sun)
    cache.delete_many([others, _copy_of(hall.zhou)])  # the accounts' creation marked them
    with row_copies(RowCopies(30, found={}, wanted={others})):
        user_with_account_state(hall.sun.pk)
    with (
        row_copies(RowCopies(30, found={others: cache.get(others)}, wanted={others})) as copies,
        CaptureQueriesContext(connection) as queries,
    ):
        own = user_with_account_state(hall.zhou.pk)
    assert own.pk == hall.zhou.pk and len(queries.captured_queries) == 1 and not copies.used
    assert cache.get(_copy_of(hall.zhou)) is None  # not wanted: not copied either


@pytest.mark.postgres
def test_outside_row_copies_nothing_is_copied(hall):
    from staff.selectors import user_with_account_state

    cache.delete(_copy_of(hall.sun))
    user_with_account_state(hall.sun.pk)
    assert cache.get(_copy_of(hall.sun)) is None


@pytest.mark.parametrize(
    ("etag", "person"),
    [
        ('"user:12@5@20261205"', 12),
        ('"tickets@5@20261205"', None),
        ('"user:@5"', None),
        ('"user:１@5"', None),
        ('"user:1:2@5"', None),
        ('"user:' + "9" * 13 + '@5"', None),
    ],
)
def test_only_a_plain_person_in_an_etag_is_read_ahead(etag, person):
    assert person_named(etag) == person


@pytest.mark.parametrize(
    "etag",
    [
        '"user:1@5@20261205"',
        '"tickets@5@20261205"',
        'W/"user:1@5"',
        '"user:1:2@5"',
        '"USER:1@5"',
        '"user:１@5"',
        '"' + "u" * 10_000 + '@5"',
        '"session:abc@1"',
        "",
        "*",
    ],
)
def test_only_a_plain_version_name_in_an_etag_is_read_ahead(etag):
    named = version_named(etag)
    expected = {'"user:1@5@20261205"': "version:user:1", '"tickets@5@20261205"': "version:tickets"}
    assert named == expected.get(etag)


def test_a_version_read_ahead_for_another_key_is_not_taken(db):
    """What an ETag names is read ahead only as a hint: the version compared is the
    view's own key's, whatever was read for another."""
    cache.set("version:user:7", 111)
    assert version_of("user:7", known={"version:user:8": 999}) == 111
    assert version_of("user:7", known={"version:user:7": 222}) == 222


def test_a_poll_after_the_urls_change_is_resolved_by_the_new_ones(hall, settings):
    api, etag = _signed_in(hall.zhou)
    assert _poll(api, INBOX, etag).status_code == 304  # its match remembered
    settings.ROOT_URLCONF = "tests.operations.urls_plain_inbox"
    response = _poll(api, INBOX, etag)
    assert response.status_code == 200 and response.content == b"plain"


def test_a_kept_negotiation_answers_only_the_same_accept_header_and_format(hall, path):
    """The early answer keeps what DRF's content negotiation picked, by Accept header and
    `?format=`: a poll that asks for what the view cannot give is refused (406) as down
    the whole path, before and after polls it can."""
    api, etag = _signed_in(hall.zhou)
    assert _poll(api, INBOX, etag, HTTP_ACCEPT="application/json").status_code == 304
    assert _poll(api, INBOX, etag, HTTP_ACCEPT="text/csv").status_code == 406
    assert (
        _poll(api, f"{INBOX}?format=api", etag, HTTP_ACCEPT="application/json").status_code == 406
    )
    assert _poll(api, INBOX, etag, HTTP_ACCEPT="application/json").status_code == 304


def test_a_kept_negotiation_is_made_again_for_a_view_whose_renderers_changed():
    """A view may give each request its own renderers: what was kept for some is never
    taken for others."""
    from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    from operations import pollpath

    class Changing(APIView):
        offered = [JSONRenderer]

        def get_renderers(self):
            return [renderer() for renderer in self.offered]

    def negotiated():
        view = Changing()
        view.format_kwarg = None
        django_request = APIRequestFactory().get("/changing/", HTTP_ACCEPT="*/*")
        return pollpath._negotiation(view, Request(django_request))

    assert type(negotiated()[0]) is JSONRenderer
    Changing.offered = [BrowsableAPIRenderer, JSONRenderer]  # DRF takes the first for */*
    assert type(negotiated()[0]) is BrowsableAPIRenderer


def test_a_negotiation_of_a_views_own_is_never_kept():
    from rest_framework.renderers import JSONRenderer
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    from operations import pollpath

    class OwnNegotiation(APIView):
        def perform_content_negotiation(self, request, force=False):
            return JSONRenderer(), request.META.get("HTTP_X_WANTED", "application/json")

    for wanted in ("application/json", "application/json; indent=4"):
        view = OwnNegotiation()
        view.format_kwarg = None
        asked = APIRequestFactory().get("/own/", HTTP_ACCEPT="*/*", HTTP_X_WANTED=wanted)
        assert pollpath._negotiation(view, Request(asked))[1] == wanted


def test_the_negotiations_kept_for_polls_are_bounded(hall):
    from operations import pollpath

    api, etag = _signed_in(hall.zhou)
    for number in range(pollpath._NEGOTIATED_KEPT + 10):
        _poll(api, INBOX, etag, HTTP_ACCEPT=f"application/json; q=0.{number % 9 + 1}, x/{number}")
    assert len(pollpath._negotiated) <= pollpath._NEGOTIATED_KEPT


def test_the_paths_remembered_for_polls_are_bounded():
    from operations import pollpath

    for number in range(pollpath._MATCHES_KEPT * 2):
        pollpath._poll_match(f"/api/nothing/{number}/")
    assert len(pollpath._matches[1]) <= pollpath._MATCHES_KEPT


# --- The browser's polled screens (function views: the call display's calls, the state card) --

SCREEN = "/display/calls/"
PAD_POLL = "/rating/poll/"
PANEL = "/counter/panel/?state=paused"


def _rest_of_the_middleware_refused(monkeypatch):
    """An early answer never reaches the middleware after FastPollMiddleware."""

    def refused(self, request):
        raise AssertionError("the whole path was taken")

    monkeypatch.setattr("draws.middleware.DailySeedMiddleware.__call__", refused)


def _device_browser(kind, url, **where):
    """A hall device's browser (its credential in the cookie its registration left), and
    its first answer from `url`."""
    from django.test import Client

    from devices.decorators import DEVICE_COOKIE

    minute_steady()
    registration = registered_device(kind, **where)
    browser = Client()
    browser.cookies[DEVICE_COOKIE] = registration.credential
    return registration.device, browser, browser.get(url)


def _screen(hall, kind=HallDevice.Kind.DISPLAY):
    """A call display's browser."""
    device, browser, first = _device_browser(kind, SCREEN, site=hall.window.site)
    return device, browser, first.get("ETag")


def _counter(hall):
    """A clerk's browser at the workbench (signed in, signed on at window 1)."""
    from django.test import Client

    minute_steady()
    browser = Client()
    sign_in(browser, hall.li_na)
    counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    first = browser.get(PANEL)
    assert first.status_code == 200
    return browser, first["ETag"]


def test_an_unchanged_call_display_screen_poll_is_answered_before_the_rest(hall, monkeypatch):
    _device, browser, etag = _screen(hall)
    _rest_of_the_middleware_refused(monkeypatch)
    # The display's browser sends no X-Poll: it is no person, and has no session.
    assert browser.get(SCREEN, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_an_unchanged_state_card_poll_is_answered_before_the_rest(hall, monkeypatch):
    browser, etag = _counter(hall)
    _rest_of_the_middleware_refused(monkeypatch)
    assert _poll(browser, PANEL, etag).status_code == 304


def test_an_early_call_display_screen_304_has_the_whole_paths_headers(hall, monkeypatch):
    _device, browser, etag = _screen(hall)
    _same_answer_both_ways(monkeypatch, browser, SCREEN, etag)


def test_an_early_state_card_304_has_the_whole_paths_headers(hall, monkeypatch):
    browser, etag = _counter(hall)
    _same_answer_both_ways(monkeypatch, browser, PANEL, etag)


def test_an_early_state_card_304_is_logged_with_its_view_and_account(hall, caplog):
    browser, etag = _counter(hall)
    with caplog.at_level(logging.INFO, logger="langzhong.request"):
        _poll(browser, PANEL, etag)
    record = [r for r in caplog.records if r.name == "langzhong.request"][-1]
    assert (record.view, record.status, record.user_id) == (
        "counters:workbench_panel", 304, hall.li_na.pk
    )  # fmt: skip


def test_a_moved_window_reloads_the_workbench_at_the_state_card(
    hall, path, django_capture_on_commit_callbacks
):
    browser, etag = _counter(hall)
    with django_capture_on_commit_callbacks(execute=True):
        counter_services.window_declare_ready(clerk=hall.li_na)
    moved = _poll(browser, PANEL, etag)
    assert moved.status_code == 204 and moved["HX-Refresh"] == "true"


def test_a_disabled_display_is_refused_the_screens_poll(hall, path):
    device, browser, etag = _screen(hall)
    HallDevice.objects.filter(pk=device.pk).update(enabled=False)  # no copy made yet
    assert browser.get(SCREEN, HTTP_IF_NONE_MATCH=etag).status_code == 403


def test_a_kiosk_is_refused_the_call_display_screens_poll(hall, path):
    _device, _display_browser, etag = _screen(hall)
    _kiosk, kiosk_browser, _none = _screen(hall, HallDevice.Kind.KIOSK)
    assert kiosk_browser.get(SCREEN, HTTP_IF_NONE_MATCH=etag).status_code == 403


def test_a_browser_without_a_device_is_refused_the_screens_poll(hall, path):
    from django.test import Client

    _device, _browser, etag = _screen(hall)
    assert Client().get(SCREEN, HTTP_IF_NONE_MATCH=etag).status_code == 403


def test_a_signed_out_clerk_is_refused_the_state_card(hall, path):
    browser, etag = _counter(hall)
    browser.logout()
    response = _poll(browser, PANEL, etag)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("screen", ["state card", "inbox list"])
def test_a_signed_out_persons_screen_takes_the_whole_page_to_the_sign_in(hall, path, screen):
    """Signed out in another tab: the screen's next partial refresh sends the page to the
    sign-in, rather than showing the sign-in form inside the panel."""
    if screen == "state card":
        browser, etag = _counter(hall)
        url = PANEL
    else:
        browser, etag = _signed_in(hall.zhou, INBOX_LIST)
        url = INBOX_LIST
    browser.logout()
    response = _poll(browser, url, etag, HTTP_HX_REQUEST="true")
    assert (response.status_code, response["HX-Redirect"]) == (204, "/login/")


def test_a_clerk_whose_role_was_removed_is_refused_the_state_card(hall, path):
    browser, etag = _counter(hall)
    staff_services.role_revoke(
        user=hall.li_na, role=Role.CLERK, revoked_by=make_staff(Role.SECURITY_ADMINISTRATOR)
    )
    assert _poll(browser, PANEL, etag).status_code == 403


def test_a_disabled_clerk_is_refused_the_state_card(hall, path):
    browser, etag = _counter(hall)
    staff_services.account_active_set(
        user=hall.li_na, active=False, changed_by=make_staff(Role.SYSTEM_ADMINISTRATOR)
    )
    response = _poll(browser, PANEL, etag)  # the session's account is no more: signed out
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_an_idle_clerks_session_ends_at_the_state_card(hall, path, settings):
    browser, etag = _counter(hall)
    session = browser.session
    session[LAST_ACTIVE_AT] = time.time() - settings.SESSION_IDLE_SECONDS - 1
    session.save()
    response = _poll(browser, PANEL, etag, HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Redirect"] == "/login/"
    assert "_auth_user_id" not in browser.session, "signed out"


def test_a_state_card_asked_without_x_poll_counts_as_activity(hall):
    browser, etag = _counter(hall)
    session = browser.session
    session[LAST_ACTIVE_AT] = time.time() - 600
    session.save()
    assert browser.get(PANEL, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert time.time() - browser.session[LAST_ACTIVE_AT] < 5


# --- Which function views answer early ----------------------------------------------------


def _screen_view(*checks):
    from langzhong_si.versions import polled_screen

    @polled_screen(lambda request: '"tickets@1@20261205"', *checks)
    def screen(request):
        raise AssertionError("an unchanged poll reached the view")

    return screen


def test_a_decorator_stacked_above_a_polled_screen_takes_the_early_answer_away():
    """A check stacked above polled_screen rather than given to it (functools.wraps copies
    the early answer) leaves the view with none: the check is never skipped."""
    from django.contrib.auth.decorators import login_required

    from langzhong_si.versions import early_poll_of

    assert early_poll_of(_screen_view()) is not None
    assert early_poll_of(login_required(_screen_view())) is None


def test_a_polled_screens_early_answer_passes_its_checks_first(rf, db):
    from django.contrib.auth.models import AnonymousUser

    from langzhong_si.versions import early_poll_of
    from staff.decorators import role_required

    request = rf.get("/", HTTP_IF_NONE_MATCH='"tickets@1@20261205"')
    request.user = AnonymousUser()
    assert early_poll_of(_screen_view())(request).status_code == 304
    assert early_poll_of(_screen_view(role_required(Role.CLERK)))(request) is None  # 302
    request.user = make_staff(Role.CLERK)
    assert early_poll_of(_screen_view(role_required(Role.CLERK)))(request).status_code == 304
    assert early_poll_of(_screen_view(role_required(Role.REVIEWER)))(request) is None  # 403


# --- The inbox page's list ------------------------------------------------------------------


def test_an_unchanged_inbox_list_poll_is_answered_before_the_rest(hall, monkeypatch):
    browser, etag = _signed_in(hall.zhou, INBOX_LIST)
    _rest_of_the_middleware_refused(monkeypatch)
    assert _poll(browser, INBOX_LIST, etag).status_code == 304


def test_a_missing_second_factor_is_refused_the_inbox_list(hall, path):
    from django.test import Client

    _browser, etag = _signed_in(hall.ma, INBOX_LIST)
    unconfirmed = Client()
    unconfirmed.force_login(hall.ma)  # another sign-in, its code not yet given
    response = _poll(unconfirmed, INBOX_LIST, etag)
    assert response.status_code == 302 and "two-factor" in response["Location"]


# --- The rating pad's poll ---------------------------------------------------------------------


def _pad(hall):
    device, browser, first = _device_browser(HallDevice.Kind.PAD, PAD_POLL, window=hall.window)
    assert first.status_code == 204  # nothing to rate, nothing shown
    return device, browser, first["ETag"]


def test_an_unchanged_pad_poll_is_answered_before_the_rest(hall, monkeypatch):
    _device, browser, etag = _pad(hall)
    _rest_of_the_middleware_refused(monkeypatch)
    assert browser.get(PAD_POLL, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_a_disabled_pad_is_refused_its_poll(hall, path):
    device, browser, etag = _pad(hall)
    HallDevice.objects.filter(pk=device.pk).update(enabled=False)  # no copy made yet
    assert browser.get(PAD_POLL, HTTP_IF_NONE_MATCH=etag).status_code == 403


# --- A device's copy: an unchanged display poll reads no row of the database ----------------


def _copy_of_device(device):
    from devices.selectors import device_copy_key

    return device_copy_key(device.credential_digest)


def _copied(device, poll):
    """The device's copy made by a poll (its registration's mark gone), then checked."""
    cache.delete(_copy_of_device(device))
    assert poll().status_code == 304
    return cache.get(_copy_of_device(device))


def _unchanged_with_no_row_read(device, poll) -> bool:
    """Whether, once a poll copied the device, the next is a 304 that reads no row."""
    assert isinstance(_copied(device, poll), tuple)
    with CaptureQueriesContext(connection) as queries:
        assert poll().status_code == 304
    return queries.captured_queries == []


@pytest.mark.postgres
def test_with_copies_kept_an_unchanged_api_display_poll_reads_no_row(hall, settings):
    settings.SESSION_CACHE_SECONDS = 30
    device, api, etag = _display(hall)
    assert _unchanged_with_no_row_read(device, lambda: _poll(api, DISPLAY, etag))


@pytest.mark.postgres
def test_with_copies_kept_an_unchanged_call_display_screen_poll_reads_no_row(hall, settings):
    settings.SESSION_CACHE_SECONDS = 30
    device, browser, etag = _screen(hall)
    assert _unchanged_with_no_row_read(device, lambda: browser.get(SCREEN, HTTP_IF_NONE_MATCH=etag))


@pytest.mark.postgres
@pytest.mark.redis
def test_with_copies_in_redis_a_display_reads_its_version_and_copy_in_one_round_trip(
    hall, settings
):
    _in_redis(settings, "test-device-copy")
    device, browser, etag = _screen(hall)
    poll = lambda: browser.get(SCREEN, HTTP_IF_NONE_MATCH=etag)  # noqa: E731
    try:
        assert isinstance(_copied(device, poll), tuple)
        assert _commands_sent(poll) == (304, ["MGET"])
    finally:
        redis_keys_forget(cache)


@pytest.mark.redis
def test_with_tokens_in_redis_a_token_poll_reads_its_version_and_token_in_one_round_trip(
    hall, settings
):
    """The remembered token (staff.api_access) and the poll's version in one MGET."""
    _in_redis(settings, "test-token-along")
    _clerk, api, etag = _clerk_by_token(hall)  # its first answer remembered the token
    try:
        assert _commands_sent(lambda: _poll(api, WORKBENCH, etag)) == (304, ["MGET"])
    finally:
        redis_keys_forget(cache)


@pytest.mark.redis
def test_with_tokens_in_redis_a_moved_version_read_along_is_answered_in_full(
    hall, settings, django_capture_on_commit_callbacks
):
    """The early answer took the remembered token it read along; the whole path reads it
    again and still accepts it."""
    _in_redis(settings, "test-token-along")
    clerk, api, etag = _clerk_by_token(hall)  # its first answer remembered the token
    try:
        with django_capture_on_commit_callbacks(execute=True):
            versions_bump(user_key(clerk.pk))
        with CaptureQueriesContext(connection) as queries:
            changed = _poll(api, WORKBENCH, etag)
        assert changed.status_code == 200 and changed["ETag"] != etag
        assert not any("staff_apitoken" in query["sql"] for query in queries)
    finally:
        redis_keys_forget(cache)


@pytest.mark.postgres
def test_with_copies_kept_an_unchanged_pad_poll_reads_no_row(hall, settings):
    settings.SESSION_CACHE_SECONDS = 30
    device, browser, etag = _pad(hall)
    assert _unchanged_with_no_row_read(
        device, lambda: browser.get(PAD_POLL, HTTP_IF_NONE_MATCH=etag)
    )


def _pad_clerk_changed(hall, settings, change, django_capture_on_commit_callbacks):
    """A pad copied, then `change()` made to its window's clerk: the pad's next poll."""
    settings.SESSION_CACHE_SECONDS = 30
    device, browser, etag = _pad(hall)
    poll = lambda: browser.get(PAD_POLL, HTTP_IF_NONE_MATCH=etag)  # noqa: E731
    assert isinstance(_copied(device, poll), tuple)
    with django_capture_on_commit_callbacks(execute=True):
        change()
        cache.delete(_copy_of_device(device))  # as if a read had put the old row back
    assert cache.get(_copy_of_device(device)) == "changed"  # marked again at commit
    return poll()


@pytest.mark.postgres
def test_a_clerk_signing_on_at_a_pads_window_marks_its_copy(
    hall, settings, django_capture_on_commit_callbacks
):
    def sign_on():
        counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)

    answer = _pad_clerk_changed(hall, settings, sign_on, django_capture_on_commit_callbacks)
    assert answer.status_code == 204 and f"user:{hall.li_na.pk}@" in answer["ETag"]


@pytest.mark.postgres
def test_a_clerk_signing_off_at_a_pads_window_marks_its_copy(
    hall, settings, django_capture_on_commit_callbacks
):
    counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    answer = _pad_clerk_changed(
        hall,
        settings,
        lambda: counter_services.window_sign_off(clerk=hall.li_na),
        django_capture_on_commit_callbacks,
    )
    assert answer.status_code == 204 and answer["ETag"].startswith('"tickets@')


@pytest.mark.postgres
def test_a_window_saved_in_the_admin_marks_its_pads_copy(
    hall, settings, django_capture_on_commit_callbacks
):
    from counters.models import Window

    def saved():
        window = Window.objects.get(pk=hall.window.pk)
        window.clerk = hall.li_na
        window.save()  # as the admin or a shell would: the whole row

    answer = _pad_clerk_changed(hall, settings, saved, django_capture_on_commit_callbacks)
    assert answer.status_code == 204 and f"user:{hall.li_na.pk}@" in answer["ETag"]


@pytest.mark.postgres
def test_a_pads_copy_keeps_of_its_window_only_the_id_and_clerk(hall, settings):
    """The rest of the window moves without marking the copy (a call, a pause): taken from
    a copy, it is not there to be read stale, and is read afresh if asked."""
    from audit.bulk import bulk_writes_allowed
    from counters.models import Window
    from devices.selectors import hall_device_for_credential
    from langzhong_si.compiled import RowCopies, row_copies

    counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    registration = registered_device(HallDevice.Kind.PAD, window=hall.window)
    key = _copy_of_device(registration.device)
    cache.delete(key)
    with row_copies(RowCopies(30, found={}, wanted={key})):
        read = hall_device_for_credential(registration.credential, HallDevice.Kind.PAD)
    assert read.window.get_deferred_fields() == set()  # read from the database: whole
    copy = cache.get(key)
    assert Window.State.PAUSED not in copy and len(copy) == len(HallDevice._meta.fields) + 2
    with bulk_writes_allowed():  # a write no signal sees: the copy is not marked
        Window.objects.filter(pk=hall.window.pk).update(state=Window.State.READY)
    with row_copies(RowCopies(30, found={key: copy}, wanted={key})) as copies:
        taken = hall_device_for_credential(registration.credential, HallDevice.Kind.PAD)
    assert copies.used
    assert (taken.window.pk, taken.window.clerk_id) == (hall.window.pk, hall.li_na.pk)
    assert "state" in taken.window.get_deferred_fields()
    with CaptureQueriesContext(connection) as queries:
        assert taken.window.state == Window.State.READY  # read afresh, not the copy's
    assert len(queries.captured_queries) == 1


@pytest.mark.postgres
def test_a_window_moving_without_its_clerk_reads_no_device(hall, django_assert_num_queries):
    from devices.signals import _window_saved

    with django_assert_num_queries(0):
        _window_saved(sender=None, instance=hall.window, update_fields=frozenset({"state"}))


@pytest.mark.postgres
def test_a_deleted_display_is_refused_its_poll_though_copied(hall, settings):
    settings.SESSION_CACHE_SECONDS = 30
    device, api, etag = _display(hall)
    assert isinstance(_copied(device, lambda: _poll(api, DISPLAY, etag)), tuple)
    device.delete()
    assert _poll(api, DISPLAY, etag).status_code == 401


@pytest.mark.postgres
def test_an_account_change_stands_with_the_cache_down_for_its_tokens(hall, settings, caplog):
    settings.SESSION_CACHE_SECONDS = 30
    clerk, _api, _etag = _clerk_by_token(hall)
    with (
        mock.patch.object(cache, "set", side_effect=ConnectionError("down")),
        mock.patch.object(cache, "delete_many", side_effect=ConnectionError("down")),
    ):
        staff_services.account_active_set(
            user=clerk, active=False, changed_by=make_staff(Role.SYSTEM_ADMINISTRATOR)
        )
    clerk.refresh_from_db()
    assert not clerk.is_active and "entries not forgotten" in caplog.text


@pytest.mark.postgres
def test_a_disabled_display_is_refused_its_poll_though_copied(hall, settings):
    settings.SESSION_CACHE_SECONDS = 30
    device, api, etag = _display(hall)
    assert isinstance(_copied(device, lambda: _poll(api, DISPLAY, etag)), tuple)
    device.enabled = False
    device.save(update_fields=["enabled"])  # as the admin does
    assert cache.get(_copy_of_device(device)) == "changed"
    assert _poll(api, DISPLAY, etag).status_code == 401


@pytest.mark.postgres
def test_a_new_credential_marks_the_old_ones_copy(hall, settings):
    from devices.services import hall_device_link_issue, hall_device_register

    settings.SESSION_CACHE_SECONDS = 30
    device, api, etag = _display(hall)
    old = _copy_of_device(device)
    secret = hall_device_link_issue(device_id=device.pk, actor=None, reason="a new screen")
    assert isinstance(_copied(device, lambda: _poll(api, DISPLAY, etag)), tuple)  # after it
    hall_device_register(secret=secret)
    assert cache.get(old) == "changed"
    assert _poll(api, DISPLAY, etag).status_code == 401


@pytest.mark.postgres
def test_a_copy_of_a_display_answers_for_no_other_kind(hall, settings):
    from devices.selectors import hall_device_for_credential
    from langzhong_si.compiled import RowCopies, row_copies

    registration = registered_device(HallDevice.Kind.DISPLAY, site=hall.window.site)
    key = _copy_of_device(registration.device)
    cache.delete(key)
    with row_copies(RowCopies(30, found={}, wanted={key})):
        hall_device_for_credential(registration.credential)
    copy = cache.get(key)
    assert isinstance(copy, tuple)
    with (
        row_copies(RowCopies(30, found={key: copy}, wanted={key})) as copies,
        CaptureQueriesContext(connection) as queries,
    ):
        assert hall_device_for_credential(registration.credential, HallDevice.Kind.PAD) is None
        shown = hall_device_for_credential(registration.credential, HallDevice.Kind.DISPLAY)
    assert shown.pk == registration.device.pk
    assert queries.captured_queries == [] and copies.used
