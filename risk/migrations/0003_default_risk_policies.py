from django.db import migrations

# the default policy (docs/glossary.md): the chain after the clerk per level, 4 office hours a step.
DEFAULTS = {
    0: [],
    1: ["review"],
    2: ["review", "approval"],
    3: ["review", "approval", "second_approval"],
}


def create_default_policies(apps, schema_editor):
    policy_model = apps.get_model("risk", "RiskPolicy")
    for level, steps in DEFAULTS.items():
        policy_model.objects.get_or_create(level=level, defaults={"steps": steps, "step_hours": 4})


class Migration(migrations.Migration):
    dependencies = [("risk", "0002_policy_qualifications_leave_relatives")]

    operations = [migrations.RunPython(create_default_policies, migrations.RunPython.noop)]
