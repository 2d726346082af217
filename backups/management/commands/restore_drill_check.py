import json
from dataclasses import asdict
from pathlib import Path

from django.core.management.base import BaseCommand

from backups.restored import restored_checks


class Command(BaseCommand):
    help = (
        "Internal: run by restore_drill with DATABASE_URL and MEDIA_ROOT set to the restored "
        "copies; prints each check as JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("--bundle", required=True)
        parser.add_argument("--live-heads-dir", default=None)
        parser.add_argument("--key-sample", type=int, default=20)
        parser.add_argument("--migrated", action="store_true")

    def handle(self, *args, bundle: str, live_heads_dir: str | None, key_sample: int, **options):
        checks = restored_checks(
            migrated=options["migrated"],
            bundle=Path(bundle),
            live_heads=Path(live_heads_dir) if live_heads_dir else None,
            key_sample=key_sample,
        )
        self.stdout.write(json.dumps([asdict(check) for check in checks], ensure_ascii=False))
