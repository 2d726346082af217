import datetime
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from evaluation.periods import Period
from evaluation.selectors import period_report
from simulation.hall import HallSimulation


class Command(BaseCommand):
    help = (
        "Run a realistic hall over a period through the real services (tickets, random "
        "dispatch, intake, notices, draws, decisions, ratings, audits), then print the "
        "period's report figures. Seeds the demo hall first if it is empty."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="last", required=True, help="last day, YYYY-MM-DD")
        parser.add_argument("--seed", type=int, default=1, help="fixes the citizens' behaviour")
        parser.add_argument(
            "--daily-tickets", type=int, default=125, help="average tickets per working day"
        )

    def handle(self, *args, first, last, seed, daily_tickets, **options):
        try:
            period = Period(datetime.date.fromisoformat(first), datetime.date.fromisoformat(last))
        except ValueError as error:
            raise CommandError("dates are written YYYY-MM-DD") from error
        if period.last < period.first:
            raise CommandError("--to is before --from")
        call_command("seed_demo", stdout=self.stdout)
        started = time.monotonic()
        summary = HallSimulation(
            first=period.first,
            last=period.last,
            seed=seed,
            daily_tickets=daily_tickets,
            log=lambda line: self.stdout.write(f"  simulating {line}"),
        ).run()
        self.stdout.write(
            f"Simulated {summary.working_days} working days in "
            f"{time.monotonic() - started:.0f} s: {dict(sorted(summary.counts.items()))}"
        )
        report = period_report(period, today=period.last + datetime.timedelta(days=60))
        cases, ratings = report["cases"], report["ratings"]
        self.stdout.write(
            self.style.SUCCESS(
                f"{period}: {report['tickets']['issued']} tickets, "
                f"{cases['accepted']} cases accepted, "
                f"{cases['final_in_time']} finished on the spot or within the limit, "
                f"{cases['overdue']} overdue, {cases['forwarded']} forwarded to the back office, "
                f"one-visit rate {report['one_visit']['rate']}%, "
                f"satisfaction {ratings['satisfaction_rate']}% of {ratings['total']} ratings"
            )
        )
