"""三员分立 in the database: no account holds two of the system, security and audit
administrator groups, whatever writes the membership (req. 7)."""

from django.db import migrations

ROLES = "('system_administrator', 'security_administrator', 'audit_administrator')"
HELD = f"""(SELECT count(*) FROM auth_user_groups ug JOIN auth_group g ON g.id = ug.group_id
          WHERE ug.user_id = NEW.user_id AND g.name IN {ROLES})"""

POSTGRES = f"""
CREATE OR REPLACE FUNCTION staff_administrators_separate() RETURNS trigger AS $$
BEGIN
    -- Serialise concurrent grants to one account on its row.
    PERFORM 1 FROM auth_user WHERE id = NEW.user_id FOR UPDATE;
    IF {HELD} > 1 THEN
        RAISE EXCEPTION 'one account may hold only one of the three administrator roles'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER staff_administrators_separate AFTER INSERT OR UPDATE ON auth_user_groups
    FOR EACH ROW EXECUTE FUNCTION staff_administrators_separate();
"""
POSTGRES_REVERSE = """
DROP TRIGGER IF EXISTS staff_administrators_separate ON auth_user_groups;
DROP FUNCTION IF EXISTS staff_administrators_separate();
"""
SQLITE = [
    f"""CREATE TRIGGER staff_administrators_separate_{event.lower()}
        AFTER {event} ON auth_user_groups WHEN {HELD} > 1
        BEGIN SELECT RAISE(ABORT, 'one account may hold only one of the three administrator roles'); END"""
    for event in ("INSERT", "UPDATE")
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE)
    elif schema_editor.connection.vendor == "sqlite":
        for event in ("insert", "update"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS staff_administrators_separate_{event}")


class Migration(migrations.Migration):
    dependencies = [("staff", "0004_password_records"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(forwards, backwards)]
