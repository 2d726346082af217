import datetime
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from draws.services import draw_commitment_exported
from inspection.draws import draws_verify
from sites.models import Agency


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
        parser.add_argument(
            "--agency",
            default=None,
            help="the agency's code: each agency's draws are verified against its own "
            "seed (default: the home agency)",
        )

    def handle(self, *args, day: datetime.date, commitments: Path | None, agency, **options):
        folder = commitments or Path(settings.DRAW_COMMITMENT_DIR)
        agency_id = None
        if agency:
            agency_id = Agency.objects.filter(code=agency).values_list("pk", flat=True).first()
            if agency_id is None:
                raise CommandError(f"no agency with the code {agency}")
        try:
            mismatches = draws_verify(day=day, commitment_dir=folder, agency_id=agency_id)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        if draw_commitment_exported(day=day, agency_id=agency_id, directory=folder) is None:
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
