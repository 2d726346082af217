"""CPU and queries per hot HTTP request, in one process, as the hall sends them.

    .venv/bin/python bench/request_profile.py [--database h_http_load] [--redis-db 7]
                                              [--repeat 30] [--profile] [--top 25]
                                              [--server N [--against CHECKOUT]]

Sets up a throw-away database as bench/hall_load.py does (a few clerks with API tokens,
deciders who sign in with the form, a kiosk and a call display), starts one Celery
worker for the draws, then sends each of the hall's hot requests through Django's whole
WSGI stack (every middleware, authentication, throttles, rendering) with the test
client, `--repeat` times each, and prints per request kind: CPU milliseconds of this
process (median and p90) and SQL statements. The worker's CPU (draws, relays) is not
counted: it runs in its own process, as in the hall.

`--profile` runs the requests under cProfile and prints, per request kind, the
functions with the most cumulative time (`--top`): where a request's CPU goes.
`--dump DIR` keeps each kind's profile there as well (`DIR/<kind>.prof`, for pstats or
snakeviz).

The test client adds about 0.1–0.2 ms per request of its own (building the request,
recording templates); gunicorn's parsing is not counted there. `--server N` measures
that too: it starts gunicorn with sync workers, as docker-compose does (here one), sends
each unchanged poll (and /healthz, the cheapest request through every middleware) N
times over HTTP, one after the other, and prints the web worker's CPU per request, read
from the kernel: the server's whole cost of an answer. `--against CHECKOUT` serves
another checkout of this project (the last release's worktree, say) beside it, sends
the same requests to each in batches of 100, in turn, and prints both and their ratio:
two servers measured in the same moments of a machine whose speed wanders. Last, the
same gunicorn serving an app that answers an empty 304 and does nothing else: gunicorn's
own share of every figure (accepting, parsing, writing, closing). Not part of
the test suite. Needs PostgreSQL and Redis at 127.0.0.1.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import hall_load  # noqa: E402 - after the path is set

QUEUE = "request_profile"
CLERKS = 8
# The clerk at a browser counter (signed in with the form, at a window of their own):
# the workbench page polls its state card.
PANEL_CLERK = "panelclerk"
PANEL_WINDOW = 900


def panel_clerk() -> tuple[str, str]:
    """The browser clerk's window state, signed on (again, if a session of theirs ended
    and released the window) whenever asked: the workbench panel's URL carries it; and
    the credential of that window's rating pad (registered afresh each time)."""
    from django.contrib.auth import get_user_model

    from counters.models import Window
    from counters.services import window_sign_on
    from devices.models import HallDevice
    from devices.services import hall_device_link_issue, hall_device_register
    from staff.roles import Role
    from staff.services import staff_member_create

    clerk = get_user_model().objects.filter(username=PANEL_CLERK).first()
    if clerk is None:
        clerk = staff_member_create(
            username=PANEL_CLERK,
            password=hall_load.PASSWORD,
            display_name="柜员甲",
            employee_number="G0900",
            roles=[Role.CLERK],
        )
    window = Window.objects.filter(number=PANEL_WINDOW).first()
    if window is None:
        window = Window.objects.create(number=PANEL_WINDOW, zone="综合受理区")
    pad, _created = HallDevice.objects.get_or_create(kind="pad", window=window, name="load pad")
    secret = hall_device_link_issue(device_id=pad.pk, actor=None, reason="request profile")
    credential = hall_device_register(secret=secret).credential
    return window_sign_on(clerk=clerk, window_id=window.pk).state, credential  # once


