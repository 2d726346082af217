# The daily seeds and draws moved here from risk (risk 0007 lets go of them). Their
# tables keep their names, so this only tells Django's state: no row moves, no table
# is created. The content types follow, so any permission or reference to them stays.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MODELS = ("dailyseed", "draw")


def _content_types_move(apps, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if not ContentType.objects.filter(app_label=target, model=model).exists():
            ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def content_types_to_draws(apps, schema_editor):
    _content_types_move(apps, "risk", "draws")


def content_types_to_risk(apps, schema_editor):
    _content_types_move(apps, "draws", "risk")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        # The tables were created by risk's migrations.
        ("risk", "0006_review_task_superseded"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='DailySeed',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('day', models.DateField(unique=True, verbose_name='day')),
                        ('seed', models.TextField(verbose_name='seed (encrypted)')),
                        ('commitment', models.CharField(max_length=64, verbose_name='SHA-256 commitment')),
                        ('next_number', models.PositiveIntegerField(default=1, verbose_name='next draw number')),
                        ('committed_at', models.DateTimeField(blank=True, null=True, verbose_name='committed at')),
                        ('committed_in_draw', models.BooleanField(default=False, verbose_name='committed in its first draw')),
                        ('revealed_at', models.DateTimeField(blank=True, null=True, verbose_name='revealed at')),
                    ],
                    options={
                        'verbose_name': 'daily seed',
                        'verbose_name_plural': 'daily seeds',
                        'db_table': 'risk_dailyseed',
                    },
                ),
                migrations.CreateModel(
                    name='Draw',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('day', models.DateField(verbose_name='day')),
                        ('number', models.PositiveIntegerField(verbose_name='number within the day')),
                        ('scheme', models.PositiveSmallIntegerField(default=2, verbose_name='scheme')),
                        ('purpose', models.CharField(choices=[('ticket_dispatch', 'Ticket to clerk'), ('review', 'Reviewer'), ('approval', 'Approver'), ('second_approval', 'Second approver')], max_length=32, verbose_name='purpose')),
                        ('subject', models.CharField(max_length=64, verbose_name='drawn for')),
                        ('pool', models.JSONField(verbose_name='eligible pool')),
                        ('excluded', models.JSONField(default=list, verbose_name='excluded')),
                        ('chosen_index', models.PositiveIntegerField(verbose_name='chosen index')),
                        ('drawn_at', models.DateTimeField(verbose_name='drawn at')),
                        ('chosen', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='chosen')),
                    ],
                    options={
                        'verbose_name': 'draw',
                        'verbose_name_plural': 'draws',
                        'db_table': 'risk_draw',
                        'constraints': [models.UniqueConstraint(fields=('day', 'number'), name='risk_draw_unique_number')],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_types_to_draws, content_types_to_risk),
    ]
