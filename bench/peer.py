"""This project's level-2 chain against django-viewflow's, at service level, same database.

    pip install '.[bench]'     # django-viewflow, for this benchmark only
    .venv/bin/python bench/peer.py [--cases 200] [--repetitions 3] [--chunk 10]
                                   [--database langzhong_peer]

Creates the PostgreSQL database, migrates it with viewflow's tables added
(bench/peer_settings.py), then runs `--repetitions` times each, alternating every
`--chunk` cases (10: both meet the same moments of a shared machine, whose speed varies
by a third from minute to minute): N complete
level-2 cases through this project's services (ticket issued and called → intake →
finished at the counter → review drawn and decided → approval drawn and decided; the
draws run inline, as the worker would; the continuous audit's drain runs every 10 cases
and the audit sequencer chains every 50, their cost included) and N through viewflow
(bench/peer_flow.py: start → intake handle → review
→ approval, each person drawn at random). One process, one connection, one case at a
time. It prints, per run, cases per second, CPU per case (this process plus its
PostgreSQL backend, read from /proc), SQL statements and commits per case, and the ratio.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PASSWORD = "Peer-bench-pass-1"  # noqa: S105 - accounts of a throw-away benchmark database


_READS = ("SELECT", "SAVEPOINT", "RELEASE", "SET")
# The continuous audit's drain runs after every this many cases: in the hall a commit's
# nudge runs it DRAIN_NUDGE_SECONDS (0.5 s) later, for what finished meanwhile: 10 cases
# at 20 a second.
DRAIN_EVERY = 10


class Counter:
    """Statements and commits on Django's connection: savepoints count as statements; a
    commit is a transaction's COMMIT, or a write outside a transaction (its own commit);
    a read outside a transaction writes nothing and is not counted as one (a prepared
    statement's EXECUTE is judged by the text it was prepared with)."""

    def __init__(self, connection):
        self.connection = connection
        self.statements = self.commits = 0
        original = connection._commit

        def commit():
            self.commits += 1
            return original()

        connection._commit = commit

    def __call__(self, execute, sql, params, many, context):
        self.statements += 1
        if not self.connection.in_atomic_block and not self._reads(sql):
            self.commits += 1
        return execute(sql, params, many, context)

    def _reads(self, sql: str) -> bool:
        words = sql.split(None, 2)
        if words and words[0].upper() == "EXECUTE" and len(words) > 1:
            name = words[1].split("(", 1)[0]
            prepared = getattr(self.connection, "prepared_statements", {}).get(name)
            return prepared is not None and prepared.lstrip().upper().startswith(_READS)
        return sql.lstrip().upper().startswith(_READS)


def cpu_seconds(backend_pid: int) -> float:
    """This process's CPU plus its PostgreSQL backend's (same machine)."""
    ticks = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{backend_pid}/stat").read_text().rsplit(")", 1)[1].split()
    return time.process_time() + (int(fields[11]) + int(fields[12])) / ticks


