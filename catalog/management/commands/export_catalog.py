from pathlib import Path

from django.core.management.base import BaseCommand

from catalog.selectors import catalog_export_sheets
from catalog.spreadsheets import catalog_file_write


class Command(BaseCommand):
    help = "Write the catalog as .xlsx (sheets items, materials) or as a folder of CSV files."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file: str, **options):
        sheets = catalog_export_sheets()
        catalog_file_write(Path(file), sheets)
        self.stdout.write(f"{len(sheets.items)} items, {len(sheets.materials)} materials → {file}")
