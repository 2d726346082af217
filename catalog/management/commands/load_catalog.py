import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.services import catalog_import

DEFAULT_CATALOG = Path(settings.BASE_DIR) / "fixtures" / "catalog_placeholder.json"


class Command(BaseCommand):
    help = "Load the service catalog (the shipped fixture by default); all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default=str(DEFAULT_CATALOG))

    def handle(self, *args, file: str, **options):
        data = json.loads(Path(file).read_text(encoding="utf-8"))
        report = catalog_import(data=data)
        if report.errors:
            for line in report.errors:
                self.stderr.write(line)
            raise CommandError(f"{len(report.errors)} problems; nothing was imported")
        self.stdout.write(f"catalog loaded: {report.created} created, {report.updated} updated")
