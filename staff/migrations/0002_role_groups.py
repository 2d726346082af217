from django.db import migrations

ROLE_NAMES = [
    "clerk",
    "reviewer",
    "approver",
    "team_lead",
    "window_lead",
    "auditor",
    "system_administrator",
    "security_administrator",
    "audit_administrator",
]


def create_role_groups(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    for name in ROLE_NAMES:
        group_model.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("staff", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_role_groups, migrations.RunPython.noop)]
