"""Fault injection under load, then proof from the database and the audit log that
nothing was lost or doubled.

    .venv/bin/python bench/faults.py [--clerks 20] [--seconds 100]

Starts the production stack as bench/hall_load.py does and drives the hall through HTTP.
While it runs: Redis is stopped and started again, the Celery worker is killed with
SIGKILL (and started again), PostgreSQL is restarted. Afterwards, once the outbox sweep
and the draw retries have caught up, a checker proves:
- every called ticket was handed to exactly one clerk by exactly one draw;
- every step of every submitted case has exactly one live task, each drawn exactly once,
  and no task still waits for a draw;
- every case the API acknowledged (201) exists;
- every failed request failed cleanly: an error in the API's JSON shape or a refused
  connection, never a traceback;
- the audit chain verifies.
Exits non-zero if any check fails. Needs PostgreSQL and Redis at 127.0.0.1, and rights
to stop and start them (as on the CI machine).
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import hall_load  # noqa: E402

REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
]


def postgres_restart() -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        capture_output=True,
    )


def redis_stop() -> None:
    subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"], capture_output=True)


def redis_start() -> None:
    subprocess.run(REDIS_START, check=True, capture_output=True)


def worker_kill_and_restart(processes: list, env: dict) -> None:
    worker = processes[1]
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    venv = ROOT / ".venv" / "bin"
    processes[1] = subprocess.Popen(
        [str(venv / "celery"), "-A", "langzhong_si", "worker", "-Q", hall_load.QUEUE, "-c", "2",
         "--loglevel", "WARNING"],
        cwd=ROOT,
        env=env,
        stdout=open(ROOT / "var" / "load" / "worker-restarted.log", "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


class CleanFailures(hall_load.Recorder):
    """Also keeps every failure's body and every acknowledged case number."""

    def __init__(self):
        super().__init__()
        self.unclean: list[str] = []
        self.acknowledged: list[str] = []

    def timed(self, action, call):
        response = super().timed(action, call)
        if response is None:
            return None  # refused or dropped connection: clean from the citizen's side
        body = response.text
        if response.status_code >= 500 and (
            "Traceback" in body or not body.lstrip().startswith("{")
        ):
            self.unclean.append(f"{action}: {response.status_code} {body[:200]!r}")
        if action == "intake" and response.status_code == 201:
            self.acknowledged.append(response.json()["number"])
        return response


def settle(timeout: int = 180) -> None:
    """Wait for the beat sweeps to send what the outage left in the outbox and for the
    retries to draw what waited."""
    from django.db import connection

    from outbox.models import OutboxMessage
    from risk.models import ReviewTask

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection.close()
        pending = OutboxMessage.objects.filter(done_at__isnull=True).count()
        waiting = ReviewTask.objects.filter(status=ReviewTask.Status.AWAITING_DRAW).count()
        if not pending and not waiting:
            return
        time.sleep(5)


