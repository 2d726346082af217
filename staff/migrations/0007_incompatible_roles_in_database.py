"""Incompatible roles in the database: besides 三员分立 (0005), the auditor
holds no business post it inspects, and an integration account no role a person must
hold, whatever writes the membership. The pairs are written out here, frozen with the
migration; a test checks them against staff.roles.INCOMPATIBLE_ROLES, so changing the
table needs a new migration. Role groups cannot be renamed in place either (a rename
would turn a held role into another one behind every check)."""

from django.db import migrations

PAIRS = [
    ("approver", "auditor"),
    ("approver", "integration"),
    ("audit_administrator", "integration"),
    ("audit_administrator", "security_administrator"),
    ("audit_administrator", "system_administrator"),
    ("auditor", "clerk"),
    ("auditor", "integration"),
    ("auditor", "reviewer"),
    ("auditor", "team_lead"),
    ("integration", "reviewer"),
    ("integration", "security_administrator"),
    ("integration", "system_administrator"),
    ("integration", "team_lead"),
    ("integration", "window_lead"),
    ("security_administrator", "system_administrator"),
]
ROLE_NAMES = sorted({name for pair in PAIRS for name in pair})
_VALUES = ", ".join(f"('{first}', '{second}')" for first, second in PAIRS)
_NAMES = ", ".join(f"'{name}'" for name in ROLE_NAMES)
CLASH = f"""SELECT a.name || ' + ' || b.name
      FROM auth_user_groups ua JOIN auth_group a ON a.id = ua.group_id,
           auth_user_groups ub JOIN auth_group b ON b.id = ub.group_id
     WHERE ua.user_id = NEW.user_id AND ub.user_id = NEW.user_id
       AND (a.name, b.name) IN (VALUES {_VALUES})"""
MESSAGE = "one account may not hold these two roles together"

POSTGRES = f"""
CREATE OR REPLACE FUNCTION staff_roles_compatible() RETURNS trigger AS $$
DECLARE
    clash text;
BEGIN
    -- Serialise concurrent grants to one account on its row.
    PERFORM 1 FROM auth_user WHERE id = NEW.user_id FOR UPDATE;
    clash := ({CLASH} LIMIT 1);
    IF clash IS NOT NULL THEN
        RAISE EXCEPTION USING MESSAGE = '{MESSAGE}: ' || clash, ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER staff_roles_compatible AFTER INSERT OR UPDATE ON auth_user_groups
    FOR EACH ROW EXECUTE FUNCTION staff_roles_compatible();

CREATE OR REPLACE FUNCTION staff_role_groups_keep_names() RETURNS trigger AS $$
BEGIN
    IF OLD.name IN ({_NAMES}) OR NEW.name IN ({_NAMES}) THEN
        RAISE EXCEPTION 'role groups keep their names' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER staff_role_groups_keep_names BEFORE UPDATE OF name ON auth_group
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION staff_role_groups_keep_names();
"""
POSTGRES_REVERSE = """
DROP TRIGGER IF EXISTS staff_roles_compatible ON auth_user_groups;
DROP FUNCTION IF EXISTS staff_roles_compatible();
DROP TRIGGER IF EXISTS staff_role_groups_keep_names ON auth_group;
DROP FUNCTION IF EXISTS staff_role_groups_keep_names();
"""
SQLITE = [
    *(
        f"""CREATE TRIGGER staff_roles_compatible_{event.lower()}
        AFTER {event} ON auth_user_groups WHEN EXISTS ({CLASH})
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"""
        for event in ("INSERT", "UPDATE")
    ),
    f"""CREATE TRIGGER staff_role_groups_keep_names BEFORE UPDATE OF name ON auth_group
        WHEN OLD.name IS NOT NEW.name AND (OLD.name IN ({_NAMES}) OR NEW.name IN ({_NAMES}))
        BEGIN SELECT RAISE(ABORT, 'role groups keep their names'); END""",
]
SQLITE_NAMES = [
    "staff_roles_compatible_insert",
    "staff_roles_compatible_update",
    "staff_role_groups_keep_names",
]


def forwards(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    group_model.objects.get_or_create(name="integration")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE)
    elif schema_editor.connection.vendor == "sqlite":
        for name in SQLITE_NAMES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("staff", "0006_api_tokens_hashed_and_passwords_set_by")]
    operations = [migrations.RunPython(forwards, backwards)]
