from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backups.bundle import BackupError, backup_make


class Command(BaseCommand):
    help = (
        "Write a dated, checksummed backup bundle (database dump, media, exported audit heads, "
        "draw commitments, manifest with row counts and SHA-256 of every file) to BACKUP_DIR. "
        "The keys are never written into it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--directory", default=None, help="default: BACKUP_DIR")

    def handle(self, *args, directory: str | None, **options):
        try:
            bundle = backup_make(directory=Path(directory or settings.BACKUP_DIR))
        except BackupError as error:
            raise CommandError(str(error)) from error
        rows = sum(bundle.manifest["tables"].values())
        files = len(bundle.manifest["files"])
        self.stdout.write(f"{bundle.path} ({rows} rows, {files} files)")
