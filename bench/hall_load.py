"""The whole hall under load, through HTTP only, against the production stack.

    .venv/bin/python bench/hall_load.py [--clerks 200] [--seconds 60] [--level 2|0]
                                        [--existing 0] [--web-workers 5]

Creates the database `langzhong_load` (PostgreSQL), optionally pre-fills it with
`--existing` finished cases (bulk SQL, as bench/reports_1m.py), sets up N clerks at N
windows, 40 reviewers/approvers, a kiosk and a call display; starts gunicorn, a Celery
worker and beat on Redis; then drives the hall for `--seconds`: clerks loop ready →
intake → finish through the API (as integration accounts with API tokens), the kiosk
keeps the queue filled, reviewers and approvers (people: signed-in sessions) decide
their inbox, the call display polls. Then it prints one
table: complete cases per second (ticket issued → final decision), p50/p95/p99 per
action, draw latency, call-to-display latency, the audit chain's lag (commit → chained),
peak memory per process, and pgbench's TPS on the same server as the reference.

Accounting counts only what is its own: CPU of the processes it started (and of itself,
the load generator, shown apart) and of the PostgreSQL backends serving its database
(pg_stat_activity filtered by datname, sampled through the run), never another user's
backends; commits per case from pg_stat_database for its database; statements per case
from pg_stat_statements when the server has it (service-level counts: bench/peer.py);
lock waits sampled from pg_stat_activity every 0.2 s (which kind, how many backends).

Not part of the test suite. Needs PostgreSQL and Redis at 127.0.0.1 (as CI has).
"""

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = "langzhong_load"  # --database
ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
PASSWORD = "Load-test-pass-1"  # noqa: S105 - accounts of a throw-away benchmark database
QUEUE = "langzhong_load"


REDIS = {"broker": 5, "cache": 6}  # --redis-db puts both in one


def environment(url: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "langzhong_si.settings",
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{REDIS['broker']}",
        "CACHE_URL": f"redis://127.0.0.1:6379/{REDIS['cache']}",
        "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
        # Machines, not people, drive this hall: no second factor for approvers (they sign
        # in with the form), and throttles far above the load.
        "TWO_FACTOR_ROLES": "system_administrator",
        "API_DEVICE_RATE": "1000000/minute",
        "API_ANON_RATE": "1000000/minute",
        "LOG_LEVEL": "WARNING",
        "DATABASE_CONN_MAX_AGE": "60",
        "HALL_HOURS_ENFORCED": "false",  # a benchmark runs at any hour
    }


# --- set-up --------------------------------------------------------------------------------


def recreate_database() -> str:
    from bench.reports_1m import recreate_database as recreate

    return recreate(ADMIN_URL, DB)


