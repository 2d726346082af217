"""The polled screens' server CPU, polled and pushed, per screen and minute.

    .venv/bin/python bench/push_cost.py [--database h_http_load] [--redis-db 7]
                                        [--polls 300] [--streams 20] [--seconds 130]

The database and accounts of bench/request_profile.py (made by it when missing, kept by
its `--reuse`). Starts, as docker-compose does, gunicorn (one sync worker) and the ASGI
process (uvicorn: langzhong_si.asgi, one process); then, for each browser screen that
polls (the call display's calls every 500 ms, the workbench's state card every 2 s, the
rating pad every 3 s, the inbox page's list every 5 s):

- polled: `--polls` unchanged polls sent to gunicorn one after the other; the worker's
  CPU per poll (read from the kernel), times the polls a minute: the server's CPU for one
  screen's minute while nothing changes;
- pushed: `--streams` streams of that screen held open on the ASGI process for
  `--seconds` with nothing changing but the clock (long enough for its minute to turn: a
  screen showing the clock is told then, asks the web for its new answer and opens its
  stream again, as the page does); the ASGI process's and the web worker's CPU over that
  time per stream and minute (opening, each poll asked, heartbeats, the minute's new
  answers: everything); with a full answer's CPU, and the polled minute's figure counts
  one for a screen showing the clock;
- then one change (the version the screen's ETag names moved, as a commit moves it):
  how long until each stream is told, p50 and slowest.

Not part of the test suite. Needs PostgreSQL and Redis at 127.0.0.1.
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import hall_load, request_profile  # noqa: E402 - after the path is set

WEB_PORT, EVENTS_PORT = request_profile.SERVER_PORT + 20, request_profile.SERVER_PORT + 21
# screen: (its poll's URL, seconds between polls)
SCREENS = {
    "call display's calls": ("/display/calls/", 0.5),
    "workbench state card": ("/counter/panel/?state={state}", 2),
    "rating pad": ("/rating/poll/", 3),
    "inbox page's list": ("/inbox/list/", 5),
}


# What the ASGI process is given beside the rest (--events-env NAME=VALUE adds): the
# bench's streams of one screen share one session or device, where each screen has its own.
EVENTS_ENV = {"PUSH_STREAMS_PER_HOLDER": "100000"}


def _uvicorn(env: dict, log: Path) -> subprocess.Popen:
    venv = Path(sys.executable).parent
    return subprocess.Popen(
        [str(venv / "uvicorn"), "langzhong_si.asgi:application", "--host", "127.0.0.1",
         "--port", str(EVENTS_PORT), "--no-access-log", "--no-proxy-headers", "--ws", "none"],
        cwd=ROOT, env={**env, **EVENTS_ENV}, start_new_session=True,
        stdout=open(log, "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )  # fmt: skip


def _process_seconds(pid: int) -> float:
    return request_profile._worker_seconds(pid)


def _cookies(session) -> str:
    return "; ".join(f"{name}={value}" for name, value in session.cookies.items())


def _stream_opened(poll: str, etag: str, cookies: str, timeout: float):
    """A screen's stream asked for (its answer not read yet)."""
    connection = http.client.HTTPConnection("127.0.0.1", EVENTS_PORT, timeout=timeout)
    connection.request(
        "GET", "/events/?" + urlencode({"poll": poll, "etag": etag}),
        headers={"Cookie": cookies, "Accept": "text/event-stream"},
    )  # fmt: skip
    return connection


