"""Sessions read with one written-out statement (operations.sessions) behave as
Django's database sessions: a live one is read, an expired or unknown one is not. With
SESSION_CACHE_SECONDS they are remembered in the cache, and an ended one is never read
from its copy."""

import datetime
import time

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.utils import timezone

from operations.sessions import SessionStore, _cache_keys

pytestmark = pytest.mark.django_db


def _saved(**data):
    store = SessionStore()
    store.update(data)
    store.save()
    return store.session_key


def test_a_live_session_is_read_in_one_query(django_assert_num_queries):
    key = _saved(colour="blue")
    with django_assert_num_queries(1):
        assert SessionStore(key)["colour"] == "blue"


def test_an_expired_session_is_not_read():
    key = _saved(colour="blue")
    Session.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    store = SessionStore(key)
    assert "colour" not in store and store.session_key is None


def test_an_unknown_session_is_empty_and_gets_a_new_key_when_saved():
    store = SessionStore("x" * 32)
    assert dict(store.items()) == {}
    store["colour"] = "red"
    store.save()
    assert store.session_key != "x" * 32


# --- Remembered in the shared cache (SESSION_CACHE_SECONDS) ----------------------------------


@pytest.fixture
def remembered(settings):
    """Sessions remembered as with a Redis CACHE_URL (the tests' cache is this process's
    own, which is all one process needs)."""
    settings.SESSION_CACHE_SECONDS = 30
    return settings


def _remembered_copy(key):
    """As a read SESSION_CACHE_SECONDS after the last write makes it: the mark gone, the
    row read and remembered."""
    cache.delete(_cache_keys(key)[0])
    return SessionStore(key).load()


def test_a_session_read_where_nothing_changed_it_of_late_is_remembered(
    remembered, django_assert_num_queries
):
    key = _saved(colour="blue")
    cache.clear()  # the save's mark gone
    with django_assert_num_queries(1):
        assert SessionStore(key)["colour"] == "blue"
    with django_assert_num_queries(0):
        assert SessionStore(key)["colour"] == "blue"


def test_a_session_just_saved_is_read_from_its_row(remembered, django_assert_num_queries):
    key = _saved(colour="blue")
    for _ in range(2):
        with django_assert_num_queries(1):
            assert SessionStore(key)["colour"] == "blue"


def test_a_session_saved_is_remembered_again_two_seconds_later(
    remembered, monkeypatch, django_assert_num_queries
):
    key = _saved(colour="blue")
    later = time.time() + 3
    monkeypatch.setattr(time, "time", lambda: later)  # the cache's clock
    with django_assert_num_queries(1):
        SessionStore(key).load()
    with django_assert_num_queries(0):
        assert SessionStore(key)["colour"] == "blue"


def test_a_change_is_read_at_once(remembered):
    key = _saved(colour="blue")
    _remembered_copy(key)
    store = SessionStore(key)
    store["colour"] = "green"
    store.save()
    assert SessionStore(key)["colour"] == "green"


def test_a_signed_out_session_is_not_read_from_its_copy(remembered):
    key = _saved(colour="blue")
    assert _remembered_copy(key) == {"colour": "blue"}
    SessionStore(key).flush()
    store = SessionStore(key)
    assert "colour" not in store and store.session_key is None
    assert not Session.objects.filter(session_key=key).exists()


def test_the_old_key_of_a_new_sign_in_is_not_read_from_its_copy(remembered):
    key = _saved(colour="blue")
    _remembered_copy(key)
    store = SessionStore(key)
    store.cycle_key()
    assert SessionStore(store.session_key)["colour"] == "blue"
    old = SessionStore(key)
    assert "colour" not in old and old.session_key is None


def _racing(monkeypatch, meanwhile):
    """The next read lets `meanwhile` run between reading the row and remembering it (as
    another request would, on another process)."""
    read = SessionStore._get_session_from_db
    pending = [meanwhile]

    def racing(self):
        row = read(self)
        if pending:
            pending.pop()()
        return row

    monkeypatch.setattr(SessionStore, "_get_session_from_db", racing)


def test_a_read_racing_a_sign_out_cannot_bring_the_session_back(remembered, monkeypatch):
    key = _saved(colour="blue")
    cache.clear()
    _racing(monkeypatch, lambda: SessionStore(key).flush())
    assert SessionStore(key)["colour"] == "blue"  # read just before the sign-out
    store = SessionStore(key)
    assert "colour" not in store and store.session_key is None


def _save_green(key):
    other = SessionStore(key)
    other["colour"] = "green"
    other.save()


