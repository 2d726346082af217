"""A request's first read of a kept PostgreSQL connection is its health check
(langzhong_si.compiled.read_as_health_check): no `SELECT 1` before it, and a connection
the server ended is replaced and the read runs again, as Django's own check would have
ended."""

from types import SimpleNamespace
from unittest import mock

import psycopg2
import pytest
from django.db import OperationalError, connection

from devices.models import HallDevice
from devices.selectors import hall_device_for_credential
from langzhong_si.compiled import read_as_health_check
from staff.roles import Role
from staff.selectors import user_with_account_state
from tests.factories import make_staff, registered_device

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _kept_connection() -> int:
    """The connection as a new request finds it (Django's close_old_connections at its
    start: to be checked before its first use); its server process."""
    connection.ensure_connection()
    connection.health_check_done = False
    return connection.connection.get_backend_pid()


def _server_ends(pid: int) -> None:
    other = psycopg2.connect(**connection.get_connection_params())
    try:
        other.autocommit = True
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
    finally:
        other.close()


def test_a_requests_first_read_sends_no_health_check_of_its_own():
    person = make_staff(Role.CLERK)
    _kept_connection()
    with mock.patch.object(connection, "is_usable", wraps=connection.is_usable) as checked:
        assert user_with_account_state(person.pk).pk == person.pk
    assert not checked.called
    assert connection.health_check_done


def test_a_first_read_on_a_connection_the_server_ended_runs_again_on_a_new_one():
    person = make_staff(Role.CLERK)
    pid = _kept_connection()
    _server_ends(pid)
    assert user_with_account_state(person.pk).pk == person.pk
    assert connection.connection.get_backend_pid() != pid


def test_a_devices_first_read_on_a_connection_the_server_ended_runs_again():
    registration = registered_device(HallDevice.Kind.DISPLAY)
    pid = _kept_connection()
    _server_ends(pid)
    assert hall_device_for_credential(registration.credential) == registration.device


def test_a_read_failing_on_a_working_connection_is_not_run_again():
    _kept_connection()
    runs = []

    def read():
        runs.append(1)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 1; SELECT pg_sleep(1)")

    with pytest.raises(OperationalError):
        read_as_health_check(connection, read)
    assert runs == [1]


def test_a_read_after_the_requests_check_is_not_a_check_again():
    person = make_staff(Role.CLERK)
    pid = _kept_connection()
    assert user_with_account_state(person.pk) is not None
    _server_ends(pid)
    try:
        with pytest.raises(OperationalError):  # as with Django's check: one per request
            user_with_account_state(person.pk)
    finally:
        connection.close()


def _stand_in(*, in_atomic_block: bool, closed: int):
    """A connection as read_as_health_check sees it, kept and not yet checked in this
    request, whose driver says it is broken (`closed`) or not."""
    return SimpleNamespace(
        alias="default",
        connection=SimpleNamespace(closed=closed),
        health_check_enabled=True,
        health_check_done=False,
        in_atomic_block=in_atomic_block,
        close=mock.Mock(),
    )


def _failing_read(runs):
    def read():
        runs.append(1)
        raise OperationalError("server closed the connection unexpectedly")

    return read


def test_in_a_transaction_a_read_on_a_broken_connection_is_not_run_again():
    """There Django's own check has run (at the transaction's start), and closing the
    connection would hide the error behind another."""
    runs = []
    broken = _stand_in(in_atomic_block=True, closed=2)
    with pytest.raises(OperationalError):
        read_as_health_check(broken, _failing_read(runs))
    assert runs == [1] and not broken.close.called


def test_outside_a_transaction_a_read_on_a_broken_connection_runs_again_once():
    runs = []
    broken = _stand_in(in_atomic_block=False, closed=2)
    with pytest.raises(OperationalError):
        read_as_health_check(broken, _failing_read(runs))
    assert runs == [1, 1] and broken.close.call_count == 1
