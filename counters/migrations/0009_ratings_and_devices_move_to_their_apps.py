# The ratings and follow-ups now belong to the ratings app (ratings 0001) and the hall
# devices to the devices app (devices 0001), on the same tables: counters' state lets go
# of them and a ticket's issuing kiosk points there. Only Django's state changes; the
# database keeps every table, row and constraint.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('counters', '0008_hall_device_credential_digest'),
        ('devices', '0001_initial'),
        ('ratings', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name='historicalticket',
                    name='issued_by',
                    field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='devices.halldevice', verbose_name='issued by kiosk'),
                ),
                migrations.AlterField(
                    model_name='ticket',
                    name='issued_by',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='devices.halldevice', verbose_name='issued by kiosk'),
                ),
                migrations.DeleteModel(
                    name='HistoricalFollowUp',
                ),
                migrations.DeleteModel(
                    name='FollowUp',
                ),
                migrations.DeleteModel(
                    name='Rating',
                ),
                migrations.DeleteModel(
                    name='HallDevice',
                ),
            ],
        ),
    ]
