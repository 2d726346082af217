"""The application's own database role (manage.py db_roles) cannot alter the audit log in
any way, yet runs the hall. These tests connect as that role, as the web, worker and beat
do in production; the rest of the suite runs as the superuser that owns the tables."""

from contextlib import contextmanager
from io import StringIO

import psycopg2
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from audit.database_roles import app_role_problems
from audit.models import AuditEvent
from audit.services import audit_event_record, audit_log_verify

# Roles are cluster-wide, so each test database gets roles of its own.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PASSWORD = "app-role-test-pass"  # noqa: S105 - a throwaway role of the test database


def _role_name(suffix: str) -> str:
    return f"{connection.settings_dict['NAME']}_{suffix}"[:63]


def _drop_role(role: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = %s)", [role])
        if cursor.fetchone()[0]:
            # Its privileges (and default privileges) in this database, then the role.
            cursor.execute(f"DROP OWNED BY {connection.ops.quote_name(role)}")
            cursor.execute(f"DROP ROLE {connection.ops.quote_name(role)}")


@pytest.fixture
def app_role():
    role = _role_name("app")
    _drop_role(role)  # left over from an interrupted run
    call_command("db_roles", app_url="", app_role=role, password=PASSWORD, stdout=StringIO())
    yield role
    connection.close()
    _drop_role(role)


@contextmanager
def _psql_as(role: str):
    """A plain connection as `role`, the way anyone holding the application's database
    password could connect (each statement commits on its own)."""
    settings = connection.settings_dict
    raw = psycopg2.connect(
        dbname=settings["NAME"],
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=role,
        password=PASSWORD,
    )
    raw.autocommit = True
    try:
        yield raw
    finally:
        raw.close()


@contextmanager
def _django_as(role: str):
    """The application's own connection, switched to `role` (as production configures
    DATABASE_URL), then back to the owner."""
    settings = connection.settings_dict
    owner = (settings["USER"], settings["PASSWORD"])
    connection.close()
    settings["USER"], settings["PASSWORD"] = role, PASSWORD
    try:
        yield
    finally:
        connection.close()
        settings["USER"], settings["PASSWORD"] = owner


def _three_events():
    for n in range(3):
        audit_event_record(event_type="test.event", data={"n": n})


@pytest.mark.parametrize(
    "statements",
    [
        ["UPDATE audit_auditevent SET event_type = 'forged'"],
        ["DELETE FROM audit_auditevent"],
        ["TRUNCATE audit_auditevent"],
        ["ALTER TABLE audit_auditevent ADD COLUMN forged text"],
        ["ALTER TABLE audit_auditevent DISABLE TRIGGER USER"],
        ["ALTER TABLE audit_auditevent DISABLE TRIGGER ALL"],
        ["DROP TRIGGER audit_event_no_update_delete ON audit_auditevent"],
        ["DROP TABLE audit_auditevent"],
        [
            "CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger "
            "AS 'BEGIN RETURN NULL; END' LANGUAGE plpgsql"
        ],
        ["SET session_replication_role = replica", "DELETE FROM audit_auditevent"],
        ["SET langzhong.allow_audit_truncate = 'on'", "TRUNCATE audit_auditevent"],
        ["SET ROLE postgres", "DELETE FROM audit_auditevent"],
        ["SET SESSION AUTHORIZATION postgres", "DELETE FROM audit_auditevent"],
    ],
    ids=[
        "update",
        "delete",
        "truncate",
        "alter-table",
        "disable-trigger",
        "disable-all-triggers",
        "drop-trigger",
        "drop-table",
        "replace-trigger-function",
        "replica-mode-then-delete",
        "old-truncate-setting",
        "set-role-owner",
        "session-authorization",
    ],
)
def test_the_application_role_cannot_alter_the_log(app_role, statements):
    _three_events()
    refused = []
    with _psql_as(app_role) as raw, raw.cursor() as cursor:
        for sql in statements:
            try:
                cursor.execute(sql)
            except psycopg2.Error as error:
                refused.append((sql, error.pgcode))
    # The last statement is the attempt on the log; it fails for lack of privilege
    # (42501: permission denied, or must be owner), whatever the session SET before it.
    assert refused and refused[-1] == (statements[-1], "42501")
    assert AuditEvent.objects.count() == 3
    assert audit_log_verify() is None