def set_up(clerks: int, existing: int, level: int) -> dict:
    """Staff, windows, devices and tokens, through the services (and, for the existing
    cases only, bulk SQL)."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import override_settings

    from catalog.models import ServiceItem
    from counters.models import Queue, Window
    from devices.models import HallDevice
    from devices.services import hall_device_link_issue, hall_device_register
    from risk.services import qualification_grant
    from staff.roles import Role
    from staff.services import api_token_issue, staff_member_create

    call_command("migrate", verbosity=0)
    call_command("load_catalog", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    tokens = {"clerks": [], "deciders": []}
    # The clerks are integration accounts with API tokens (their passwords are never
    # used, and a slow hash would only slow set-up); the deciders sign in as people.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        system = staff_member_create(
            username="loadadmin",
            password=PASSWORD,
            display_name="系统管理员",
            employee_number="X0001",
            roles=[Role.SYSTEM_ADMINISTRATOR],
        )
        for n in range(1, clerks + 1):
            Window.objects.create(number=n, zone="综合受理区", queue=Queue.HALL)
            user = staff_member_create(
                username=f"clerk{n}",
                password=PASSWORD,
                display_name=f"柜员{n}",
                employee_number=f"G{n:04d}",
                roles=[Role.INTEGRATION, Role.CLERK],
            )
            tokens["clerks"].append((n, api_token_issue(user=user, issued_by=system)[1]))
    for n in range(1, 41):
        user = staff_member_create(
            username=f"decider{n}",
            password=PASSWORD,
            display_name=f"审核审批{n}",
            employee_number=f"S{n:04d}",
            roles=[Role.REVIEWER, Role.APPROVER],
        )
        for kind in ("review", "approval"):
            qualification_grant(user=user, kind=kind, level=3, reason="load test")
        tokens["deciders"].append(user.username)
    for kind, name in (("kiosk", "load kiosk"), ("display", "load display")):
        # Registered as a screen is: the credential is handed out once, never stored.
        device = HallDevice.objects.create(kind=kind, name=name)
        secret = hall_device_link_issue(device_id=device.pk, actor=None, reason="load test")
        tokens[kind] = hall_device_register(secret=secret).credential
    items = ServiceItem.objects.filter(at_counter=True, risk_level=level).prefetch_related(
        "materials"
    )
    tokens["items"] = [
        (item.pk, [m.pk for m in item.materials.all() if m.required]) for item in items
    ]
    if existing:
        from bench.reports_1m import fill

        fill(existing, busy_today=False)
    return tokens


# --- the stack -------------------------------------------------------------------------------


def start_stack(env: dict, web_workers: int, threads: int = 4) -> list[subprocess.Popen]:
    venv = Path(sys.executable).parent  # the environment this runs in
    logs = ROOT / "var" / "load"
    logs.mkdir(parents=True, exist_ok=True)

    def spawn(name, *command):
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=open(logs / f"{name}.log", "w"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    processes = [
        spawn(
            "gunicorn",
            str(venv / "gunicorn"),
            "langzhong_si.wsgi",
            "--workers",
            str(web_workers),
            "--threads",
            str(threads),
            "--keep-alive",
            "30",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--access-logfile",
            "-",
            "--access-logformat",
            "%(m)s %(U)s %(s)s %(M)s",
        ),
        spawn(
            "worker",
            str(venv / "celery"),
            "-A",
            "langzhong_si",
            "worker",
            "-Q",
            QUEUE,
            "-c",
            "2",
            "--loglevel",
            "WARNING",
        ),
        spawn(
            "beat",
            str(venv / "celery"),
            "-A",
            "langzhong_si",
            "beat",
            "--loglevel",
            "WARNING",
            "-s",
            str(logs / "beat-schedule"),
        ),
    ]
    answering(f"{BASE}/login/", "var/load/gunicorn.log")
    return processes


def answering(url: str, log: str) -> None:
    """Wait up to 20 s for `url` to answer 200 (a server just started)."""
    for _ in range(100):
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer; see {log}")


def peak_memory_mb(processes: list[subprocess.Popen]) -> dict[str, float]:
    """VmHWM (peak resident set) of each process and its children, in MB."""
    peaks = {}
    for name, process in zip(("web", "worker", "beat"), processes, strict=True):
        pids = [process.pid] + _children(process.pid)
        values = []
        for pid in pids:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            line = next(line for line in status.splitlines() if line.startswith("VmHWM"))
            values.append(int(line.split()[1]) / 1024)
        peaks[name] = max(values) if values else 0.0
    return peaks


def _children(pid: int) -> list[int]:
    try:
        output = subprocess.run(
            ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        return []
    return [int(value) for value in output.split()]


def _cpu_of(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


STACK = ("web", "worker", "beat")  # start_stack's processes, in its order


def stack_cpu_seconds(processes: list[subprocess.Popen]) -> dict[str, float]:
    """CPU used so far by each process this benchmark started (web, worker, beat, each
    with its children); never anyone else's processes."""
    return {
        name: sum(_cpu_of(pid) or 0.0 for pid in {process.pid, *_children(process.pid)})
        for name, process in zip(STACK, processes, strict=True)
    }


def statement_shape(query: str | None, width: int = 90) -> str:
    """A statement without its values and column lists, short enough to group by:
    'UPDATE "risk_dailyseed" SET … WHERE "day" = ?'."""
    import re

    text = re.sub(r"\s+", " ", query or "").strip()
    text = re.sub(r"'[^']*'", "?", text)
    text = re.sub(r"\b\d+\b", "?", text)
    text = re.sub(r"^SELECT .*? FROM", "SELECT … FROM", text)
    text = re.sub(r" IN \([?, ]+\)", " IN (…)", text)
    return text[:width]


