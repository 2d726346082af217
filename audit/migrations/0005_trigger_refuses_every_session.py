from django.db import migrations

# The append-only trigger no longer has any escape a session can set: UPDATE, DELETE and
# TRUNCATE on the audit table are refused for everyone, whatever the session has SET.
# Only the table's owner or a superuser can switch the triggers off (ALTER TABLE ...
# DISABLE TRIGGER, or session_replication_role = replica, which only a superuser may
# set); the application runs as a role that is neither (manage.py db_roles, README).
# Test-database flushes use the superuser's replica mode (tests/conftest.py).
FORWARD = """
CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_auditevent is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""
# The function as 0002 left it (with the session-settable TRUNCATE escape).
BACKWARD = """
CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_setting('langzhong.allow_audit_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit_auditevent is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""


def _run(schema_editor, sql):
    # A plain cursor without parameters, so the % in the PL/pgSQL message stays literal.
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_report_indexes")]

    operations = [migrations.RunPython(forward, backward)]
