from django.core.management.base import BaseCommand
from django.db import transaction

from audit.bulk import bulk_writes_allowed
from audit.services import audit_event_record
from counters.models import Case
from draws.models import DailySeed
from langzhong_si.identity import personal_data_reencrypt

BATCH = 2000


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted value (applicants' and agents' ID numbers, draw seeds) "
        "under "
        "PERSONAL_DATA_KEY, reading old values with PERSONAL_DATA_OLD_KEYS. Safe to re-run."
    )

    def handle(self, *args, **options):
        counts = {
            "cases": self._rotate(Case, "applicant_id_encrypted"),
            "case_agents": self._rotate(Case, "agent_id_encrypted"),
            "daily_seeds": self._rotate(DailySeed, "seed"),
        }
        with transaction.atomic():
            audit_event_record(event_type="personal_data.key_rotated", data=counts)
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted under the current key: {counts}"))

    def _rotate(self, model, field: str) -> int:
        done, last = 0, 0
        while True:
            # An optional value (an agent's ID number) is empty when absent: nothing to do.
            present = model.objects.filter(pk__gt=last).exclude(**{field: ""})
            rows = list(present.order_by("pk").only("pk", field)[:BATCH])
            if not rows:
                return done
            for row in rows:
                setattr(row, field, personal_data_reencrypt(getattr(row, field)))
            # One audited event for the whole rotation instead of a history row per case.
            with transaction.atomic(), bulk_writes_allowed():
                model.objects.bulk_update(rows, [field])
            done, last = done + len(rows), rows[-1].pk
