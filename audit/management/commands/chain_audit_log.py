from django.core.management.base import BaseCommand

from audit.chain import audit_chain_all, audit_chain_status


class Command(BaseCommand):
    help = (
        "Chain every committed audit event still waiting (what beat's sequencer does every "
        "second), then print the chain's head and what is left waiting or missing."
    )

    def handle(self, *args, **options):
        chained = audit_chain_all(wait=True)
        status = audit_chain_status()
        self.stdout.write(
            f"chained {chained} events; head #{status.chained}, {status.waiting} waiting, "
            f"{status.keys_missing} keys missing, {status.keys_pending} not seen yet"
        )
