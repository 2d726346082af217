# The daily seeds and draws now belong to the draws app (draws 0001), on the same
# tables: risk's state lets go of them and the review task's draw points there. Only
# Django's state changes; the database keeps every table, row and constraint.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('draws', '0001_initial'),
        ('risk', '0006_review_task_superseded'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name='historicalreviewtask',
                    name='draw',
                    field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='draws.draw', verbose_name='draw'),
                ),
                migrations.AlterField(
                    model_name='reviewtask',
                    name='draw',
                    field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to='draws.draw', verbose_name='draw'),
                ),
                migrations.DeleteModel(
                    name='DailySeed',
                ),
                migrations.DeleteModel(
                    name='Draw',
                ),
            ],
        ),
    ]
