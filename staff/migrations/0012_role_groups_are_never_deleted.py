"""A role's group is never deleted, as it is never renamed (0007): deleting it would take
the role from every member at once (Django deletes the memberships first, with no signal
of theirs), so no role.revoked event and no record of who could be drawn before and
after. The role names are written out here, frozen with the migration (a test checks
them against staff.roles.Role). PostgreSQL only: the deployments' database; SQLite's
test flush deletes every row of the table, which such a trigger would refuse."""

from django.db import migrations

ROLE_NAMES = [
    "approver",
    "audit_administrator",
    "auditor",
    "city_viewer",
    "clerk",
    "integration",
    "reviewer",
    "security_administrator",
    "system_administrator",
    "team_lead",
    "window_lead",
]
_NAMES = ", ".join(f"'{name}'" for name in ROLE_NAMES)
POSTGRES = f"""
CREATE OR REPLACE FUNCTION staff_role_groups_stay() RETURNS trigger AS $$
BEGIN
    IF OLD.name IN ({_NAMES}) THEN
        RAISE EXCEPTION 'role groups are never deleted' USING ERRCODE = 'check_violation';
    END IF;
    RETURN OLD;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER staff_role_groups_stay BEFORE DELETE ON auth_group
    FOR EACH ROW EXECUTE FUNCTION staff_role_groups_stay();
"""
POSTGRES_REVERSE = """
DROP TRIGGER IF EXISTS staff_role_groups_stay ON auth_group;
DROP FUNCTION IF EXISTS staff_role_groups_stay();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("staff", "0011_sessions_keep_their_sign_in")]
    operations = [migrations.RunPython(forwards, backwards)]
