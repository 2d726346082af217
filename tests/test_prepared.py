"""Hot hand-written queries prepared once per PostgreSQL session (langzhong_si.prepared)."""

import uuid

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from audit.services import audit_event_record
from langzhong_si import prepared
from langzhong_si.batch import audit_writes_batched
from langzhong_si.prepared import prepared_execute

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

SUM = "SELECT %(b)s::int - %(a)s::int, %(a)s::int * 10"


@pytest.fixture
def name():
    """A statement name of its own: a session may run a test twice."""
    return f"t_{uuid.uuid4().hex[:12]}"


def _run(name: str, sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        prepared_execute(connection, cursor, name, sql, params)
        return cursor.fetchall()


def _prepared_at(name: str):
    """When the session prepared `name` (None: it holds no such statement)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT prepare_time FROM pg_prepared_statements WHERE name = %s", [name])
        row = cursor.fetchone()
    return row and row[0]


def test_a_session_holding_its_share_runs_a_new_statement_as_it_is(name, monkeypatch):
    """A session prepares at most PREPARED_PER_SESSION statements (each keeps a plan in
    the server's memory); the ones it holds still run prepared."""
    _run(name, SUM, {"a": 1, "b": 2})
    fixed = len(connection.prepared_statements) - len(connection.prepared_varying)
    monkeypatch.setattr(prepared, "PREPARED_PER_SESSION", fixed)
    other = name + "_more"
    with CaptureQueriesContext(connection) as queries:
        assert _run(other, SUM, {"a": 2, "b": 9}) == [(7, 20)]
        assert _run(name, SUM, {"a": 2, "b": 9}) == [(7, 20)]
    assert _prepared_at(other) is None and other not in connection.prepared_statements
    assert [query["sql"].split()[0] for query in queries] == ["SELECT", "EXECUTE"]


def _run_varying(name: str, sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        prepared_execute(connection, cursor, name, sql, params, varying=True)
        return cursor.fetchall()


def test_a_varying_text_is_prepared_at_its_second_use_in_the_session(name):
    with CaptureQueriesContext(connection) as queries:
        for n in range(3):
            assert _run_varying(name, SUM, {"a": n, "b": 5}) == [(5 - n, 10 * n)]
    assert [query["sql"].split()[0] for query in queries] == ["SELECT", "EXECUTE", "EXECUTE"]
    assert _prepared_at(name) is not None and name in connection.prepared_varying


def test_varying_texts_have_their_own_share_and_leave_the_fixed_ones_theirs(name, monkeypatch):
    for _ in range(2):  # the session holds at least one varying text
        _run_varying(name + "_v1", SUM, {"a": 1, "b": 2})
    varying, fixed = _held()
    assert varying >= 1
    monkeypatch.setattr(prepared, "PREPARED_VARYING_PER_SESSION", varying)
    monkeypatch.setattr(prepared, "PREPARED_PER_SESSION", fixed + 1)  # room for one more
    for _ in range(2):
        _run_varying(name + "_v2", SUM, {"a": 1, "b": 2})
    assert _prepared_at(name + "_v2") is None  # the varying share is full
    _run(name, SUM, {"a": 1, "b": 2})
    assert _prepared_at(name) is not None  # the varying texts took none of the fixed share
    _run(name + "_f2", SUM, {"a": 1, "b": 2})
    assert _prepared_at(name + "_f2") is None  # and that share is full now


def _held() -> tuple[int, int]:
    """The session's prepared statements: varying texts, fixed ones."""
    varying = len(connection.prepared_varying)
    return varying, len(connection.prepared_statements) - varying


def test_a_statement_the_server_lost_fails_once_then_is_prepared_again(name):
    _run(name, SUM, {"a": 1, "b": 2})
    with connection.cursor() as cursor:
        cursor.cursor.execute(f"DEALLOCATE {name}")  # a pooler's DISCARD ALL, say
    with pytest.raises(DatabaseError), transaction.atomic():
        _run(name, SUM, {"a": 1, "b": 2})
    assert name not in connection.prepared_statements
    assert _run(name, SUM, {"a": 4, "b": 2}) == [(-2, 40)]
    assert _prepared_at(name) is not None


def test_named_values_reach_their_placeholders_each_use(name):
    assert _run(name, SUM, {"a": 1, "b": 5}) == [(4, 10)]
    assert _run(name, SUM, {"b": 2, "a": 7}) == [(-5, 70)]


def test_positional_values_keep_their_order(name):
    assert _run(name, "SELECT %s::int, %s::text", [3, "三"]) == [(3, "三")]


def test_a_doubled_percent_sign_is_one_percent_sign(name):
    assert _run(name, "SELECT 7 %% %s::int, '%%s'", [4]) == [(3, "%s")]


def test_a_statement_is_prepared_once_per_session(name):
    _run(name, SUM, {"a": 1, "b": 2})
    first = _prepared_at(name)
    with CaptureQueriesContext(connection) as queries:
        _run(name, SUM, {"a": 1, "b": 2})
    assert _prepared_at(name) == first is not None
    assert [query["sql"].split()[0] for query in queries] == ["EXECUTE"]


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_again(name):
    _run(name, SUM, {"a": 1, "b": 2})
    connection.close()
    assert _prepared_at(name) is None
    assert _run(name, SUM, {"a": 2, "b": 9}) == [(7, 20)]


def test_a_preparation_in_a_rolled_back_transaction_stays_usable(name):
    with pytest.raises(RuntimeError), transaction.atomic():
        _run(name, SUM, {"a": 1, "b": 2})
        raise RuntimeError
    assert _run(name, SUM, {"a": 1, "b": 3}) == [(2, 10)]


def test_a_failed_preparation_is_not_remembered(name):
    with pytest.raises(DatabaseError), transaction.atomic():
        _run(name, "SELECT %s::int FROM no_such_table", [1])
    assert name not in connection.prepared_statements
    assert _run(name, "SELECT %s::int", [1]) == [(1,)]


def test_a_statement_a_migration_changed_fails_once_then_is_prepared_again(name):
    """A column it returns changed type: PostgreSQL refuses the old prepared statement
    ("cached plan must not change result type"); the next use prepares it afresh."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE t_prepared_column (v varchar(8))")
        cursor.execute("INSERT INTO t_prepared_column VALUES ('5')")
    sql = "SELECT v FROM t_prepared_column WHERE v IS NOT NULL AND %s::int > 0"
    assert _run(name, sql, [1]) == [("5",)]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE t_prepared_column ALTER COLUMN v TYPE integer USING v::int")
    with pytest.raises(DatabaseError, match="result type"), transaction.atomic():
        _run(name, sql, [1])
    assert _run(name, sql, [1]) == [(5,)]


def test_without_persistent_connections_nothing_is_prepared(name, settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    with CaptureQueriesContext(connection) as queries:
        assert _run(name, SUM, {"a": 1, "b": 2}) == [(1, 10)]
    assert queries[0]["sql"].startswith("SELECT")
    assert _prepared_at(name) is None


def test_another_text_under_a_prepared_name_is_refused(name):
    _run(name, SUM, {"a": 1, "b": 2})
    with pytest.raises(ValueError, match="another text"):
        _run(name, "SELECT %s::int", [1])


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        (SUM, [1, 2]),  # named placeholders, a list
        ("SELECT %s::int", {"a": 1}),  # %s ones, a dict
        ("SELECT %s::int", [1, 2]),  # more values than placeholders
        ("SELECT %s::int, %(a)s::int", {"a": 1}),  # both kinds
    ],
)
def test_values_that_do_not_fit_the_placeholders_are_refused(name, sql, params):
    with pytest.raises(ValueError, match="placeholders"):
        _run(name, sql, params)


@pytest.mark.parametrize("bad", ["t; DROP TABLE x", "T_upper", "t_" + "x" * 62])
def test_a_statement_name_that_is_not_a_short_identifier_is_refused(bad):
    with pytest.raises(ValueError, match="name"):
        _run(bad, "SELECT 1", [])


def test_a_prepared_read_sees_audit_events_its_transaction_holds_for_batching(hall, name):
    """The batched audit writes flush before a statement that reads their table: the
    EXECUTE names the tables its statement reads."""
    sql = f"SELECT count(*) FROM {AuditEvent._meta.db_table} WHERE event_type = %s"  # noqa: S608
    with transaction.atomic(), audit_writes_batched():
        audit_event_record(event_type="ticket.issued", actor=hall.li_na, obj=hall.window)
        assert _run(name, sql, ["ticket.issued"]) == [(1,)]
