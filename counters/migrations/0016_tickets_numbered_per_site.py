"""Ticket numbers count per site, day and queue (two sites both have A001): the number's
uniqueness and the dispatch's waiting index take the site, and the day's sequences taken
so far (all the home hall's, the only site before) are renamed to the home hall's keys,
so a deployment in the middle of a day goes on from the last number issued."""

from django.conf import settings
from django.db import migrations, models


def _sequences_to_home_hall(apps, schema_editor):
    Site = apps.get_model("sites", "Site")
    NumberSequence = apps.get_model("counters", "NumberSequence")
    hall = Site.objects.filter(kind="hall").order_by("agency_id").values_list("pk", flat=True)
    hall_id = hall.first()
    if hall_id is None:
        return
    for sequence in NumberSequence.objects.filter(key__in=["ticket-A", "ticket-B"]):
        sequence.key = f"ticket-{hall_id}-{sequence.key[-1]}"
        sequence.save(update_fields=["key"])


def _sequences_back(apps, schema_editor):
    NumberSequence = apps.get_model("counters", "NumberSequence")
    for sequence in NumberSequence.objects.filter(key__regex=r"^ticket-[0-9]+-[AB]$"):
        sequence.key = f"ticket-{sequence.key[-1]}"
        sequence.save(update_fields=["key"])


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0004_legal_bases_social_insurance_handling_regulation'),
        ('counters', '0015_number_sequences_per_day'),
        ('devices', '0002_devices_at_sites'),
        ('sites', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(_sequences_to_home_hall, _sequences_back),
        migrations.RemoveConstraint(
            model_name='ticket',
            name='counters_ticket_unique_number',
        ),
        migrations.RemoveIndex(
            model_name='ticket',
            name='counters_ticket_waiting_idx',
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('status', 'waiting')), fields=['site', 'service_date', 'queue', '-is_priority', 'issued_at'], name='counters_ticket_site_wait_idx'),
        ),
        migrations.AddConstraint(
            model_name='ticket',
            constraint=models.UniqueConstraint(fields=('site', 'service_date', 'queue', 'sequence'), name='counters_ticket_unique_number_per_site'),
        ),
    ]