class Meter:
    """CPU time and statements of each request, by kind."""

    def __init__(self, profile: bool, show_sql: bool = False, sort: str = "cumulative"):
        self.sort = sort
        self.show_sql = show_sql
        self.sql = {}
        self.cpu = defaultdict(list)
        self.queries = defaultdict(list)
        self.profiles = {} if profile else None
        self.statements = 0

    def count(self, execute, sql, params, many, context):
        self.statements += 1
        if self.show_sql:
            self.current.append(sql[:160])
        return execute(sql, params, many, context)

    def send(self, kind: str, call):
        from django.db import connection

        profiler = None
        if self.profiles is not None:
            # CPU time, as the table: waiting for PostgreSQL or Redis is not the request's CPU.
            profiler = self.profiles.setdefault(kind, cProfile.Profile(time.process_time))
        self.statements, self.current = 0, []
        with connection.execute_wrapper(self.count):
            began = time.process_time()
            if profiler:
                profiler.enable()
            response = call()
            if profiler:
                profiler.disable()
            used = time.process_time() - began
        if response.status_code >= 400:
            raise SystemExit(f"{kind}: HTTP {response.status_code} {response.content[:300]!r}")
        self.sql[kind] = self.current
        self.cpu[kind].append(used * 1000)
        self.queries[kind].append(self.statements)
        return response

    def report(self, top: int, dump: Path | None = None) -> None:
        print(f"{'request':<26}{'n':>5}{'CPU ms p50':>12}{'p90':>8}{'queries':>9}")
        for kind, values in self.cpu.items():
            ordered = sorted(values)
            p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
            queries = statistics.median(self.queries[kind])
            print(
                f"{kind:<26}{len(values):>5}{statistics.median(values):>12.2f}{p90:>8.2f}"
                f"{queries:>9g}"
            )
        for kind, statements in self.sql.items() if self.show_sql else ():
            print(f"\n----- {kind}: the last one's statements -----")
            print("\n".join(statements))
        for kind, profiler in (self.profiles or {}).items():
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(self.sort).print_stats(top)
            print(f"\n===== {kind} =====")
            print(out.getvalue())
            if dump is not None:
                dump.mkdir(parents=True, exist_ok=True)
                profiler.dump_stats(dump / f"{kind.replace(' ', '_')}.prof")


