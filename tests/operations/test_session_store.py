"""Sessions read with one written-out statement (operations.sessions) behave as
Django's database sessions: a live one is read, an expired or unknown one is not."""

import datetime

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from operations.sessions import SessionStore

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
