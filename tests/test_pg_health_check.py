"""A kept PostgreSQL connection is checked at each request without a query
(langzhong_si.postgresql): taken as it is while the server has said nothing on it, and
checked by Django's own query, and dropped, once the server has ended its session."""

import time

import pytest
from django.db import connection, connections

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def kept():
    """A connection of its own to the test database, as a web process keeps one."""
    other = connections.create_connection("default")
    other.ensure_connection()
    yield other
    other.close()


def _backend_pid(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_the_settings_use_the_backend_with_the_cheaper_check():
    assert connection.settings_dict["ENGINE"] == "langzhong_si.postgresql"
    assert connection.vendor == "postgresql"


def test_a_live_connection_is_usable_without_a_query(kept, monkeypatch):
    from django.db.backends.postgresql.base import DatabaseWrapper

    def asked(self):
        raise AssertionError("the check sent a query")

    _backend_pid(kept)
    monkeypatch.setattr(DatabaseWrapper, "is_usable", asked)
    assert kept.is_usable()


def test_a_connection_the_server_ended_is_not_usable(kept):
    pid = _backend_pid(kept)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    for _ in range(50):  # the server's goodbye arrives
        if not kept.is_usable():
            break
        time.sleep(0.05)
    assert not kept.is_usable()


def test_a_request_after_the_server_ended_the_session_reconnects(kept):
    pid = _backend_pid(kept)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    time.sleep(0.3)
    kept.close_if_unusable_or_obsolete()  # a request starts (request_started)
    assert _backend_pid(kept) != pid  # the first query found it gone and reconnected


def test_a_closed_connection_is_not_usable(kept):
    kept.connection.close()
    assert not kept.is_usable()
