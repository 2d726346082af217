# The hall devices moved here from counters (counters 0009 lets go of them). Their table
# keeps its name, so this only tells Django's state: no row moves, no table is created.
# The content type follows, so any permission or reference to it stays.

import django.db.models.deletion
from django.db import migrations, models

MODELS = ("halldevice",)


def _content_types_move(apps, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if not ContentType.objects.filter(app_label=target, model=model).exists():
            ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def content_types_to_devices(apps, schema_editor):
    _content_types_move(apps, "counters", "devices")


def content_types_to_counters(apps, schema_editor):
    _content_types_move(apps, "devices", "counters")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        # The table was created by counters' migrations.
        ('counters', '0008_hall_device_credential_digest'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='HallDevice',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('kiosk', 'Ticket kiosk'), ('display', 'Call display'), ('pad', 'Rating pad')], max_length=16, verbose_name='kind')),
                        ('name', models.CharField(max_length=64, verbose_name='name')),
                        ('credential_digest', models.CharField(blank=True, editable=False, max_length=64, verbose_name='credential digest')),
                        ('credential_prefix', models.CharField(blank=True, editable=False, max_length=8, verbose_name='credential prefix')),
                        ('enabled', models.BooleanField(default=True, verbose_name='enabled')),
                        ('registered_at', models.DateTimeField(blank=True, null=True, verbose_name='registered at')),
                        ('link_digest', models.CharField(blank=True, editable=False, max_length=64, verbose_name='registration link digest')),
                        ('link_issued_at', models.DateTimeField(blank=True, null=True, verbose_name='link issued at')),
                        ('link_used_at', models.DateTimeField(blank=True, null=True, verbose_name='link used at')),
                        ('window', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='pads', to='counters.window', verbose_name='window')),
                    ],
                    options={
                        'verbose_name': 'hall device',
                        'verbose_name_plural': 'hall devices',
                        'db_table': 'counters_halldevice',
                        'indexes': [models.Index(condition=models.Q(('link_digest', ''), _negated=True), fields=['link_digest'], name='counters_device_link_idx')],
                        'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('kind', 'pad'), ('window__isnull', False)), models.Q(models.Q(('kind', 'pad'), _negated=True), ('window__isnull', True)), _connector='OR'), name='counters_device_pad_iff_window'), models.UniqueConstraint(fields=('window',), name='counters_device_one_pad_per_window'), models.UniqueConstraint(condition=models.Q(('credential_digest', ''), _negated=True), fields=('credential_digest',), name='counters_device_credential_unique')],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_types_to_devices, content_types_to_counters),
    ]
