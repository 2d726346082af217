import datetime
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from evaluation.periods import Period
from evaluation.selectors import period_report
from simulation.hall import HallSimulation
from simulation.report import site_breakdown


def _site_weights(text: str) -> dict[str, float] | None:
    """ "hall=70,qili=15,jiangnan=15" (site codes of the home agency; relative weights)."""
    if not text:
        return None
    weights = {}
    for part in text.split(","):
        code, _sep, weight = part.partition("=")
        try:
            weights[code.strip()] = float(weight)
        except ValueError as error:
            raise CommandError("--site-weights is written code=weight,code=weight") from error
        if weights[code.strip()] < 0:
            raise CommandError("a site's weight is not negative")
    return weights


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
        parser.add_argument(
            "--site-weights",
            default="",
            help="relative arrivals per site code, e.g. hall=70,qili=15,jiangnan=15"
            " (default: the hall 70, the stations share the rest)",
        )

    def handle(self, *args, first, last, seed, daily_tickets, site_weights, **options):
        try:
            period = Period(datetime.date.fromisoformat(first), datetime.date.fromisoformat(last))
        except ValueError as error:
            raise CommandError("dates are written YYYY-MM-DD") from error
        if period.last < period.first:
            raise CommandError("--to is before --from")
        call_command("seed_demo", stdout=self.stdout)
        started = time.monotonic()
        try:
            simulation = HallSimulation(
                first=period.first,
                last=period.last,
                seed=seed,
                daily_tickets=daily_tickets,
                site_weights=_site_weights(site_weights),
                log=lambda line: self.stdout.write(f"  simulating {line}"),
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        summary = simulation.run()
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
        self.stdout.write("By site:")
        for row in site_breakdown(period, agency_id=simulation.agency_id):
            wait = "—" if row["average_wait"] is None else f"{row['average_wait']} min"
            rate = "—" if row["satisfaction_rate"] is None else f"{row['satisfaction_rate']}%"
            self.stdout.write(
                f"  {row['site'].name}: {row['tickets']} tickets, average wait {wait}, "
                f"{row['cases_accepted']} cases accepted, {row['forwarded']} forwarded, "
                f"{row['ratings']} ratings ({row['bad_ratings']} bad), satisfaction {rate}"
            )
