"""The application's own PostgreSQL role: it reads and writes the project's tables but can
only append to the audit log, and holds nothing that could switch the log's guard off.

Migrations run as the owner of the tables (a separate role); `manage.py db_roles`, run by
that owner (or a superuser) after every `migrate`, sets the application role up. Default
privileges cover tables that later migrations create, and re-running the command after
each migrate re-applies the restrictions below to them.

What the application role gets, table by table:
- the audit log (`audit_auditevent`): INSERT and SELECT, plus UPDATE of the four chain
  columns only, which the sequencer sets once on an event not yet chained (the trigger
  refuses any other UPDATE, even of those columns). UPDATE of any other column, DELETE
  and TRUNCATE are refused twice: by the missing privilege and by the append-only
  trigger, which only the owner or a superuser can disable;
- row history (django-simple-history's historical tables): INSERT and SELECT, plus UPDATE
  of the one column `history_user_id`, which Django sets to NULL if an account is ever
  deleted; the recorded versions themselves cannot be changed or removed;
- audit findings: no DELETE (findings are closed with a result, never removed);
- `django_migrations`: SELECT only (the application never migrates);
- every other table: SELECT, INSERT, UPDATE and DELETE; sequences: USAGE and SELECT.
"""

import re
from dataclasses import dataclass

from django.apps import apps
from django.db import connection, transaction
from simple_history.models import HistoricalChanges

from audit.models import AuditEvent, Finding

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_DML = ("SELECT", "INSERT", "UPDATE", "DELETE")
_NEVER_ON_APPEND_ONLY = ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES")
# The sequencer's columns (audit/chain.py), set once per event under the trigger's rule.
CHAIN_COLUMNS = ("position", "prev_hash", "hash", "chained_at")
# Parameters that would let a session skip triggers; only a superuser may set them unless
# someone granted it (PostgreSQL 15+ GRANT SET ON PARAMETER).
_FORBIDDEN_PARAMETERS = ("session_replication_role",)


class RoleRefused(Exception):
    """The role cannot safely be the application's (it owns or inherits too much)."""


@dataclass(frozen=True)
class TablePolicy:
    append_only: tuple[str, ...]
    history: tuple[str, ...]
    no_delete: tuple[str, ...]
    read_only: tuple[str, ...]


def table_policy() -> TablePolicy:
    history = sorted(
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, HistoricalChanges) and model._meta.managed
    )
    return TablePolicy(
        append_only=(AuditEvent._meta.db_table, *history),
        history=tuple(history),
        no_delete=(Finding._meta.db_table,),
        read_only=("django_migrations",),
    )


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _scalar(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _execute(*statements: str) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def app_role_ensure(*, role: str, password: str | None) -> list[str]:
    """Create (or bring back in line) the application's login role in the current
    database and schema. Idempotent; run by the tables' owner or a superuser. Returns
    what it did, line by line; raises RoleRefused, changing nothing, if the role is
    unsafe (the owner, a superuser, a member of another role, or an owner of objects)
    or if the result still lets it alter the audit log."""
    if connection.vendor != "postgresql":
        raise RoleRefused("database roles exist on PostgreSQL only")
    if not _ROLE_NAME.match(role):
        raise RoleRefused(f"{role!r} is not a plain lower-case role name")
    policy = table_policy()
    with transaction.atomic():
        me = _scalar("SELECT current_user")
        schema = _scalar("SELECT current_schema()")
        database = _scalar("SELECT current_database()")
        if role == me:
            raise RoleRefused(f"{role} runs this command: the application needs a role of its own")
        table_names = set(connection.introspection.table_names())
        missing = [t for t in (*policy.append_only, *policy.no_delete) if t not in table_names]
        if missing:
            raise RoleRefused(f"run migrate first: {', '.join(missing)} missing")
        existing = _scalar("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = %s)", [role])
        done = []
        attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
        if not existing:
            if not password:
                raise RoleRefused(f"role {role} does not exist yet: give its password")
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE ROLE {_q(role)} {attributes} PASSWORD %s", [password])
            done.append(f"created login role {role}")
        else:
            refusals = _existing_role_refusals(role=role, database=database)
            if refusals:
                raise RoleRefused(
                    f"role {role} cannot be the application's: " + "; ".join(refusals)
                )
            with connection.cursor() as cursor:
                if password:
                    cursor.execute(f"ALTER ROLE {_q(role)} {attributes} PASSWORD %s", [password])
                else:
                    cursor.execute(f"ALTER ROLE {_q(role)} {attributes}")
            done.append(
                f"role {role} exists; attributes" + (" and password" if password else "") + " set"
            )
        done += _grant(role=role, schema=schema, database=database, me=me, policy=policy)
        problems = app_role_problems(role=role, policy=policy)
        if problems:
            raise RoleRefused("the application role could still: " + "; ".join(problems))
        if _scalar("SELECT has_schema_privilege(%s, current_schema(), 'CREATE')", [role]):
            done.append(
                f"note: {role} may create its own tables in {schema} (harmless to the log; "
                f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC to stop it)"
            )
    return done