class DatabaseSampler(threading.Thread):
    """Samples pg_stat_activity for this benchmark's database only (by datname, less its
    own connection): each backend's CPU (from /proc: PostgreSQL is on this machine), and
    what the active backends wait on."""

    def __init__(self, url: str, interval: float = 0.2):
        super().__init__(daemon=True)
        self.url, self.interval = url, interval
        self.stop = threading.Event()
        self.first_cpu: dict[int, float] = {}
        self.last_cpu: dict[int, float] = {}
        self.samples = 0
        self.waiting = defaultdict(int)  # "Lock:advisory" → backends waiting, summed
        self.samples_with = defaultdict(int)  # "Lock:advisory" → samples with any
        self.active = 0
        # (wait kind, waiting statement's shape) → backends waiting, summed over samples
        self.waiting_statements = defaultdict(int)
        # (holder's state, holder's last statement's shape) → times it blocked someone
        self.blockers = defaultdict(int)

    def run(self):
        import psycopg2

        connection = psycopg2.connect(self.url)
        connection.autocommit = True
        with connection.cursor() as cursor:
            while not self.stop.is_set():
                cursor.execute(
                    "SELECT pid, state, wait_event_type, wait_event, query, "
                    "pg_blocking_pids(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                rows = cursor.fetchall()
                self.samples += 1
                kinds = set()
                by_pid = {row[0]: row for row in rows}
                for pid, state, wait_type, wait_event, query, blockers in rows:
                    cpu = _cpu_of(pid)
                    if cpu is not None:
                        # A backend first seen mid-run started mid-run: count all of it.
                        self.first_cpu.setdefault(pid, cpu if self.samples == 1 else 0.0)
                        self.last_cpu[pid] = cpu
                    if state == "active":
                        self.active += 1
                    if wait_type == "Lock":
                        kind = f"{wait_type}:{wait_event}"
                        self.waiting[kind] += 1
                        kinds.add(kind)
                        # What waits, and on whom: the waiting statement names the row's
                        # table; the holders' state says whether they are working or
                        # idle in transaction (waiting for their own Python).
                        self.waiting_statements[(kind, statement_shape(query))] += 1
                        for blocker in blockers or []:
                            held = by_pid.get(blocker)
                            if held is not None:
                                self.blockers[(held[1], statement_shape(held[4]))] += 1
                for kind in kinds:
                    self.samples_with[kind] += 1
                self.stop.wait(self.interval)
        connection.close()

    def cpu_seconds(self) -> float:
        return sum(self.last_cpu[pid] - self.first_cpu[pid] for pid in self.last_cpu)


def database_counters(url: str) -> dict:
    """Commits of this database (pg_stat_database) and, if the server has
    pg_stat_statements, its statements."""
    import psycopg2

    connection = psycopg2.connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
        figures = {"commits": cursor.fetchone()[0], "statements": None}
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
        if cursor.fetchone():
            cursor.execute(
                "SELECT sum(calls) FROM pg_stat_statements "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            figures["statements"] = int(cursor.fetchone()[0] or 0)
    connection.close()
    return figures


def stop_stack(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


# --- the load ------------------------------------------------------------------------------------


class Recorder:
    def __init__(self):
        self.samples = defaultdict(list)
        self.errors = defaultdict(int)
        self.lock = threading.Lock()

    def reset(self) -> None:
        """Forget the warm-up's requests: the table covers the measured window only."""
        with self.lock:
            self.samples.clear()
            self.errors.clear()

    def timed(self, action: str, call):
        started = time.perf_counter()
        try:
            response = call()
        except requests.RequestException:
            with self.lock:
                self.errors[action] += 1
            return None
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.samples[action].append(elapsed)
            if response.status_code >= 500:
                self.errors[action] += 1
        return response


def intake_body(item: int, materials: list[int], first17: str) -> dict:
    """What the workbench sends for a case: an item, its materials, a valid ID number."""
    from langzhong_si.identity import id_number_check_char

    return {
        "item": item,
        "applicant_name": "压测",
        "id_number": first17 + id_number_check_char(first17),
        "received_material_ids": materials,
    }


def clerk_loop(number, token, items, recorder, stop, rng):
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    memo: dict = {}  # the workbench poll's last answer
    session.post(f"{BASE}/api/counter/sign-on/", json={"window": number}, timeout=WARMUP_SECONDS)
    WARMUP.signed_in.release()
    WARMUP.go.wait()
    window = None
    while not stop.is_set():
        if not window or window["state"] not in ("serving", "ready"):
            # Declared ready once (after signing on, or a pause): finishing leaves the
            # window ready, or already serving the next ticket, as at the workbench.
            state = recorder.timed("ready", lambda: session.post(f"{BASE}/api/counter/ready/"))
            if state is None or state.status_code != 200:
                time.sleep(0.2)
                continue
            window = state.json()["window"]
        while window and window["state"] != "serving" and not stop.is_set():
            time.sleep(2.0)  # the workbench's own polling interval
            polled = recorder.timed(
                "poll window", lambda: conditional_get(session, f"{BASE}/api/counter/", memo)
            )
            window = polled.json()["window"] if polled is not None and polled.ok else None
        if stop.is_set() or not window:
            break
        item, materials = rng.choice(items)
        birth = f"{rng.randrange(1950, 2000)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
        body = intake_body(item, materials, f"511381{birth}{rng.randrange(1, 999):03d}")
        recorder.timed(
            "intake", lambda body=body: session.post(f"{BASE}/api/counter/intake/", json=body)
        )
        finished = recorder.timed("finish", lambda: session.post(f"{BASE}/api/counter/finish/"))
        window = finished.json()["window"] if finished is not None and finished.ok else None


class WARMUP:
    """Clerks sign on and deciders sign in before the clock starts (the first requests
    also load each web process's code); then everyone starts at once."""

    signed_in = threading.Semaphore(0)
    go = threading.Event()


WARMUP_SECONDS = 300


# What the call display last showed: how many wait, per queue (the kiosks read it).
BOARD = {"waiting": 0}


def kiosk_loop(token, items, target_waiting, recorder, stop, rng, interval=None):
    """One of the hall's kiosks: citizens take tickets while fewer than `target_waiting`
    wait (so clerks are seldom idle, as in a busy hall); or, given `interval` (seconds),
    citizens arrive at that pace whatever the queue (`--arrivals`: an open hall, where a
    system slower than its citizens shows as a growing queue)."""
    session = requests.Session()
    session.headers["Authorization"] = f"Device {token}"
    WARMUP.go.wait()
    next_arrival = time.monotonic() + rng.uniform(0, interval or 0)
    while not stop.is_set():
        if interval is not None:
            next_arrival += rng.expovariate(1 / interval)  # arrivals at random, on average
            time.sleep(max(0.0, next_arrival - time.monotonic()))
        elif BOARD["waiting"] >= target_waiting:
            time.sleep(0.1)
            continue
        BOARD["waiting"] += 1  # until the display's next look
        body = {"item": rng.choice(items)[0]}
        recorder.timed(
            "kiosk ticket", lambda body=body: session.post(f"{BASE}/api/kiosk/tickets/", json=body)
        )


def conditional_get(session, url: str, memo: dict, **kwargs):
    """A poll as the screens make it: the last answer's ETag sent back; an unchanged
    answer (304, empty) stands for the last body."""
    headers = {"If-None-Match": memo["etag"], "X-Poll": "1"} if memo.get("etag") else {}
    response = session.get(url, headers=headers, **kwargs)
    if response.status_code == 304 and "body" in memo:
        response.status_code, response._content = 200, memo["body"]
    elif response.ok:
        memo["etag"], memo["body"] = response.headers.get("ETag"), response.content
    return response


def signed_in_session(username: str) -> requests.Session:
    """A person at their screen: signs in with the form, then sends the CSRF token with
    each API call (session authentication)."""
    session = requests.Session()
    session.get(f"{BASE}/login/", timeout=WARMUP_SECONDS)
    session.post(
        f"{BASE}/login/",
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        timeout=WARMUP_SECONDS,
    )
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]  # rotated at sign-in
    return session


def decider_loop(username, recorder, stop):
    session = signed_in_session(username)
    WARMUP.signed_in.release()
    WARMUP.go.wait()
    memo: dict = {}  # the inbox poll's last answer
    while not stop.is_set():
        inbox = recorder.timed(
            "inbox", lambda: conditional_get(session, f"{BASE}/api/inbox/tasks/", memo)
        )
        tasks = inbox.json() if inbox is not None and inbox.ok else []
        if not tasks:
            time.sleep(2.0)  # an inbox screen refreshes every few seconds
        for task in tasks:
            recorder.timed(
                "decide",
                lambda task=task: session.post(
                    f"{BASE}/api/inbox/tasks/{task['id']}/decision/", json={"decision": "approve"}
                ),
            )


def display_loop(token, stop, latencies):
    """Call-to-display latency: from a ticket's call to the display first showing it."""
    import datetime

    session = requests.Session()
    session.headers["Authorization"] = f"Device {token}"
    memo: dict = {}  # the display poll's last answer
    seen = set()
    WARMUP.go.wait()
    while not stop.is_set():
        try:
            board = conditional_get(session, f"{BASE}/api/display/", memo, timeout=5).json()
        except (requests.RequestException, ValueError):
            continue
        if "calls" not in board:  # an error answer (say, while the database restarts)
            time.sleep(0.5)
            continue
        calls = board["calls"]
        now = datetime.datetime.now(datetime.UTC)
        BOARD["waiting"] = board["waiting"].get("A", 0)
        for call in calls:
            key = (call["number"], call["called_at"])
            if key not in seen:
                seen.add(key)
                called = datetime.datetime.fromisoformat(call["called_at"])
                latencies.append((now - called).total_seconds() * 1000)
        time.sleep(0.5)


# --- measuring ---------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def database_figures(started_at, ended_at) -> dict:
    from django.db import connection
    from django.db.models import F

    from counters.models import Case, Ticket
    from risk.models import ReviewTask

    connection.close()
    final = Case.objects.filter(
        finished_at__gte=started_at, finished_at__lt=ended_at, status__in=["approved", "finished"]
    )
    draws = [
        (row.total_seconds() * 1000)
        for row in ReviewTask.objects.filter(
            created_at__gte=started_at, assigned_at__isnull=False
        ).values_list(F("assigned_at") - F("created_at"), flat=True)
    ]
    from audit.models import AuditEvent, Finding
    from inspection.rules import FINISHED

    events = AuditEvent.objects.filter(occurred_at__gte=started_at, occurred_at__lt=ended_at)
    lags = [
        lag.total_seconds() * 1000
        for lag in events.filter(chained_at__isnull=False).values_list(
            F("chained_at") - F("occurred_at"), flat=True
        )
    ]
    finished = dict(
        Case.objects.filter(
            finished_at__gte=started_at,
            finished_at__lt=ended_at,
            status__in=FINISHED,
        ).values_list("pk", "finished_at")
    )
    sampled = AuditEvent.objects.filter(
        event_type="audit.sampled", object_type="counters.case", occurred_at__gte=started_at
    ).values_list("object_id", "occurred_at")
    audit_lags = [
        (at - finished[int(case_id)]).total_seconds() * 1000
        for case_id, at in sampled
        if int(case_id) in finished
    ]
    return {
        "finished": len(finished),
        "audit_lags": audit_lags,
        "complete": final.count(),
        "tickets": Ticket.objects.filter(issued_at__gte=started_at, issued_at__lt=ended_at).count(),
        "taken_in": Case.objects.filter(
            accepted_at__gte=started_at, accepted_at__lt=ended_at
        ).count(),
        "waiting_at_end": Ticket.objects.filter(status="waiting").count(),
        "undecided_at_end": ReviewTask.objects.filter(status__in=ReviewTask.OPEN_STATES).count(),
        "draws": draws,
        "chain_lags": lags,
        "events": events.count(),
        "unchained": events.filter(position__isnull=True).count(),
        "keys_missing": Finding.objects.filter(rule="audit_key_missing").count(),
    }


def audit_append_cost(threads: int = 8, per_thread: int = 50) -> float:
    """Milliseconds per audit event with `threads` concurrent writers, each event in its
    own transaction (recording only; the sequencer chains them afterwards)."""
    from django.db import connection, transaction

    from audit.kinds import event_kinds_declare
    from audit.services import audit_event_record

    event_kinds_declare({"bench.append": "bench.append"})  # this benchmark's own kind

    def writer():
        for _ in range(per_thread):
            with transaction.atomic():
                audit_event_record(event_type="bench.append", data={"n": 1})
        connection.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=writer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return (time.perf_counter() - started) * 1000 / (threads * per_thread)


def pgbench_tps(seconds: int = 20) -> float:
    """TPC-B-like pgbench on the same server: the database's own limit as reference."""
    from bench.reports_1m import recreate_database as recreate

    recreate(ADMIN_URL, "langzhong_pgbench")
    args = ["-h", "127.0.0.1", "-U", "postgres"]
    subprocess.run(
        ["pgbench", *args, "-i", "-q", "-s", "10", "langzhong_pgbench"],
        check=True,
        capture_output=True,
    )
    output = subprocess.run(
        ["pgbench", *args, "-c", "16", "-j", "2", "-T", str(seconds), "langzhong_pgbench"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("tps"))
    return float(line.split("=")[1].split()[0])


def main() -> None:
    global DB
    import random

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clerks", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60, help="the measured window")
    parser.add_argument(
        "--warmup", type=int, default=30,
        help="seconds of load before the measured window (the chain of review and approval "
        "fills: without it, the window's first minute completes few cases)",
    )  # fmt: skip
    parser.add_argument(
        "--arrivals", type=float, default=None,
        help="citizens per second at the kiosks, whatever the queue (default: the kiosks "
        "keep half as many tickets waiting as there are clerks)",
    )  # fmt: skip
    parser.add_argument("--level", type=int, choices=[0, 1, 2, 3], default=2)
    parser.add_argument("--existing", type=int, default=0, help="finished cases already there")
    parser.add_argument("--web-workers", type=int, default=2 * os.cpu_count() + 1)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--no-pgbench", action="store_true")
    parser.add_argument("--database", default=DB, help="the benchmark's own database")
    parser.add_argument(
        "--redis-db", type=int, default=None, help="one Redis database for broker and cache"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the web and worker processes (pip install py-spy): var/load/*.txt",
    )
    args = parser.parse_args()
    if args.web_workers < 1 or args.threads < 1:
        parser.error("--web-workers and --threads take 1 or more")
    DB = args.database
    if args.redis_db is not None:
        REDIS.update(broker=args.redis_db, cache=args.redis_db)

    url = recreate_database()
    env = environment(url)
    os.environ.update(env)
    print(f"Setting up {args.clerks} clerks, 40 deciders, {args.existing:,} existing cases …")
    tokens = set_up(args.clerks, args.existing, args.level)
    processes = start_stack(env, args.web_workers, args.threads)
    recorder, stop, display_latencies = Recorder(), threading.Event(), []
    threads = [
        threading.Thread(
            target=clerk_loop,
            args=(n, token, tokens["items"], recorder, stop, random.Random(n)),  # noqa: S311
            daemon=True,
        )
        for n, token in tokens["clerks"]
    ]
    threads += [
        threading.Thread(target=decider_loop, args=(username, recorder, stop), daemon=True)
        for username in tokens["deciders"]
    ]
    kiosks = max(2, args.clerks // 20)
    if args.arrivals:
        # Each kiosk thread waits for its answer: enough of them that a slow answer (up to
        # four seconds) does not slow the arrivals down.
        kiosks = max(kiosks, int(4 * args.arrivals) + 1)
    interval = kiosks / args.arrivals if args.arrivals else None
    threads += [
        threading.Thread(
            target=kiosk_loop,
            args=(tokens["kiosk"], tokens["items"], args.clerks // 2, recorder, stop,
                  random.Random(100 + n), interval),  # noqa: S311
            daemon=True,
        )
        for n in range(kiosks)
    ]  # fmt: skip
    threads += [
        threading.Thread(
            target=display_loop, args=(tokens["display"], stop, display_latencies), daemon=True
        ),
    ]
    import datetime

    for thread in threads:
        thread.start()
    print(f"Signing on {len(tokens['clerks'])} clerks and {len(tokens['deciders'])} deciders …")
    deadline = time.monotonic() + WARMUP_SECONDS
    for _ in range(len(tokens["clerks"]) + len(tokens["deciders"])):
        if not WARMUP.signed_in.acquire(timeout=max(0.0, deadline - time.monotonic())):
            print("warning: not everyone signed on within the warm-up; measuring anyway")
            break
    arrivals = f"{args.arrivals:g} citizens/s" if args.arrivals else "the queue kept filled"
    print(
        f"Load ({arrivals}, level-{args.level} items): {args.warmup} s of warm-up, "
        f"then {args.seconds} s measured …"
    )
    WARMUP.go.set()
    time.sleep(args.warmup)
    recorder.reset()
    started_at = datetime.datetime.now(datetime.UTC)
    profilers = []
    if args.profile:
        for name, process in (("web", processes[0]), ("worker", processes[1])):
            profilers.append(
                subprocess.Popen(
                    [str(Path(sys.executable).parent / "py-spy"), "record",
                     "--pid", str(process.pid),
                     "--subprocesses", "--nonblocking", "--duration", str(args.seconds),
                     "--format", "raw", "--output", str(ROOT / "var" / "load" / f"{name}.txt")],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )  # fmt: skip
    sampler = DatabaseSampler(url)
    counters_before = database_counters(url)
    sampler.start()
    cpu_before, own_before = stack_cpu_seconds(processes), time.process_time()
    load_before = os.getloadavg()
    time.sleep(args.seconds)
    figures_load = (load_before, os.getloadavg())
    cpu_after = stack_cpu_seconds(processes)
    cpu_used = {name: cpu_after[name] - cpu_before[name] for name in STACK}
    own_used = time.process_time() - own_before
    sampler.stop.set()
    sampler.join()
    ended_at = datetime.datetime.now(datetime.UTC)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    for profiler in profilers:
        profiler.wait(timeout=60)
    memory = peak_memory_mb(processes)
    time.sleep(3)  # let the last draws land
    figures = database_figures(started_at, ended_at)
    stop_stack(processes)
    # After the stack has stopped: its backends have flushed their statistics.
    counters_after = database_counters(url)
    audit_ms = audit_append_cost()
    tps = None if args.no_pgbench else pgbench_tps()
    figures["load"] = figures_load
    figures["cpu"] = cpu_used
    figures["database_cpu"] = sampler.cpu_seconds()
    figures["generator_cpu"] = own_used
    figures["sampler"] = sampler
    figures["commits"] = counters_after["commits"] - counters_before["commits"]
    if counters_before["statements"] is not None:
        figures["statements"] = counters_after["statements"] - counters_before["statements"]
    report(args, recorder, figures, display_latencies, memory, audit_ms, tps)


def report(args, recorder, figures, display_latencies, memory, audit_ms, tps) -> None:
    rate = figures["complete"] / args.seconds
    print()
    print(
        f"{args.clerks} clerks, level-{args.level} mix, {args.seconds} s, "
        f"{args.existing:,} existing cases, {args.web_workers} web workers × {args.threads} threads"
    )
    print(
        "machine load average (1, 5, 15 min) at the start and end of the measured window: "
        + " → ".join(", ".join(f"{value:.1f}" for value in load) for load in figures["load"])
    )
    print(f"complete cases per second (issued → final decision): {rate:.1f}")
    print(
        f"in the window: tickets issued {figures['tickets']}, cases taken in "
        f"{figures['taken_in']}, cases completed {figures['complete']}, decisions "
        f"{len(recorder.samples.get('decide', []))}; at the end, tickets waiting "
        f"{figures['waiting_at_end']}, review and approval steps undecided "
        f"{figures['undecided_at_end']}"
        + (
            f" (arrivals {args.arrivals:g}/s: completions keep up with them when the "
            "hall copes; queues that grow mean it does not)"
            if args.arrivals
            else ""
        )
    )
    if figures["complete"]:
        complete = figures["complete"]
        stack, database = sum(figures["cpu"].values()), figures["database_cpu"]
        each = ", ".join(f"{name} {1000 * figures['cpu'][name] / complete:.0f}" for name in STACK)
        print(
            f"server CPU per complete case: {1000 * (stack + database) / complete:.0f} ms "
            f"(web, worker and beat {1000 * stack / complete:.0f} ms: {each}; this "
            f"database's backends {1000 * database / complete:.0f} ms); the load generator: "
            f"{1000 * figures['generator_cpu'] / complete:.0f} ms"
        )
        statements = figures.get("statements")
        print(
            f"per complete case: {figures['commits'] / complete:.1f} commits (pg_stat_database, "
            f"read-only transactions included), "
            + (
                f"{statements / complete:.0f} statements"
                if statements is not None
                else "statements: no pg_stat_statements here (see bench/peer.py)"
            )
        )
    sampler = figures["sampler"]
    if sampler.samples:
        waits = ", ".join(
            f"{kind} in {100 * sampler.samples_with[kind] / sampler.samples:.0f} % of samples "
            f"(mean {count / sampler.samples:.1f} backends)"
            for kind, count in sorted(sampler.waiting.items(), key=lambda item: -item[1])
        )
        print(
            f"lock waits ({sampler.samples} samples of pg_stat_activity, mean "
            f"{sampler.active / sampler.samples:.1f} active backends): {waits or 'none'}"
        )
        for title, counts in (
            ("waiting statements", sampler.waiting_statements),
            ("lock holders (state, last statement)", sampler.blockers),
        ):
            top = sorted(counts.items(), key=lambda item: -item[1])[:6]
            if top:
                print(f"  {title}, mean backends per sample:")
                for (first, shape), count in top:
                    print(f"    {count / sampler.samples:5.2f}  {first}  {shape}")
    lags = figures["chain_lags"]
    if lags:
        print(
            f"audit chain lag (event recorded → chained), {len(lags)} of {figures['events']} "
            f"events: p50 {percentile(lags, 0.5):.0f} ms, p99 {percentile(lags, 0.99):.0f} ms, "
            f"max {max(lags):.0f} ms; {figures['unchained']} still waiting at the end; "
            f"{figures['keys_missing']} missing-key findings"
        )
    audit_lags = figures["audit_lags"]
    if figures["finished"]:
        print(
            f"continuous audit (case finished → its sampling record): {len(audit_lags)} of "
            f"{figures['finished']} finished cases audited"
            + (
                f", p50 {percentile(audit_lags, 0.5):.0f} ms, p99 "
                f"{percentile(audit_lags, 0.99):.0f} ms, max {max(audit_lags):.0f} ms"
                if audit_lags
                else ""
            )
        )
    print(f"{'action':<16}{'count':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for action, values in sorted(recorder.samples.items()):
        print(
            f"{action:<16}{len(values):>8}{percentile(values, 0.5):>9.1f}"
            f"{percentile(values, 0.95):>9.1f}{percentile(values, 0.99):>9.1f}"
            f"{recorder.errors.get(action, 0):>8}"
        )
    for label, values in (("draw", figures["draws"]), ("call→display", display_latencies)):
        if values:
            print(
                f"{label:<16}{len(values):>8}{percentile(values, 0.5):>9.1f}"
                f"{percentile(values, 0.95):>9.1f}{percentile(values, 0.99):>9.1f}"
            )
    print(f"audit event recorded, 8 concurrent writers: {audit_ms:.2f} ms per event")
    print(
        "peak memory (MB, largest process): " + ", ".join(f"{k} {v:.0f}" for k, v in memory.items())
    )
    if tps:
        requests_per_second = sum(len(v) for v in recorder.samples.values()) / args.seconds
        print(
            f"pgbench TPC-B-like on the same server: {tps:.0f} TPS; the hall made "
            f"{requests_per_second:.0f} HTTP requests/s ({requests_per_second / tps:.2f} of it) "
            f"and {rate:.1f} complete cases/s"
        )
    print(f"statistics: mean intake {statistics.mean(recorder.samples.get('intake', [0])):.1f} ms")


if __name__ == "__main__":
    main()
