from django.db import migrations, models

from langzhong_si.credentials import CREDENTIAL_PREFIX_LENGTH, credential_digest


def digest_device_tokens(apps, schema_editor):
    """Each device keeps its credential but the table keeps only its digest (and prefix):
    a screen registered before this change presents the same cookie and is still found."""
    HallDevice = apps.get_model("counters", "HallDevice")
    for device in HallDevice.objects.exclude(token="").order_by("pk"):
        device.credential_digest = credential_digest(device.token)
        device.credential_prefix = device.token[:CREDENTIAL_PREFIX_LENGTH]
        device.save(update_fields=["credential_digest", "credential_prefix"])


def give_fresh_tokens(apps, schema_editor):
    """Going back: the clear credentials are gone, so every device gets a new one and
    needs a new registration link."""
    import secrets

    HallDevice = apps.get_model("counters", "HallDevice")
    for device in HallDevice.objects.order_by("pk"):
        device.token = secrets.token_urlsafe(24)
        device.save(update_fields=["token"])


class Migration(migrations.Migration):
    dependencies = [
        ("counters", "0007_blind_scans_and_bound_devices"),
    ]

    operations = [
        migrations.AddField(
            model_name="halldevice",
            name="credential_digest",
            field=models.CharField(
                blank=True, editable=False, max_length=64, verbose_name="credential digest"
            ),
        ),
        migrations.AddField(
            model_name="halldevice",
            name="credential_prefix",
            field=models.CharField(
                blank=True, editable=False, max_length=8, verbose_name="credential prefix"
            ),
        ),
        # Not unique for the last steps, so that going back can re-add the column (one
        # default for every row) before giving each row its own value.
        migrations.AlterField(
            model_name="halldevice",
            name="token",
            field=models.CharField(editable=False, max_length=43, verbose_name="token"),
        ),
        migrations.RunPython(digest_device_tokens, give_fresh_tokens),
        migrations.RemoveField(
            model_name="halldevice",
            name="token",
        ),
        migrations.AddConstraint(
            model_name="halldevice",
            constraint=models.UniqueConstraint(
                condition=models.Q(("credential_digest", ""), _negated=True),
                fields=("credential_digest",),
                name="counters_device_credential_unique",
            ),
        ),
    ]
