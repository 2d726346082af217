"""A real Celery worker process for tests, on its own queue, reading the test database."""

import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

from langzhong_si.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@contextmanager
def private_queue():
    """Route this test's tasks to a queue no other worker listens to."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    try:
        yield queue
    finally:
        celery_app.conf.task_default_queue = previous


@contextmanager
def celery_worker(tmp_path: Path, *, queue: str | None = None, name: str = "worker", **env_extra):
    """Start `celery worker` as a child process consuming a queue private to this test."""
    with (
        private_queue() if queue is None else _same(queue) as queue,
        _worker_process(tmp_path, queue, name, env_extra) as process,
    ):
        yield process


@contextmanager
def _same(value):
    yield value


@contextmanager
def _worker_process(tmp_path: Path, queue: str, name: str, env_extra: dict):
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "PYTHONUNBUFFERED": "1",
        # The worker commits draw seeds too: their files stay out of the checkout's var/.
        "DRAW_COMMITMENT_DIR": str(tmp_path / "draw-commitments"),
        **env_extra,
    }
    log = (tmp_path / f"{name}.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "langzhong_si",
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-Q",
            queue,
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


@contextmanager
def broker(url: str):
    """Point this process's Celery app at another broker for the duration."""
    previous = os.environ.get("CELERY_BROKER_URL", "")
    os.environ["CELERY_BROKER_URL"] = url  # for the worker processes started meanwhile
    _reset_connections(url)
    try:
        yield
    finally:
        os.environ["CELERY_BROKER_URL"] = previous
        _reset_connections(previous)


def _reset_connections(url: str) -> None:
    # Celery caches its connection and producer pools; drop them so the new URL is used.
    celery_app.conf.broker_url = url
    celery_app.conf.broker_write_url = url
    celery_app.conf.broker_read_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def redis_server(port: int, tmp_path: Path):
    """A throw-away Redis on its own port, so a test can stop it without touching others."""
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(lambda: _port_open(port), timeout=10, what=f"redis on {port}")
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def _port_open(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def log_count(tmp_path: Path, name: str, needle: str) -> int:
    path = tmp_path / f"{name}.log"
    return path.read_text().count(needle) if path.exists() else 0


def wait_until(predicate, *, timeout: float = 30.0, interval: float = 0.2, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
