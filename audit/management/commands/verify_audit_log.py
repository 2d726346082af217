import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_head_matches, audit_log_verify


class Command(BaseCommand):
    help = (
        "Recompute the audit log's hash chain; name the first broken position (exit 1). "
        "With --head FILE(s), also check that exported heads still stand in the chain."
    )

    def add_arguments(self, parser):
        parser.add_argument("--head", nargs="*", default=[], help="exported head files")

    def handle(self, *args, head: list[str], **options):
        broken = audit_log_verify()
        if broken is not None:
            raise CommandError(f"audit chain broken at position {broken.position}: {broken.reason}")
        for path in head:
            record = json.loads(Path(path).read_text(encoding="utf-8"))
            if not audit_head_matches(position=record["position"], hash_=record["hash"]):
                raise CommandError(
                    f"the chain was rewritten: exported head #{record['position']} ({path}) "
                    "no longer matches"
                )
        self.stdout.write("audit chain verifies")
