import datetime
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from draws.services import draw_commitment_exported
from inspection.draws import draws_verify


class Command(BaseCommand):
    help = (
        "Recompute every draw of a closed day from its revealed seed, check it against the "
        "exported commitment, and check that every review task and every called ticket is "
        "held by the person its draw chose; exit 1 on any mismatch."
    )

    def add_arguments(self, parser):
        parser.add_argument("day", type=datetime.date.fromisoformat, help="YYYY-MM-DD")
        parser.add_argument(
            "--commitments",
            type=Path,
            default=None,
            help="folder of exported commitments (default: DRAW_COMMITMENT_DIR)",
        )

    def handle(self, *args, day: datetime.date, commitments: Path | None, **options):
        folder = commitments or Path(settings.DRAW_COMMITMENT_DIR)
        try:
            mismatches = draws_verify(day=day, commitment_dir=folder)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        if draw_commitment_exported(day=day, directory=folder) is None:
            self.stderr.write(
                f"note: no exported commitment for {day} in {folder}: "
                "compared with the database's only"
            )
        for mismatch in mismatches:
            self.stderr.write(f"draw {day} #{mismatch.number}: {mismatch.reason}")
        if mismatches:
            raise CommandError(f"{len(mismatches)} draws do not verify")
        self.stdout.write(
            f"every draw of {day} verifies against the revealed seed, "
            "and every task and ticket is held by its drawn person"
        )
