"""The drill's maintenance connection (DRILL_DATABASE_URL): the scratch database is made
and restored with that role, never with the application's login, which cannot create
databases."""

import dj_database_url
import psycopg2
import pytest
from django.db import connection

from backups.bundle import backup_make
from backups.drill import drill_server, restore_drill_run
from tests.backups.test_backup import small_day  # noqa: F401 - a shared fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

DRILL_ROLE = "langzhong_drill_test"


@pytest.fixture
def drill_role():
    """A role that may create databases and nothing else (not a superuser)."""
    source = connection.settings_dict
    admin = psycopg2.connect(dbname="postgres", user=source["USER"], host=source["HOST"],
                             port=source["PORT"] or 5432)  # fmt: skip
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP ROLE IF EXISTS {DRILL_ROLE}")
        cursor.execute(f"CREATE ROLE {DRILL_ROLE} LOGIN CREATEDB PASSWORD 'drill-secret'")
    yield f"postgres://{DRILL_ROLE}:drill-secret@{source['HOST']}:{source['PORT'] or 5432}/postgres"
    with admin.cursor() as cursor:
        cursor.execute(
            "SELECT datname FROM pg_database WHERE datdba = "
            "(SELECT oid FROM pg_roles WHERE rolname = %s)",
            [DRILL_ROLE],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f"DROP ROLE IF EXISTS {DRILL_ROLE}")
    admin.close()


def _owner(name: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [name])
        row = cursor.fetchone()
    return row[0] if row else None


def test_without_the_setting_the_drill_uses_the_applications_own_server(settings):
    settings.DRILL_DATABASE = None
    assert drill_server()["USER"] == connection.settings_dict["USER"]
    assert drill_server()["NAME"] == "postgres"


def test_the_drill_creates_its_scratch_database_with_the_drill_role(
    small_day,  # noqa: F811
    drill_role,
    settings,
):
    bundle = backup_make(directory=small_day)
    settings.DRILL_DATABASE = dj_database_url.parse(drill_role)
    settings.RESTORE_DRILL_DATABASE = f"{connection.settings_dict['NAME']}_drill_role"
    result = restore_drill_run(bundle=bundle.path, keep=True)
    assert result.passed, {check.name: check.detail for check in result.failures}
    assert _owner(settings.RESTORE_DRILL_DATABASE) == DRILL_ROLE


def test_a_drill_server_that_cannot_be_reached_fails_the_drill_naming_it(
    small_day,  # noqa: F811
    settings,
):
    bundle = backup_make(directory=small_day)
    source = connection.settings_dict
    settings.DRILL_DATABASE = dj_database_url.parse(
        f"postgres://{source['USER']}@{source['HOST']}:1/postgres"
    )
    result = restore_drill_run(bundle=bundle.path)
    failed = {check.name: check.detail for check in result.failures}
    assert failed["restore"].startswith("cannot create the scratch database")
