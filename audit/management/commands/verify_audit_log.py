from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_log_verify


class Command(BaseCommand):
    help = "Recompute the audit log's hash chain; name the first broken position (exit 1)."

    def handle(self, *args, **options):
        broken = audit_log_verify()
        if broken is not None:
            raise CommandError(f"audit chain broken at position {broken.position}: {broken.reason}")
        self.stdout.write("audit chain verifies")