def check(recorder: CleanFailures) -> list[str]:
    from django.db import connection
    from django.db.models import Count, Q

    from audit.services import audit_log_verify
    from counters.models import Case, Ticket
    from counters.selectors import dispatch_series_problems
    from draws.models import Draw
    from risk.models import ReviewTask

    connection.close()
    problems = []
    called = Ticket.objects.exclude(status__in=[Ticket.Status.WAITING, Ticket.Status.CANCELLED])
    draws: dict[str, list] = {}
    for draw in Draw.objects.filter(purpose=Draw.Purpose.TICKET_DISPATCH).order_by("number"):
        draws.setdefault(draw.subject, []).append(draw)
    for ticket in called:
        # Its draws form dispatch rounds and its clerk is its last draw's choice
        # (counters.selectors.dispatch_series_problems, counters.services._hall_dispatch).
        series = draws.get(f"ticket:{ticket.pk}", [])
        found = dispatch_series_problems(
            series, clerk_id=ticket.clerk_id, requeued=ticket.requeue_count
        )
        for problem in found:
            problems.append(f"ticket {ticket.display_number}: {problem}")
        if ticket.clerk_id is None:
            problems.append(f"ticket {ticket.display_number}: called without a clerk")
    live = (
        ReviewTask.objects.exclude(status=ReviewTask.Status.EXPIRED)
        .values("case", "review_round", "step")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    problems += [f"case {row['case']} step {row['step']}: {row['n']} live tasks" for row in live]
    for task in ReviewTask.objects.filter(~Q(status=ReviewTask.Status.AWAITING_DRAW)):
        if task.draw_id is None:
            problems.append(f"task {task.pk}: assigned without a draw")
    waiting = ReviewTask.objects.filter(status=ReviewTask.Status.AWAITING_DRAW).count()
    if waiting:
        problems.append(f"{waiting} tasks still awaiting their draw")
    in_review_without_task = Case.objects.filter(status=Case.Status.IN_REVIEW).exclude(
        tasks__status__in=ReviewTask.OPEN_STATES
    )
    problems += [
        f"case {case.number}: in review with no open task" for case in in_review_without_task
    ]
    known = set(Case.objects.values_list("number", flat=True))
    problems += [
        f"case {number}: acknowledged but missing"
        for number in recorder.acknowledged
        if number not in known
    ]
    problems += [f"unclean failure: {line}" for line in recorder.unclean]
    broken = audit_log_verify()
    if broken is not None:
        problems.append(f"audit chain broken at {broken.position}")
    from outbox.models import OutboxMessage

    # The relay's successful sends are not counted; a refusal or a sweep's send is.
    retried = OutboxMessage.objects.filter(send_attempts__gt=0).count()
    print(
        f"The faults were felt: {retried} outbox messages needed the sweep; "
        f"{OutboxMessage.objects.count()} in all, every one done."
    )
    return problems


def main() -> None:
    import random

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clerks", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=100)
    args = parser.parse_args()

    url = hall_load.recreate_database()
    # A task lost with the killed worker is sent again by the sweep within the settling time.
    env = {**hall_load.environment(url), "OUTBOX_REDELIVER_SECONDS": "60"}
    os.environ.update(env)
    print(f"Setting up {args.clerks} clerks …")
    tokens = hall_load.set_up(args.clerks, 0, 2)
    processes = hall_load.start_stack(env, 2 * os.cpu_count() + 1)
    recorder, stop = CleanFailures(), threading.Event()
    threads = [
        threading.Thread(
            target=hall_load.clerk_loop,
            args=(n, token, tokens["items"], recorder, stop, random.Random(n)),  # noqa: S311
            daemon=True,
        )
        for n, token in tokens["clerks"]
    ] + [
        threading.Thread(target=hall_load.decider_loop, args=(token, recorder, stop), daemon=True)
        for token in tokens["deciders"][:10]
    ] + [
        threading.Thread(
            target=hall_load.kiosk_loop,
            args=(tokens["kiosk"], tokens["items"], args.clerks // 2, recorder, stop,
                  random.Random(0)),  # noqa: S311
            daemon=True,
        ),
        threading.Thread(
            target=hall_load.display_loop, args=(tokens["display"], stop, []), daemon=True
        ),
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    started = time.monotonic()
    span = args.seconds
    timeline = [
        (0.15 * span, "stop Redis", redis_stop),
        (0.30 * span, "start Redis", redis_start),
        (0.45 * span, "SIGKILL the Celery worker (and start it again)",
         lambda: worker_kill_and_restart(processes, env)),
        (0.65 * span, "restart PostgreSQL", postgres_restart),
    ]  # fmt: skip
    try:
        for at, label, action in timeline:
            time.sleep(max(0.0, started + at - time.monotonic()))
            print(f"  {time.strftime('%H:%M:%S')} {label}")
            action()
        time.sleep(max(0.0, started + span - time.monotonic()))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
        redis_start_if_down()
    print("Load stopped; waiting for the sweeps and retries to catch up …")
    settle()
    hall_load.stop_stack(processes)
    problems = check(recorder)
    served = len(recorder.acknowledged)
    errors = sum(recorder.errors.values())
    unclean = len(recorder.unclean)
    print(f"{served} cases acknowledged; {errors} requests failed, {unclean} of them uncleanly")
    if problems:
        print("FAULT RUN FAILED:")
        for problem in problems[:50]:
            print(f"  - {problem}")
        raise SystemExit(1)
    print("Fault run passed: every ticket assigned once, one draw per step, nothing lost, "
          "clean failures, the audit chain verifies.")  # fmt: skip


def redis_start_if_down() -> None:
    if subprocess.run(["redis-cli", "-p", "6379", "ping"], capture_output=True).returncode:
        redis_start()


if __name__ == "__main__":
    main()
