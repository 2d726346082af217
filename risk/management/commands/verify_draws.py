import datetime

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from risk.services import draws_verify


class Command(BaseCommand):
    help = "Recompute every draw of a closed day from its revealed seed; exit 1 on any mismatch."

    def add_arguments(self, parser):
        parser.add_argument("day", type=datetime.date.fromisoformat, help="YYYY-MM-DD")

    def handle(self, *args, day: datetime.date, **options):
        try:
            mismatches = draws_verify(day=day)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        for mismatch in mismatches:
            self.stderr.write(f"draw {day} #{mismatch.number}: {mismatch.reason}")
        if mismatches:
            raise CommandError(f"{len(mismatches)} draws do not verify")
        self.stdout.write(f"every draw of {day} verifies against the revealed seed")
