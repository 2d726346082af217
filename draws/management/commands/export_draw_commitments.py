from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from draws.models import DailySeed
from draws.services import draw_commitment_export


class Command(BaseCommand):
    help = (
        "Write every committed day's draw commitment that has no file yet (one file per "
        "day, never overwritten). Seeds write theirs when committed; this catches up."
    )

    def add_arguments(self, parser):
        parser.add_argument("--directory", type=Path, default=None)

    def handle(self, *args, directory: Path | None, **options):
        folder = directory or Path(settings.DRAW_COMMITMENT_DIR)
        written = 0
        for day in DailySeed.objects.order_by("day").values_list("day", flat=True):
            missing = not (folder / f"{day.isoformat()}.json").exists()
            if missing and draw_commitment_export(day=day, directory=folder):
                written += 1
        self.stdout.write(f"{written} commitments written to {folder}")
