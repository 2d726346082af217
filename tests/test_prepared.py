"""Hot hand-written queries prepared once per PostgreSQL session (langzhong_si.prepared)."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from audit.batch import audit_writes_batched
from audit.models import AuditEvent
from audit.services import audit_event_record
from langzhong_si.prepared import prepared_execute

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

SUM = "SELECT %(b)s::int - %(a)s::int, %(a)s::int * 10"


def _run(name: str, sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        prepared_execute(connection, cursor, name, sql, params)
        return cursor.fetchall()


def _in_session(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = %s", [name])
        return cursor.fetchone()[0] == 1


def test_named_values_reach_their_placeholders_each_use():
    assert _run("t_named", SUM, {"a": 1, "b": 5}) == [(4, 10)]
    assert _run("t_named", SUM, {"b": 2, "a": 7}) == [(-5, 70)]


def test_positional_values_keep_their_order():
    assert _run("t_positional", "SELECT %s::int, %s::text", [3, "三"]) == [(3, "三")]


def test_a_statement_is_prepared_once_per_session():
    _run("t_once", SUM, {"a": 1, "b": 2})
    assert _in_session("t_once")
    with CaptureQueriesContext(connection) as queries:
        _run("t_once", SUM, {"a": 1, "b": 2})
    assert [query["sql"].split()[0] for query in queries] == ["EXECUTE"]


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_again():
    _run("t_reconnect", SUM, {"a": 1, "b": 2})
    connection.close()
    assert not _in_session("t_reconnect")
    assert _run("t_reconnect", SUM, {"a": 2, "b": 9}) == [(7, 20)]


def test_a_preparation_in_a_rolled_back_transaction_stays_usable():
    with pytest.raises(RuntimeError), transaction.atomic():
        _run("t_rolled_back", SUM, {"a": 1, "b": 2})
        raise RuntimeError
    assert _run("t_rolled_back", SUM, {"a": 1, "b": 3}) == [(2, 10)]


def test_a_failed_preparation_is_not_remembered():
    with pytest.raises(DatabaseError), transaction.atomic():
        _run("t_failed", "SELECT %s::int FROM no_such_table", [1])
    assert "t_failed" not in connection.prepared_statements
    assert _run("t_failed", "SELECT %s::int", [1]) == [(1,)]


def test_another_text_under_a_prepared_name_is_refused():
    _run("t_clash", SUM, {"a": 1, "b": 2})
    with pytest.raises(ValueError, match="another text"):
        _run("t_clash", "SELECT %s::int", [1])


def test_named_placeholders_with_a_list_are_refused():
    with pytest.raises(ValueError, match="dict"):
        _run("t_kinds", SUM, [1, 2])


def test_a_statement_name_that_is_not_an_identifier_is_refused():
    with pytest.raises(ValueError, match="name"):
        _run("t; DROP TABLE x", "SELECT 1", [])


def test_a_prepared_read_sees_audit_events_its_transaction_holds_for_batching(hall):
    """The batched audit writes flush before a statement that reads their table: the
    EXECUTE names the tables its statement reads."""
    sql = f"SELECT count(*) FROM {AuditEvent._meta.db_table} WHERE event_type = %s"
    with transaction.atomic(), audit_writes_batched():
        audit_event_record(event_type="ticket.issued", actor=hall.li_na, obj=hall.window)
        assert _run("t_batched", sql, ["ticket.issued"]) == [(1,)]