def test_the_application_role_appends_and_reads_through_the_service(app_role):
    _three_events()
    with _django_as(app_role):
        with transaction.atomic():
            audit_event_record(event_type="test.as_application")
        assert AuditEvent.objects.count() == 4
        assert audit_log_verify() is None
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == app_role


def test_the_application_role_runs_a_case_through_the_hall(app_role, hall):
    """Counter, draw, outbox, row history and the log, all as the application's role."""
    from inbox.services import review_task_decide
    from risk.models import ReviewTask
    from tests.factories import case_submitted

    with _django_as(app_role):
        case = case_submitted(hall)
        review = ReviewTask.objects.get(case=case, step=1)
        review_task_decide(task_id=review.pk, actor=review.assignee, decision="approve")
        assert ReviewTask.objects.filter(case=case, step=2).exists()
        assert case.history.count() >= 2
        assert audit_log_verify() is None


def test_the_application_role_holds_nothing_that_could_alter_the_log(app_role):
    assert app_role_problems(role=app_role) == []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = %s",
            [app_role],
        )
        assert cursor.fetchone() == (False, False, False)
        cursor.execute(
            "SELECT count(*) FROM pg_class WHERE relowner = "
            "(SELECT oid FROM pg_roles WHERE rolname = %s)",
            [app_role],
        )
        assert cursor.fetchone()[0] == 0


def test_row_history_cannot_be_rewritten_by_the_application_role(app_role, hall):
    from counters import services

    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    with _psql_as(app_role) as raw, raw.cursor() as cursor:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cursor.execute("UPDATE counters_historicalwindow SET state = 'forged'")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cursor.execute("DELETE FROM counters_historicalwindow")
        # Only what Django needs if an account is ever deleted (on_delete=SET_NULL).
        cursor.execute("UPDATE counters_historicalwindow SET history_user_id = NULL WHERE false")


def test_tables_created_by_a_later_migration_are_covered(app_role):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE later_migration_table (id bigint)")
    try:
        with _psql_as(app_role) as raw, raw.cursor() as cursor:
            cursor.execute("INSERT INTO later_migration_table VALUES (1)")
            cursor.execute("UPDATE later_migration_table SET id = 2")
            cursor.execute("SELECT id FROM later_migration_table")
            assert cursor.fetchone() == (2,)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE later_migration_table")


def test_running_the_command_again_changes_nothing(app_role):
    call_command("db_roles", app_url="", app_role=app_role, stdout=StringIO())
    assert app_role_problems(role=app_role) == []
    with _psql_as(app_role) as raw, raw.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM audit_auditevent")


def test_it_refuses_the_role_that_runs_it():
    with pytest.raises(CommandError, match="needs a role of its own"):
        call_command("db_roles", app_url="", app_role=connection.settings_dict["USER"])


def test_it_refuses_a_role_that_could_act_as_the_owner():
    member = _role_name("owner_member")
    _drop_role(member)
    owner = connection.ops.quote_name(connection.settings_dict["USER"])
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {connection.ops.quote_name(member)} LOGIN")
        cursor.execute(f"GRANT {owner} TO {connection.ops.quote_name(member)}")
    try:
        with pytest.raises(
            CommandError, match=f"is a member of {connection.settings_dict['USER']}"
        ):
            call_command("db_roles", app_url="", app_role=member, stdout=StringIO())
    finally:
        _drop_role(member)


def test_it_refuses_an_application_url_for_another_database():
    with pytest.raises(CommandError, match="names database 'elsewhere'"):
        call_command("db_roles", app_url=f"postgres://someone:{PASSWORD}@db/elsewhere")
