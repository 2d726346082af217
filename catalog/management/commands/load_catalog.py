from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.services import catalog_import
from catalog.spreadsheets import CatalogFileError, catalog_file_read

DEFAULT_CATALOG = Path(settings.BASE_DIR) / "fixtures" / "catalog"


class Command(BaseCommand):
    help = (
        "Load the service catalog: the shipped fixture by default, or an agency's own .xlsx "
        "(sheets items, materials) or folder of items.csv + materials.csv. All or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default=str(DEFAULT_CATALOG))
        parser.add_argument("--reason", default="", help="why the catalog changes (recorded)")

    def handle(self, *args, file: str, reason: str, **options):
        try:
            sheets = catalog_file_read(Path(file))
        except CatalogFileError as error:
            raise CommandError(str(error)) from None
        report = catalog_import(sheets=sheets, reason=reason or f"load_catalog {Path(file).name}")
        if report.errors:
            for line in report.errors:
                self.stderr.write(line)
            raise CommandError(f"{len(report.errors)} problems: nothing was imported")
        self.stdout.write(
            f"catalog loaded: {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged"
        )
