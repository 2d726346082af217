import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from audit.services import audit_chain_head


class Command(BaseCommand):
    help = (
        "Write the audit chain's head (position and hash) to a dated file, kept off the database."
    )

    def add_arguments(self, parser):
        parser.add_argument("--directory", default=str(Path(settings.VAR_DIR) / "audit-heads"))

    def handle(self, *args, directory: str, **options):
        head = audit_chain_head()
        if head is None:
            self.stdout.write("the audit log is empty")
            return
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        now = timezone.localtime()
        record = {**head, "exported_at": now.isoformat()}
        path = folder / f"{now:%Y-%m-%d}.json"
        path.write_text(json.dumps(record, indent=2), encoding="utf-8")
        self.stdout.write(f"head #{head['position']} {head['hash']} → {path}")
