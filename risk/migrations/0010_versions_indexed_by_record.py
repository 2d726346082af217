"""The review tasks' versions (row history) lose the indexes on their copies of foreign
keys: versions are read by the record's id only, and every status change paid an index
entry for each (audit.history.history_read_by_record)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import sites.defaults


class Migration(migrations.Migration):
    dependencies = [
        ("counters", "0017_versions_indexed_by_record"),
        ("draws", "0003_seeds_and_draws_per_agency"),
        ("risk", "0009_review_tasks_carry_the_agency"),
        ("sites", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="historicalreviewtask",
            name="agency",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                default=sites.defaults.home_agency_id,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="sites.agency",
                verbose_name="agency",
            ),
        ),
        migrations.AlterField(
            model_name="historicalreviewtask",
            name="assignee",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="drawn person",
            ),
        ),
        migrations.AlterField(
            model_name="historicalreviewtask",
            name="case",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="counters.case",
                verbose_name="case",
            ),
        ),
        migrations.AlterField(
            model_name="historicalreviewtask",
            name="draw",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="draws.draw",
                verbose_name="draw",
            ),
        ),
    ]
