"""Authenticator keys made but never confirmed are dropped once: before sign-in codes, the
enrolment page showed such a key to whoever held a password someone else had set. The
person is shown a new one at their next sign-in (after the code, where one is awaited)."""

from django.db import migrations


def forward(apps, schema_editor):
    apps.get_model("otp_totp", "TOTPDevice").objects.filter(confirmed=False).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("security_desk", "0001_initial"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
