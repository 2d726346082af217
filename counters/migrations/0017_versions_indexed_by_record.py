"""The tickets', cases' and windows' versions (row history) lose the indexes on their
copies of foreign keys and unique fields: versions are read by the record's id only, and
every status change paid an index entry for each (audit.history.history_read_by_record)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import counters.models
import sites.defaults


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0005_items_switched_off_per_agency"),
        ("counters", "0016_tickets_numbered_per_site"),
        ("devices", "0002_devices_at_sites"),
        ("sites", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="historicalcase",
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
            model_name="historicalcase",
            name="assisting_staff",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="assisting staff member (帮办代办)",
            ),
        ),
        migrations.AlterField(
            model_name="historicalcase",
            name="handler",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="handling clerk",
            ),
        ),
        migrations.AlterField(
            model_name="historicalcase",
            name="item",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="catalog.serviceitem",
                verbose_name="item",
            ),
        ),
        migrations.AlterField(
            model_name="historicalcase",
            name="number",
            field=models.CharField(max_length=20, verbose_name="case number"),
        ),
        migrations.AlterField(
            model_name="historicalcase",
            name="site",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                default=sites.defaults.home_site_id,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="sites.site",
                verbose_name="site",
            ),
        ),
        migrations.AlterField(
            model_name="historicalcase",
            name="ticket",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="counters.ticket",
                verbose_name="ticket",
            ),
        ),
        migrations.AlterField(
            model_name="historicalticket",
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
            model_name="historicalticket",
            name="clerk",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="clerk",
            ),
        ),
        migrations.AlterField(
            model_name="historicalticket",
            name="issued_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="devices.halldevice",
                verbose_name="issued by kiosk",
            ),
        ),
        migrations.AlterField(
            model_name="historicalticket",
            name="item",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="catalog.serviceitem",
                verbose_name="item",
            ),
        ),
        migrations.AlterField(
            model_name="historicalticket",
            name="priority_confirmed_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="priority confirmed by",
            ),
        ),
        migrations.AlterField(
            model_name="historicalticket",
            name="public_token",
            field=models.CharField(
                default=counters.models._new_token,
                editable=False,
                max_length=43,
                verbose_name="public token",
            ),
        ),
        migrations.AlterField(
            model_name="historicalticket",
            name="site",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                default=sites.defaults.home_site_id,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="sites.site",
                verbose_name="site",
            ),
        ),
        migrations.AlterField(
            model_name="historicalticket",
            name="window",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="counters.window",
                verbose_name="window",
            ),
        ),
        migrations.AlterField(
            model_name="historicalwindow",
            name="clerk",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="clerk signed on",
            ),
        ),
        migrations.AlterField(
            model_name="historicalwindow",
            name="current_ticket",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="counters.ticket",
                verbose_name="ticket being served",
            ),
        ),
        migrations.AlterField(
            model_name="historicalwindow",
            name="site",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                default=sites.defaults.home_site_id,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="sites.site",
                verbose_name="site",
            ),
        ),
    ]