def test_a_read_racing_a_save_cannot_put_the_old_data_back(remembered, monkeypatch):
    key = _saved(colour="blue")
    cache.clear()
    _racing(monkeypatch, lambda: _save_green(key))
    assert SessionStore(key)["colour"] == "blue"  # read just before the save
    assert SessionStore(key)["colour"] == "green"


def test_a_read_racing_a_save_and_a_sign_out_cannot_bring_the_session_back(remembered, monkeypatch):
    """A read takes the row; another request saves; a third signs out; the read, stalled
    past the save's mark, stores its copy: the sign-out's own mark still hides it."""
    key = _saved(colour="blue")
    cache.clear()

    def save_then_sign_out():
        _save_green(key)
        SessionStore(key).flush()
        later = time.time() + 3  # the save's mark gone, the copy stored after it
        monkeypatch.setattr(time, "time", lambda: later)

    _racing(monkeypatch, save_then_sign_out)
    assert SessionStore(key)["colour"] == "blue"  # read before both
    assert isinstance(cache.get(_cache_keys(key)[0]), dict), "the stalled read's copy"
    store = SessionStore(key)
    assert "colour" not in store and store.session_key is None


def test_a_sign_outs_mark_outlasts_a_copy_stored_just_after_it(remembered, monkeypatch):
    key = _saved(colour="blue")
    SessionStore(key).flush()
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 5)
    stalled = {"colour": "blue", "_auth_user_id": "1"}  # a read that took the row before
    assert cache.add(_cache_keys(key)[0], stalled, remembered.SESSION_CACHE_SECONDS)
    monkeypatch.setattr(time, "time", lambda: now + remembered.SESSION_CACHE_SECONDS + 1)
    assert "colour" not in SessionStore(key)


def test_a_copy_does_not_outlive_its_session(remembered, monkeypatch):
    store = SessionStore()
    store["colour"] = "blue"
    store.set_expiry(5)
    store.save()
    assert _remembered_copy(store.session_key) == {"colour": "blue", "_session_expiry": 5}
    later = time.time() + 6
    monkeypatch.setattr(time, "time", lambda: later)  # the cache's clock
    Session.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    assert "colour" not in SessionStore(store.session_key)


def test_a_session_deleted_in_the_database_goes_with_its_copy(remembered, monkeypatch):
    """A row deleted past the store (by hand, to sign everyone out) is read as gone once
    the copy's SESSION_CACHE_SECONDS have passed: README says so."""
    key = _saved(colour="blue")
    _remembered_copy(key)
    Session.objects.all().delete()
    assert SessionStore(key)["colour"] == "blue"  # the copy, for a while
    later = time.time() + remembered.SESSION_CACHE_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert "colour" not in SessionStore(key)


def test_the_cache_holds_no_session_key(remembered):
    key = _saved(colour="blue")
    _remembered_copy(key)
    assert cache.get(f"session:{key}") is None
    assert not [name for name in cache._cache if key in name]


def _down(*args, **kwargs):
    raise ConnectionError("cache down")


def test_with_the_cache_down_the_session_is_read_from_the_database(remembered, monkeypatch):
    key = _saved(colour="blue")
    monkeypatch.setattr(cache, "get_many", _down)
    monkeypatch.setattr(cache, "add", _down)
    assert SessionStore(key)["colour"] == "blue"


def test_with_the_cache_down_a_session_is_saved_and_the_lag_logged(remembered, monkeypatch, caplog):
    key = _saved(colour="blue")
    monkeypatch.setattr(cache, "set", _down)
    store = SessionStore(key)
    store["colour"] = "green"
    store.save()
    monkeypatch.undo()
    cache.clear()
    assert SessionStore(key)["colour"] == "green"
    assert "a copy may lag" in caplog.text


def test_with_the_cache_down_a_sign_out_still_signs_out_and_logs_an_error(
    remembered, monkeypatch, caplog
):
    key = _saved(colour="blue")
    monkeypatch.setattr(cache, "set", _down)
    SessionStore(key).flush()
    assert not Session.objects.filter(session_key=key).exists()
    assert [r.levelname for r in caplog.records if "outlive its sign-out" in r.message] == ["ERROR"]


def test_without_a_shared_cache_nothing_is_remembered(settings, django_assert_num_queries):
    settings.SESSION_CACHE_SECONDS = 0
    key = _saved(colour="blue")
    with django_assert_num_queries(1):
        assert SessionStore(key)["colour"] == "blue"
    assert not [name for name in cache._cache if "session" in name]