def start_worker(env: dict) -> subprocess.Popen:
    venv = Path(sys.executable).parent
    logs = ROOT / "var" / "load"
    logs.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [str(venv / "celery"), "-A", "langzhong_si", "worker", "-Q", QUEUE, "-c", "1",
         "--loglevel", "WARNING"],
        cwd=ROOT, env=env, start_new_session=True,
        stdout=open(logs / "request_profile_worker.log", "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )  # fmt: skip


def run(meter: Meter, tokens: dict, repeat: int) -> None:
    from django.test import Client

    def client(**headers) -> Client:
        # As the hall sends them: CSRF enforced for the people's sessions.
        return Client(enforce_csrf_checks=True, headers=headers)

    kiosk = client(authorization=f"Device {tokens['kiosk']}")
    display = client(authorization=f"Device {tokens['display']}")
    # The browser's screens: the call display (its credential in a cookie) and a clerk's
    # workbench (a session).
    screen = client()
    screen.cookies["hall_device"] = tokens["display"]
    state, pad_credential = panel_clerk()
    pad = client()
    pad.cookies["hall_device"] = pad_credential
    clerks = [
        (number, client(authorization=f"Token {token}")) for number, token in tokens["clerks"]
    ]
    for number, clerk in clerks:
        clerk.post("/api/counter/sign-on/", {"window": number}, content_type="application/json")
    deciders: dict[str, Client] = {}

    def signed_in(username: str) -> Client:
        person = client()
        person.get("/login/")
        person.post(
            "/login/",
            {"username": username, "password": hall_load.PASSWORD,
             "csrfmiddlewaretoken": person.cookies["csrftoken"].value},
        )  # fmt: skip
        return person

    def decider(username: str) -> Client:
        """A person at their inbox, signed in with the form (once)."""
        if username not in deciders:
            deciders[username] = signed_in(username)
        return deciders[username]

    counter = signed_in(PANEL_CLERK)  # a clerk at a browser counter

    items = tokens["items"]
    poll = {"X-Poll": "1"}

    def conditional(kind: str, who: Client, url: str):
        first = meter.send(kind + " (200)", lambda: who.get(url))
        if "ETag" not in first.headers:  # answered in full every time
            meter.send(kind + " (no ETag)", lambda: who.get(url, headers=poll))
            return first
        etag = first.headers["ETag"]
        meter.send(kind + " (304)", lambda: who.get(url, headers={"If-None-Match": etag, **poll}))
        return first

    serial = 0
    windows = {number: clerk.get("/api/counter/").json()["window"] for number, clerk in clerks}
    for round_ in range(repeat):
        for number, clerk in clerks:
            item, materials = items[(round_ + number) % len(items)]
            meter.send(
                "kiosk ticket",
                lambda item=item: kiosk.post(
                    "/api/kiosk/tickets/", {"item": item}, content_type="application/json"
                ),
            )
            window = windows[number]
            if not window or window["state"] not in ("serving", "ready"):
                # Finishing leaves the window ready (or already serving the next ticket).
                window = meter.send(
                    "ready", lambda clerk=clerk: clerk.post("/api/counter/ready/")
                ).json()["window"]
            # The workbench polls while it waits (measured for every clerk, serving or not).
            polled = conditional("poll window", clerk, "/api/counter/").json()["window"]
            if window["state"] != "serving":
                window = polled
            windows[number] = window
            if window["state"] != "serving":
                continue
            serial += 1
            body = hall_load.intake_body(item, materials, f"51138119800101{serial % 1000:03d}")
            meter.send(
                "intake",
                lambda clerk=clerk, body=body: clerk.post(
                    "/api/counter/intake/", body, content_type="application/json"
                ),
            )
            windows[number] = meter.send(
                "finish", lambda clerk=clerk: clerk.post("/api/counter/finish/")
            ).json()["window"]
        conditional("display", display, "/api/display/")
        conditional("display screen", screen, "/display/calls/")
        conditional("workbench panel", counter, f"/counter/panel/?state={state}")
        conditional("rating pad", pad, "/rating/poll/")
        # The inboxes of those the worker's draws named (sign-in is not measured).
        for username in holders_of_open_tasks():
            person = decider(username)
            tasks = conditional("inbox", person, "/api/inbox/tasks/").json()
            conditional("inbox page list", person, "/inbox/list/")
            csrf = {"X-CSRFToken": person.cookies["csrftoken"].value}
            for task in tasks:
                meter.send(
                    "decide",
                    lambda person=person, task=task, csrf=csrf: person.post(
                        f"/api/inbox/tasks/{task['id']}/decision/",
                        {"decision": "approve"},
                        content_type="application/json",
                        headers=csrf,
                    ),
                )


SERVER_PORT = 8766


def _gunicorn(
    env: dict, root: Path, port: int, log: Path, app: str = "langzhong_si.wsgi"
) -> subprocess.Popen:
    venv = Path(sys.executable).parent
    return subprocess.Popen(
        [str(venv / "gunicorn"), app, "--workers", "1", "--bind", f"127.0.0.1:{port}"],
        cwd=root, env=env, start_new_session=True,
        stdout=open(log, "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )  # fmt: skip


def _worker_of(server: subprocess.Popen) -> int:
    children = subprocess.run(["pgrep", "-P", str(server.pid)],
                              capture_output=True, text=True, check=True)  # fmt: skip
    return int(children.stdout.split()[0])


def _worker_seconds(worker: int) -> float:
    fields = Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _empty_app(environ, start_response):
    """gunicorn's own cost: an app that answers an empty 304 to a request naming its
    ETag (200, empty, to any other: the start-up check)."""
    named = environ.get("HTTP_IF_NONE_MATCH") == '"floor"'
    start_response("304 Not Modified" if named else "200 OK", [("ETag", '"floor"')])
    return [b""]


def floor_cpu(env: dict, count: int) -> float:
    """The web worker's CPU per request of an app that does nothing (_empty_app), under
    the same gunicorn: the part of every answer no change to this project can take away
    (accepting the connection, parsing, writing, closing)."""
    import requests

    log = ROOT / "var" / "load" / "request_profile_gunicorn_floor.log"
    server = _gunicorn(env, ROOT, SERVER_PORT + 9, log, app="bench.request_profile:_empty_app")
    try:
        base = f"http://127.0.0.1:{SERVER_PORT + 9}/"
        hall_load.answering(base, str(log))
        worker, sender = _worker_of(server), requests.Session()
        began = _worker_seconds(worker)
        for _ in range(count):
            sender.get(base, headers={"If-None-Match": '"floor"'})
        return (_worker_seconds(worker) - began) / count * 1000
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def server_cpu(env: dict, tokens: dict, count: int, against: Path | None = None) -> None:
    """The web worker's CPU per unchanged poll (and per /healthz), under gunicorn; with
    `against` (another checkout of this project), that checkout's worker beside it, the
    batches sent to one then the other in turn (the first of each pair alternating), so
    that both meet the machine's same moments."""
    import redis
    import requests

    logs = ROOT / "var" / "load"
    state, pad_credential = panel_clerk()
    roots = {"this": ROOT} | ({"against": against} if against else {})
    servers, bases, workers = {}, {}, {}
    try:
        for at, (label, root) in enumerate(roots.items()):
            log = logs / f"request_profile_gunicorn_{label}.log"
            servers[label] = _gunicorn(env, root, SERVER_PORT + at, log)
            bases[label] = f"http://127.0.0.1:{SERVER_PORT + at}"
        for label, server in servers.items():
            log = logs / f"request_profile_gunicorn_{label}.log"
            hall_load.answering(f"{bases[label]}/healthz", str(log))
            workers[label] = _worker_of(server)

        def worker_seconds(label: str) -> float:
            return _worker_seconds(workers[label])

        # The throttles keep each sender's requests of the last minute; a screen polls every
        # few seconds, this loop hundreds of times a second: its history is cut back to
        # what a screen's would be, between batches (not counted: the worker's CPU only).
        throttles = redis.Redis.from_url(env["CACHE_URL"])

        def forget_throttles() -> None:
            keys = list(throttles.scan_iter("*throttle_*"))
            if keys:
                throttles.delete(*keys)

        from django.contrib.auth import get_user_model

        username = (
            get_user_model().objects.filter(groups__name="reviewer", is_active=True)
            .order_by("pk").values_list("username", flat=True).first()
        )  # fmt: skip

        def signed_in(base: str, username: str) -> requests.Session:
            person = requests.Session()
            person.get(f"{base}/login/")
            person.post(f"{base}/login/", {"username": username, "password": hall_load.PASSWORD,
                        "csrfmiddlewaretoken": person.cookies["csrftoken"]})  # fmt: skip
            return person

        def senders(base: str) -> dict:
            clerk = requests.Session()
            clerk.headers["Authorization"] = f"Token {tokens['clerks'][0][1]}"
            display = requests.Session()
            display.headers["Authorization"] = f"Device {tokens['display']}"
            screen = requests.Session()
            screen.cookies.set("hall_device", tokens["display"])
            pad = requests.Session()
            pad.cookies.set("hall_device", pad_credential)
            return {"healthz": requests.Session(), "poll window (304)": clerk,
                    "display (304)": display, "inbox (304)": signed_in(base, username),
                    "display screen (304)": screen,
                    "workbench panel (304)": signed_in(base, PANEL_CLERK),
                    "inbox page list (304)": signed_in(base, username),
                    "rating pad (304)": pad}  # fmt: skip

        who = {label: senders(base) for label, base in bases.items()}
        print(f"\nUnder gunicorn (one sync worker each), {count} requests each, one at a time"
              + (f", beside {against} (batches of 100 in turn):" if against else ":"))  # fmt: skip
        columns = f"{'request':<26}{'worker CPU ms':>14}{'wall ms':>9}"
        if against:
            columns += f"{'against: CPU ms':>17}{'wall ms':>9}{'ratio':>7}"
        print(columns)
        for kind, url in (
            ("healthz", "/healthz"),
            ("poll window (304)", "/api/counter/"),
            ("display (304)", "/api/display/"),
            ("inbox (304)", "/api/inbox/tasks/"),
            # What the browsers ask: the call display every 500 ms, the workbench every 2 s.
            ("display screen (304)", "/display/calls/"),
            ("workbench panel (304)", f"/counter/panel/?state={state}"),
            ("inbox page list (304)", "/inbox/list/"),  # every 5 s
            ("rating pad (304)", "/rating/poll/"),  # every 3 s
        ):
            headers, expected, serving = {}, {}, dict(bases)
            for label, base in bases.items():
                headers[label], expected[label] = {"X-Poll": "1"}, 200
                if kind != "healthz":
                    first = who[label][kind].get(base + url)
                    if first.status_code == 404 and label == "against":
                        del serving[label]  # an older checkout without this screen
                        continue
                    if first.status_code not in (200, 204):  # the pad: nothing to rate
                        raise SystemExit(f"{label} {kind}: HTTP {first.status_code}")
                    if "ETag" in first.headers:  # an older checkout may answer in full
                        headers[label]["If-None-Match"] = first.headers["ETag"]
                        expected[label] = 304
            used = dict.fromkeys(bases, 0.0)
            wall = dict.fromkeys(bases, 0.0)
            changed = dict.fromkeys(bases, 0)
            for number, batch in enumerate(range(0, count, 100)):
                order = list(serving) if number % 2 == 0 else list(reversed(serving))
                for label in order:
                    forget_throttles()
                    began, cpu_began = time.perf_counter(), worker_seconds(label)
                    for _ in range(min(100, count - batch)):
                        answer = who[label][kind].get(bases[label] + url, headers=headers[label])
                        if answer.status_code in (200, 204) and expected[label] == 304:
                            # Moved on meanwhile (the worker finishing the draws of the
                            # requests measured before): counted, and polled from there.
                            headers[label]["If-None-Match"] = answer.headers["ETag"]
                            changed[label] += 1
                        elif answer.status_code != expected[label]:
                            raise SystemExit(f"{label} {kind}: HTTP {answer.status_code}")
                    used[label] += worker_seconds(label) - cpu_began
                    wall[label] += time.perf_counter() - began
            line = (
                f"{kind:<26}{used['this'] / count * 1000:>14.2f}{wall['this'] / count * 1000:>9.2f}"
            )
            if against and "against" not in serving:
                line += f"{'(none there)':>17}"
            elif against:
                line += (f"{used['against'] / count * 1000:>17.2f}"
                         f"{wall['against'] / count * 1000:>9.2f}"
                         f"{used['this'] / (used['against'] or float('nan')):>7.2f}")  # fmt: skip
            full = [label for label in serving if kind != "healthz" and expected[label] == 200]
            if full:
                line += f"  (no ETag, answered in full: {', '.join(full)})"
            if any(changed.values()):
                line += (
                    "  (answered in full: "
                    + ", ".join(f"{label} {times}" for label, times in changed.items() if times)
                    + ")"
                )
            print(line)
        print(f"{'gunicorn alone':<26}{floor_cpu(env, count):>14.2f}"
              "  (an app answering an empty 304: what no change here can take away)")  # fmt: skip
    finally:
        for server in servers.values():
            os.killpg(server.pid, 15)
            server.wait(timeout=30)


def holders_of_open_tasks() -> list[str]:
    from risk.models import ReviewTask

    time.sleep(0.3)  # the worker's draws of this round
    return sorted(
        set(
            ReviewTask.objects.filter(status=ReviewTask.Status.OPEN).values_list(
                "assignee__username", flat=True
            )
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="h_http_load")
    parser.add_argument("--redis-db", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="cumulative", help="pstats order: cumulative, tottime")
    parser.add_argument("--sql", action="store_true", help="print each kind's statements")
    parser.add_argument("--dump", type=Path, help="with --profile: keep each kind's profile here")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the database and accounts of the last run"
    )
    parser.add_argument(
        "--server", type=int, default=0, metavar="N",
        help="also send each unchanged poll N times to gunicorn: the worker's CPU per answer",
    )  # fmt: skip
    parser.add_argument(
        "--against", type=Path, metavar="CHECKOUT",
        help="with --server: another checkout of this project served beside this one, "
        "the same requests to each in turn (say, the last release's worktree)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.against and not args.server:
        parser.error("--against compares the servers of --server: give both")
    if args.dump and not args.profile:
        parser.error("--dump keeps the profiles of --profile: give both")
    hall_load.DB = args.database
    hall_load.QUEUE = QUEUE
    hall_load.REDIS.update(broker=args.redis_db, cache=args.redis_db)
    saved = ROOT / "var" / "load" / "request_profile_tokens.json"
    if args.reuse and saved.exists():
        env = hall_load.environment(hall_load.ADMIN_URL.rsplit("/", 1)[0] + f"/{args.database}")
        os.environ.update(env)
        import django

        django.setup()
        tokens = json.loads(saved.read_text())
    else:
        env = hall_load.environment(hall_load.recreate_database())
        os.environ.update(env)
        tokens = hall_load.set_up(CLERKS, 0, 2)
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps(tokens))
    worker = start_worker(env)
    try:
        meter = Meter(args.profile, args.sql, args.sort)
        run(meter, tokens, 2)  # warm-up: imports, URL resolver, templates, connections
        meter = Meter(args.profile, args.sql, args.sort)
        run(meter, tokens, args.repeat)
        meter.report(args.top, args.dump)
        if args.server:
            server_cpu(env, tokens, args.server, args.against)
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)


if __name__ == "__main__":
    main()
