import json

from django.core.management.base import BaseCommand, CommandError

from operations import health

CHECKS = {
    "database": health.check_database,
    "migrations": health.check_migrations,
    "broker": health.check_broker,
    "worker": health.check_worker,
    "beat": health.check_beat,
    "outbox": health.check_outbox,
    "audit_chaining": health.check_audit_chaining,
}


class Command(BaseCommand):
    help = "Print /readyz's checks (or only those named) as JSON; exit 1 if one is not ready."

    def add_arguments(self, parser):
        parser.add_argument("checks", nargs="*", choices=[[], *CHECKS], default=[])

    def handle(self, *args, checks: list[str], **options):
        results = [CHECKS[name]() for name in checks] if checks else health.readiness()
        body = health.as_json(results)
        self.stdout.write(json.dumps(body, ensure_ascii=False))
        if body["status"] != "ok":
            raise CommandError("not ready: " + ", ".join(c.name for c in results if not c.ok))
