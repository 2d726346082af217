"""The city-level viewer is a role of its own: no account holds it with any other role
(its scope is every agency, so another role's acts would reach every agency). The
database's table of incompatible pairs (0007) is rebuilt with those pairs added; a test
checks the newest table against staff.roles.INCOMPATIBLE_ROLES."""

import importlib

from django.db import migrations

_BEFORE = importlib.import_module("staff.migrations.0007_incompatible_roles_in_database")

_ROLES = [
    "approver", "audit_administrator", "auditor", "clerk", "integration", "reviewer",
    "security_administrator", "system_administrator", "team_lead", "window_lead",
]  # fmt: skip
PAIRS = sorted({*_BEFORE.PAIRS, *(tuple(sorted(("city_viewer", role))) for role in _ROLES)})


def _with_pairs(sql: str) -> str:
    def values(pairs):
        return ", ".join(f"('{first}', '{second}')" for first, second in pairs)

    def names(pairs):
        return ", ".join(f"'{name}'" for name in sorted({n for pair in pairs for n in pair}))

    return sql.replace(values(_BEFORE.PAIRS), values(PAIRS)).replace(
        names(_BEFORE.PAIRS), names(PAIRS)
    )


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_BEFORE.POSTGRES_REVERSE)
        schema_editor.execute(_with_pairs(_BEFORE.POSTGRES))
    elif schema_editor.connection.vendor == "sqlite":
        for name in _BEFORE.SQLITE_NAMES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in _BEFORE.SQLITE:
            schema_editor.execute(_with_pairs(statement))


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_BEFORE.POSTGRES_REVERSE)
        schema_editor.execute(_BEFORE.POSTGRES)
    elif schema_editor.connection.vendor == "sqlite":
        for name in _BEFORE.SQLITE_NAMES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in _BEFORE.SQLITE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("staff", "0009_staff_sites_and_city_viewer")]
    operations = [migrations.RunPython(forwards, backwards)]
