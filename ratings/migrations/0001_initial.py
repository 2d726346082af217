# The ratings and their follow-ups (with the follow-ups' row history) moved here from
# counters (counters 0009 lets go of them). Their tables keep their names, so this only
# tells Django's state: no row moves, no table is created. The content types follow, so
# any permission or reference to them stays.

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models

MODELS = ("rating", "followup", "historicalfollowup")


def _content_types_move(apps, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if not ContentType.objects.filter(app_label=target, model=model).exists():
            ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def content_types_to_ratings(apps, schema_editor):
    _content_types_move(apps, "counters", "ratings")


def content_types_to_counters(apps, schema_editor):
    _content_types_move(apps, "ratings", "counters")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        # The tables were created by counters' migrations.
        ('counters', '0008_hall_device_credential_digest'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='Rating',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('sequence', models.PositiveSmallIntegerField(default=1, verbose_name='sequence')),
                        ('level', models.PositiveSmallIntegerField(choices=[(5, 'Very satisfied'), (4, 'Satisfied'), (3, 'Fairly satisfied'), (2, 'Dissatisfied'), (1, 'Very dissatisfied')], verbose_name='level')),
                        ('reason', models.CharField(blank=True, max_length=300, verbose_name='reason')),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='rated at')),
                        ('clerk', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='clerk rated')),
                        ('ticket', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='ratings', to='counters.ticket', verbose_name='ticket')),
                        ('window', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='counters.window', verbose_name='window')),
                    ],
                    options={
                        'verbose_name': 'rating',
                        'verbose_name_plural': 'ratings',
                        'db_table': 'counters_rating',
                        'indexes': [models.Index(fields=['created_at'], name='counters_rating_created_idx')],
                        'constraints': [models.UniqueConstraint(fields=('ticket', 'sequence'), name='counters_rating_once'), models.CheckConstraint(condition=models.Q(('sequence__in', [1, 2])), name='counters_rating_sequence'), models.CheckConstraint(condition=models.Q(('level__gte', 1), ('level__lte', 5)), name='counters_rating_level_1_5'), models.CheckConstraint(condition=models.Q(('level__gte', 3), models.Q(('reason', ''), _negated=True), _connector='OR'), name='counters_rating_bad_has_reason')],
                    },
                ),
                migrations.CreateModel(
                    name='HistoricalFollowUp',
                    fields=[
                        ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                        ('callback_due', models.DateField(verbose_name='callback due')),
                        ('reply_due', models.DateField(verbose_name='reply due')),
                        ('callback_at', models.DateTimeField(blank=True, null=True, verbose_name='called back at')),
                        ('callback_note', models.TextField(blank=True, verbose_name='callback note')),
                        ('reply', models.TextField(blank=True, verbose_name='reply')),
                        ('replied_at', models.DateTimeField(blank=True, null=True, verbose_name='replied at')),
                        ('history_id', models.AutoField(primary_key=True, serialize=False)),
                        ('history_date', models.DateTimeField(db_index=True)),
                        ('history_change_reason', models.CharField(max_length=100, null=True)),
                        ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                        ('handled_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='handled by')),
                        ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('rating', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='ratings.rating', verbose_name='rating')),
                    ],
                    options={
                        'verbose_name': 'historical follow-up',
                        'verbose_name_plural': 'historical follow-ups',
                        'db_table': 'counters_historicalfollowup',
                        'ordering': ('-history_date', '-history_id'),
                        'get_latest_by': ('history_date', 'history_id'),
                    },
                    bases=(simple_history.models.HistoricalChanges, models.Model),
                ),
                migrations.CreateModel(
                    name='FollowUp',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('callback_due', models.DateField(verbose_name='callback due')),
                        ('reply_due', models.DateField(verbose_name='reply due')),
                        ('callback_at', models.DateTimeField(blank=True, null=True, verbose_name='called back at')),
                        ('callback_note', models.TextField(blank=True, verbose_name='callback note')),
                        ('reply', models.TextField(blank=True, verbose_name='reply')),
                        ('replied_at', models.DateTimeField(blank=True, null=True, verbose_name='replied at')),
                        ('handled_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='handled by')),
                        ('rating', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='follow_up', to='ratings.rating', verbose_name='rating')),
                    ],
                    options={
                        'verbose_name': 'follow-up',
                        'verbose_name_plural': 'follow-ups',
                        'db_table': 'counters_followup',
                    },
                ),
            ],
        ),
        migrations.RunPython(content_types_to_ratings, content_types_to_counters),
    ]