class Stream(threading.Thread):
    """One screen, pushed: its stream held open; told `changed` (the clock's minute
    turned, say), it asks the web for the new answer as the page does and opens its
    stream again with the new ETag. `ready` is set once the first stream is; after
    `awaited` is set, the next `changed` is recorded (its time) and ends it."""

    def __init__(self, poll: str, etag: str, session, base: str):
        super().__init__(daemon=True)
        self.poll, self.etag, self.base = poll, etag, base
        self.session = session
        self.cookies = _cookies(session)
        self.ready, self.awaited, self.told = (
            threading.Event(),
            threading.Event(),
            threading.Event(),
        )
        self.told_at, self.refreshed, self.connection = None, 0, None

    def run(self):
        while True:
            self.connection = _stream_opened(self.poll, self.etag, self.cookies, 600)
            answer = self.connection.getresponse()
            if answer.status != 200:
                raise SystemExit(f"stream: HTTP {answer.status}")
            while line := answer.readline():
                if line == b"event: ready\n":
                    self.ready.set()
                elif line == b"event: changed\n":
                    break
            else:
                return  # closed by the bench
            if self.awaited.is_set():
                self.told_at = time.perf_counter()
                self.told.set()
                return
            self.refreshed += 1
            self.connection.close()
            fresh = self.session.get(self.base + self.poll, headers={"X-Poll": "1"})
            self.etag = fresh.headers["ETag"]

    def close(self):
        self.connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="h_http_load")
    parser.add_argument("--redis-db", type=int, default=7)
    parser.add_argument("--polls", type=int, default=300)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=130)
    parser.add_argument("--events-env", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    EVENTS_ENV.update(item.split("=", 1) for item in args.events_env)
    hall_load.DB = args.database
    hall_load.QUEUE = request_profile.QUEUE
    hall_load.REDIS.update(broker=args.redis_db, cache=args.redis_db)
    saved = ROOT / "var" / "load" / "request_profile_tokens.json"
    if saved.exists():
        env = hall_load.environment(hall_load.ADMIN_URL.rsplit("/", 1)[0] + f"/{args.database}")
        os.environ.update(env)
        import django

        django.setup()
    else:
        env = hall_load.environment(hall_load.recreate_database())
        os.environ.update(env)
        tokens = hall_load.set_up(request_profile.CLERKS, 0, 2)
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps(tokens))
    import requests
    from django.contrib.auth import get_user_model

    from langzhong_si.versions import TICKETS, user_key, versions_bump

    tokens = json.loads(saved.read_text())
    state, pad_credential = request_profile.panel_clerk()
    logs = ROOT / "var" / "load"
    web = request_profile._gunicorn(env, ROOT, WEB_PORT, logs / "push_cost_gunicorn.log")
    events = _uvicorn(env, logs / "push_cost_uvicorn.log")
    base = f"http://127.0.0.1:{WEB_PORT}"
    try:
        hall_load.answering(f"{base}/healthz", str(logs / "push_cost_gunicorn.log"))
        hall_load.answering(
            f"http://127.0.0.1:{EVENTS_PORT}/healthz", str(logs / "push_cost_uvicorn.log")
        )
        worker = request_profile._worker_of(web)
        reviewer = (
            get_user_model().objects.filter(groups__name="reviewer", is_active=True)
            .order_by("pk").first()
        )  # fmt: skip
        clerk = get_user_model().objects.get(username=request_profile.PANEL_CLERK)

        def signed_in(username: str) -> requests.Session:
            person = requests.Session()
            person.get(f"{base}/login/")
            person.post(f"{base}/login/", {"username": username, "password": hall_load.PASSWORD,
                        "csrfmiddlewaretoken": person.cookies["csrftoken"]})  # fmt: skip
            return person

        display, pad = requests.Session(), requests.Session()
        display.cookies.set("hall_device", tokens["display"])
        pad.cookies.set("hall_device", pad_credential)
        who = {
            "call display's calls": (display, TICKETS),
            "workbench state card": (signed_in(clerk.username), user_key(clerk.pk)),
            "rating pad": (pad, user_key(clerk.pk)),
            "inbox page's list": (signed_in(reviewer.username), user_key(reviewer.pk)),
        }
        print(f"{'screen':<24}{'every s':>8}{'polled: ms/poll':>17}{'ms/min':>8}"
              f"{'pushed: ms/min':>16}{'ratio':>7}{'told p50 ms':>13}{'slowest':>9}"
              f"{'full ms':>9}{'asked/min':>9}")  # fmt: skip
        for screen, (url, every) in SCREENS.items():
            url = url.format(state=state)
            session, version = who[screen]
            first = session.get(base + url, headers={"X-Poll": "1"})
            if first.status_code not in (200, 204) or "ETag" not in first.headers:
                raise SystemExit(f"{screen}: HTTP {first.status_code}, no ETag")
            headers = {"X-Poll": "1", "If-None-Match": first.headers["ETag"]}
            began = _process_seconds(worker)
            for _ in range(args.polls):
                answer = session.get(base + url, headers=headers)
                if answer.status_code != 304:
                    headers["If-None-Match"] = answer.headers["ETag"]  # the minute turned
            polled = (_process_seconds(worker) - began) / args.polls * 1000
            full_began = _process_seconds(worker)
            for _ in range(20):
                etag = session.get(base + url, headers={"X-Poll": "1"}).headers["ETag"]
            full = (_process_seconds(worker) - full_began) / 20 * 1000
            for _ in range(3):  # warm: the process's first asks of this screen (imports)
                warm = _stream_opened(url, etag, _cookies(session), 30)
                warm.getresponse().readline()
                warm.close()
            began = _process_seconds(events.pid) + _process_seconds(worker)
            started = time.perf_counter()
            streams = []
            for _ in range(args.streams):
                own = requests.Session()
                own.cookies.update(session.cookies)
                streams.append(Stream(url, etag, own, base))
            for stream in streams:
                stream.start()
            if not all(stream.ready.wait(30) for stream in streams):
                raise SystemExit(f"{screen}: a stream was not ready")
            time.sleep(max(0.0, args.seconds - (time.perf_counter() - started)))
            held = time.perf_counter() - started
            used = _process_seconds(events.pid) + _process_seconds(worker) - began
            pushed = used * 1000 / args.streams / (held / 60)
            refreshed = sum(stream.refreshed for stream in streams) / args.streams / (held / 60)
            for stream in streams:
                stream.awaited.set()
            moved = time.perf_counter()
            versions_bump(version)
            told = []
            for stream in streams:
                stream.told.wait(10)
                told.append(((stream.told_at or float("inf")) - moved) * 1000)
                stream.close()
            # A screen showing the clock also gets one full answer a minute when polled.
            clock = screen != "inbox page's list"
            per_minute = polled * 60 / every + (full if clock else 0)
            print(f"{screen:<24}{every:>8g}{polled:>17.2f}{per_minute:>8.1f}{pushed:>16.2f}"
                  f"{per_minute / pushed:>7.0f}{statistics.median(told):>13.1f}"
                  f"{max(told):>9.1f}{full:>9.2f}{refreshed:>9.2f}")  # fmt: skip
        print(f"(pushed: {args.streams} streams of each screen held {args.seconds} s; the ASGI "
              "process's CPU and the web worker's (a screen told of its clock's minute asks "
              "the web for the new answer: asked/min), opening and asking included; polled: "
              "the unchanged polls of a minute and, on a screen showing the clock, one full "
              "answer (full ms))")  # fmt: skip
    finally:
        for process in (web, events):
            os.killpg(process.pid, 15)
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
