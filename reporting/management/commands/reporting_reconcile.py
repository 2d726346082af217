"""The day's upward-reporting reconciliation (yesterday by default): per kind of event,
how many happened, were sent, acknowledged and failed. Exits 1 when any failed or was
never recorded, so a scheduler can alert on it (0 with a note while reporting is off)."""

import datetime
import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from langzhong_si.dates import date_parse
from reporting.selectors import reconciliation

COLUMNS = ["expected", "not_recorded", "recorded", "sent", "acknowledged", "failed", "waiting"]


class Command(BaseCommand):
    help = "Print a day's upward-reporting reconciliation (sent, acknowledged, failed)."

    def add_arguments(self, parser):
        parser.add_argument("--day", help="YYYY-MM-DD (default: yesterday)")
        parser.add_argument("--json", action="store_true", help="one JSON object")

    def handle(self, *args, **options):
        try:
            day = (
                date_parse(options["day"])
                if options["day"]
                else timezone.localdate() - datetime.timedelta(days=1)
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        rows = reconciliation(day)
        table = {row.kind: {name: getattr(row, name) for name in COLUMNS} for row in rows}
        if options["json"]:
            self.stdout.write(json.dumps({"day": day.isoformat(), "kinds": table}))
        else:
            self.stdout.write(f"{day:%Y-%m-%d}  " + "  ".join(COLUMNS))
            for kind, counts in table.items():
                self.stdout.write(f"{kind:<16}" + "  ".join(str(counts[c]) for c in COLUMNS))
        if settings.REPORTING_TRANSPORT == "off":
            self.stderr.write("reporting is off (REPORTING_TRANSPORT): nothing was sent")
            return
        if any(counts["failed"] or counts["not_recorded"] for counts in table.values()):
            raise SystemExit(1)