def _existing_role_refusals(*, role: str, database: str) -> list[str]:
    refusals = []
    if _scalar("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role]):
        refusals.append("it is a superuser")
    owned = _scalar(
        """
        SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid)
             + (SELECT count(*) FROM pg_proc WHERE proowner = r.oid)
             + (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)
             + (SELECT count(*) FROM pg_type WHERE typowner = r.oid)
             + (SELECT count(*) FROM pg_database WHERE datdba = r.oid AND datname = %s)
        FROM pg_roles r WHERE r.rolname = %s
        """,
        [database, role],
    )
    if owned:
        refusals.append(f"it owns {owned} objects here")
    memberships = _scalar(
        """
        SELECT string_agg(g.rolname, ', ' ORDER BY g.rolname)
        FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
        JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = %s
        """,
        [role],
    )
    if memberships:
        refusals.append(f"it is a member of {memberships}")
    return refusals


def _grant(*, role: str, schema: str, database: str, me: str, policy: TablePolicy) -> list[str]:
    app, in_schema = _q(role), _q(schema)
    # A clean slate first, so a privilege granted by hand earlier does not survive.
    _execute(
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {in_schema} FROM {app}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {in_schema} FROM {app}",
        f"GRANT CONNECT ON DATABASE {_q(database)} TO {app}",
        f"GRANT USAGE ON SCHEMA {in_schema} TO {app}",
        f"GRANT {', '.join(_DML)} ON ALL TABLES IN SCHEMA {in_schema} TO {app}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {in_schema} TO {app}",
    )
    for table in policy.append_only:
        _execute(f"REVOKE UPDATE, DELETE ON {_q(table)} FROM {app}")
    chain_columns = ", ".join(_q(column) for column in CHAIN_COLUMNS)
    _execute(f"GRANT UPDATE ({chain_columns}) ON {_q(AuditEvent._meta.db_table)} TO {app}")
    for table in policy.history:
        # Django's on_delete=SET_NULL when an account is deleted; nothing else.
        _execute(f"GRANT UPDATE (history_user_id) ON {_q(table)} TO {app}")
    for table in policy.no_delete:
        _execute(f"REVOKE DELETE ON {_q(table)} FROM {app}")
    for table in policy.read_only:
        _execute(f"REVOKE INSERT, UPDATE, DELETE ON {_q(table)} FROM {app}")
    # Tables and sequences that later migrations create (by whoever owns the tables now,
    # and by the role running this command) are readable and writable without a re-run;
    # re-running after migrate applies the restrictions above to new append-only tables.
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = %s", [schema])
        owners = sorted({me, *(row[0] for row in cursor.fetchall())} - {role})
    for owner in owners:
        _execute(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {_q(owner)} IN SCHEMA {in_schema} "
            f"GRANT {', '.join(_DML)} ON TABLES TO {app}",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {_q(owner)} IN SCHEMA {in_schema} "
            f"GRANT USAGE, SELECT ON SEQUENCES TO {app}",
        )
    return [
        f"granted {', '.join(_DML)} on every table of schema {schema}, except:",
        f"  INSERT and SELECT only: {', '.join(policy.append_only)}",
        f"  (and UPDATE of the chain columns {', '.join(CHAIN_COLUMNS)} of "
        f"{AuditEvent._meta.db_table}, once per event: the trigger's rule)",
        f"  no DELETE: {', '.join(policy.no_delete)}; SELECT only: {', '.join(policy.read_only)}",
        f"default privileges for tables created later by {', '.join(owners)}",
    ]


def app_role_problems(*, role: str, policy: TablePolicy | None = None) -> list[str]:
    """What the role could still do to the audit log or the other append-only tables
    (empty when it is safe): checked with PostgreSQL's own privilege functions, so
    inherited memberships (pg_write_all_data, the owner's role) count too."""
    policy = policy or table_policy()
    problems = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolcreaterole, rolbypassrls, rolreplication "
            "FROM pg_roles WHERE rolname = %s",
            [role],
        )
        row = cursor.fetchone()
        if row is None:
            return [f"role {role} does not exist"]
        for flag, name in zip(
            row, ("superuser", "create roles", "bypass RLS", "replication"), strict=True
        ):
            if flag:
                problems.append(f"act as {name}")
        for table in policy.append_only:
            cursor.execute(
                "SELECT tableowner FROM pg_tables WHERE tablename = %s AND schemaname = "
                "current_schema()",
                [table],
            )
            (owner,) = cursor.fetchone()
            cursor.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [role, owner])
            if cursor.fetchone()[0]:
                problems.append(f"act as {owner}, the owner of {table} (ALTER, DISABLE TRIGGER)")
            for privilege in _NEVER_ON_APPEND_ONLY:
                cursor.execute("SELECT has_table_privilege(%s, %s, %s)", [role, table, privilege])
                if cursor.fetchone()[0]:
                    problems.append(f"{privilege} {table}")
            # Column privileges: history's history_user_id, the log's chain columns.
            allowed = CHAIN_COLUMNS if table == AuditEvent._meta.db_table else ("history_user_id",)
            cursor.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                "AND NOT attisdropped AND has_column_privilege(%s, attrelid, attnum, 'UPDATE')",
                [table, role],
            )
            for (column,) in cursor.fetchall():
                if column not in allowed:
                    problems.append(f"UPDATE {table}.{column}")
        # The schema's owner may drop any table in it (the log with its trigger).
        cursor.execute(
            "SELECT pg_has_role(%s, nspowner, 'MEMBER') FROM pg_namespace "
            "WHERE nspname = current_schema()",
            [role],
        )
        if cursor.fetchone()[0]:
            problems.append("act as the schema's owner (DROP TABLE)")
        for parameter in _FORBIDDEN_PARAMETERS:
            if connection.pg_version >= 150000:
                cursor.execute("SELECT has_parameter_privilege(%s, %s, 'SET')", [role, parameter])
                if cursor.fetchone()[0]:
                    problems.append(f"SET {parameter}")
    return problems
