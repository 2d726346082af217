import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit.chain import audit_chain_all
from audit.services import (
    audit_chain_head,
    audit_exported_heads,
    audit_heads_directory,
    audit_heads_verify,
)


class Command(BaseCommand):
    help = (
        "Write the audit chain's head (position and hash) to a dated file, kept off the database."
    )

    def add_arguments(self, parser):
        parser.add_argument("--directory", default=None)

    def handle(self, *args, directory: str | None, **options):
        folder = Path(directory) if directory else audit_heads_directory()
        # A log cut short since the last export must not overwrite today's head with the
        # shorter one: refuse, and leave the earlier heads as the evidence.
        try:
            broken = audit_heads_verify(heads=audit_exported_heads(directory=folder))
        except ValueError as error:
            raise CommandError(str(error)) from error
        if broken is not None:
            raise CommandError(f"not exported: {broken.reason}")
        audit_chain_all()  # whatever has committed is in the head
        head = audit_chain_head()
        if head is None:
            self.stdout.write("the audit log is empty")
            return
        folder.mkdir(parents=True, exist_ok=True)
        now = timezone.localtime()
        # The head covers chained events; those still waiting are in the next export.
        record = {**head, "exported_at": now.isoformat()}
        path = folder / f"{now:%Y-%m-%d}.json"
        path.write_text(json.dumps(record, indent=2), encoding="utf-8")
        self.stdout.write(f"head #{head['position']} {head['hash']} → {path}")