def set_up(deciders: int = 10) -> dict:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test.utils import override_settings

    from catalog.models import ServiceItem
    from counters.models import Queue, Window
    from draws.services import daily_seeds_ensure
    from risk.services import qualification_grant
    from staff.roles import Role
    from staff.services import staff_member_create

    call_command("migrate", verbosity=0)
    call_command("load_catalog", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        window = Window.objects.create(number=1, zone="综合受理区", queue=Queue.HALL)
        clerk = staff_member_create(
            username="peer-clerk", password=PASSWORD, display_name="柜员",
            employee_number="G0001", roles=[Role.CLERK],
        )  # fmt: skip
        for n in range(1, deciders + 1):
            user = staff_member_create(
                username=f"peer-decider{n}", password=PASSWORD, display_name=f"审核审批{n}",
                employee_number=f"S{n:04d}", roles=[Role.REVIEWER, Role.APPROVER],
            )  # fmt: skip
            for kind in ("review", "approval"):
                qualification_grant(user=user, kind=kind, level=3, reason="peer bench")
    from counters.services import window_declare_ready, window_sign_on

    window_sign_on(clerk=clerk, window_id=window.pk)
    window_declare_ready(clerk=clerk)
    daily_seeds_ensure()
    item = (
        ServiceItem.objects.filter(at_counter=True, risk_level=2)
        .prefetch_related("materials")
        .first()
    )
    materials = {m.pk for m in item.materials.all() if m.required}
    users = get_user_model().objects
    return {
        "clerk": users.get(pk=clerk.pk),
        # The people deciding, loaded once: in the hall each request arrives with its
        # user (the session's); viewflow's side decides with no user object at all.
        "deciders": {user.pk: user for user in users.filter(username__startswith="peer-decider")},
        "window": window,
        "item": item,
        "materials": materials,
    }


def id_numbers():
    from langzhong_si.identity import id_number_check_char

    n = 0
    while True:
        n += 1
        first17 = f"511381{1950 + n % 50}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
        yield first17 + id_number_check_char(first17)


def project_case(hall: dict, id_number: str) -> None:
    from cases.services import case_accept
    from counters import services
    from inbox.services import review_task_decide
    from risk.models import ReviewTask

    clerk = hall["clerk"]
    # The window is ready: declared once at set-up, and again by each finish. The ticket
    # names its site, as every channel of the hall does (the kiosk's own).
    services.ticket_issue(item=hall["item"], site_id=hall["window"].site_id)
    case = case_accept(
        clerk=clerk, item_id=hall["item"].pk, applicant_name="王大山", id_number=id_number,
        received_material_ids=hall["materials"],
    )  # fmt: skip
    services.ticket_finish(clerk=clerk)
    for step in (1, 2):
        # What the drawn person's inbox request carries: the task's id (its address) and
        # the person. Found by its case and step, one query, as viewflow's side finds
        # its task (it loads the whole task: its activation needs it; ours, the id).
        task_id, assignee_id = ReviewTask.objects.values_list("pk", "assignee_id").get(
            case=case, step=step, status=ReviewTask.Status.OPEN
        )
        review_task_decide(task_id=task_id, actor=hall["deciders"][assignee_id], decision="approve")


def viewflow_case(hall: dict, id_number: str) -> None:
    from django.db import transaction
    from viewflow.workflow.status import STATUS

    from bench.peer_flow import HallChainFlow

    with transaction.atomic():
        process = HallChainFlow.start.run(item_id=hall["item"].pk, clerk_id=hall["clerk"].pk)
    intake = process.task_set.get(flow_task=HallChainFlow.intake, status=STATUS.NEW)
    with transaction.atomic():
        HallChainFlow.intake.run(
            intake, applicant_name="王大山", id_number=id_number,
            materials=sorted(hall["materials"]),
        )  # fmt: skip
    for node in (HallChainFlow.review, HallChainFlow.approval):
        task = process.task_set.get(flow_task=node, status=STATUS.ASSIGNED)
        with transaction.atomic(), HallChainFlow.lock(process.pk):
            activation = node.activation_class(task)
            activation.start(None)
            activation.execute()


def measure(
    totals: dict, run_case, hall: dict, cases: int, numbers, chain: int | None, tail=False
) -> None:
    """Run `cases` cases and add their wall time, CPU, statements and commits to
    `totals`. `chain`: the project's count of cases so far, to run the audit sequencer
    after every 50th and the continuous audit's drain after every DRAIN_EVERY (None:
    viewflow's cases, which have neither); `tail`: and both once more at the end, for
    what is left."""
    from django.db import connections

    from audit.chain import audit_chain_all
    from inspection.rules import case_audits_drain

    connection = connections["default"]
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    counter = Counter(connection)
    cpu_before, started = cpu_seconds(backend), time.perf_counter()
    with connection.execute_wrapper(counter):
        for n in range(cases):
            run_case(hall, next(numbers))
            if chain is not None and (chain + n + 1) % DRAIN_EVERY == 0:
                case_audits_drain()
            if chain is not None and (chain + n + 1) % 50 == 0:
                audit_chain_all()
        if tail:
            case_audits_drain()
            audit_chain_all()
    totals["wall"] += time.perf_counter() - started
    totals["cpu"] += cpu_seconds(backend) - cpu_before
    totals["cases"] += cases
    totals["statements"] += counter.statements
    totals["commits"] += counter.commits
    del connection._commit  # the class's own again


def repetition_run(hall: dict, cases: int, chunk: int, numbers) -> dict[str, dict]:
    """One repetition: `cases` cases each, the two alternating every `chunk` cases so
    that both meet the same moments of a shared machine; the project's run ends with
    the sequencer chaining what is left (its cost included)."""
    totals = {
        label: dict.fromkeys(("wall", "cpu", "cases", "statements", "commits"), 0)
        for label in ("viewflow", "project")
    }
    done = 0
    while done < cases:
        n = min(chunk, cases - done)
        measure(totals["viewflow"], viewflow_case, hall, n, numbers, chain=None)
        measure(
            totals["project"], project_case, hall, n, numbers, chain=done,
            tail=done + n >= cases,
        )  # fmt: skip
        done += n
    return {
        label: {
            "label": label,
            "rate": row["cases"] / row["wall"],
            "cpu_ms": 1000 * row["cpu"] / row["cases"],
            "statements": row["statements"] / row["cases"],
            "commits": row["commits"] / row["cases"],
        }
        for label, row in totals.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument(
        "--chunk", type=int, default=10, help="cases run by one before the other's turn"
    )
    parser.add_argument("--database", default="langzhong_peer")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args()

    from bench.reports_1m import recreate_database

    os.environ.update(
        {
            "DATABASE_URL": recreate_database(args.admin_url, args.database),
            "DJANGO_SETTINGS_MODULE": "bench.peer_settings",
            # The draws run inline after each commit, as the worker would run them.
            "CELERY_TASK_ALWAYS_EAGER": "true",
            "TWO_FACTOR_ROLES": "system_administrator",
            "HALL_HOURS_ENFORCED": "false",  # a benchmark runs at any hour
            "LOG_LEVEL": "WARNING",
            # Draw commitments of a throw-away database, not the checkout's var/.
            "LANGZHONG_VAR_DIR": tempfile.mkdtemp(prefix="peer-bench-"),
        }
    )
    import django

    django.setup()
    import audit.chain

    # The hall's sequencer runs from beat, in batches; here every 50 cases (measured),
    # not inline after every commit as the eager nudge would.
    audit.chain.audit_chain_nudge = lambda: None
    import outbox.services

    # Likewise the continuous audit's drain: every DRAIN_EVERY cases (measured), not
    # inline after every finishing commit as the eager nudge would run it.
    outbox.services.outbox_drain_nudge = lambda drain: None
    print(f"Setting up {args.database} …")
    hall = set_up()
    numbers = id_numbers()
    for warm in (project_case, viewflow_case):  # imports, plans and caches
        for _ in range(5):
            warm(hall, next(numbers))
    print(
        f"{args.cases} level-2 cases each per repetition, one at a time, the two "
        f"alternating every {args.chunk} cases:"
    )
    print(f"{'run':<14}{'cases/s':>9}{'CPU ms/case':>13}{'statements':>12}{'commits':>9}")
    results = {"project": [], "viewflow": []}
    for repetition in range(1, args.repetitions + 1):
        rows = repetition_run(hall, args.cases, args.chunk, numbers)
        for label in ("viewflow", "project"):
            row = rows[label]
            results[label].append(row)
            print(
                f"{label + ' #' + str(repetition):<14}{row['rate']:>9.1f}{row['cpu_ms']:>13.1f}"
                f"{row['statements']:>12.1f}{row['commits']:>9.1f}"
            )
    ours, theirs = results["project"], results["viewflow"]
    ratios = sorted(a["rate"] / b["rate"] for a, b in zip(ours, theirs, strict=True))
    cpu = sorted(b["cpu_ms"] / a["cpu_ms"] for a, b in zip(ours, theirs, strict=True))
    print(
        f"throughput ratio project/viewflow per repetition: "
        f"{', '.join(f'{r:.2f}' for r in ratios)} (median {ratios[len(ratios) // 2]:.2f}×); "
        f"CPU per case viewflow/project: {', '.join(f'{r:.2f}' for r in cpu)}"
    )


if __name__ == "__main__":
    main()
