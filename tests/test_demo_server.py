"""README's first command serves the demo with the production WSGI server: the web command
of scripts/demo.sh is run here as written (on a free port, against the test database) and
answers the sign-in page and a static file, compressed and cacheable, without Django's
development server."""

import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests import worker

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "scripts" / "demo.sh"


def _web_command() -> list[str]:
    """The script's last command (the web server, in the foreground), continuations joined."""
    text = DEMO.read_text().replace("\\\n", " ")
    commands = [line.strip() for line in text.splitlines()]
    commands = [line for line in commands if line and not line.startswith(("#", "echo"))]
    return shlex.split(commands[-1])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _get(url: str, **headers):
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http://127.0.0.1 only
        return opener.open(request, timeout=30)
    except urllib.error.HTTPError as response:  # 3xx and 4xx come back as errors
        return response


def test_the_demo_script_serves_the_web_with_gunicorn_not_runserver():
    command = _web_command()
    assert command[0] == ".venv/bin/gunicorn" and command[1] == "langzhong_si.wsgi"
    assert "runserver" not in DEMO.read_text()
    assert "collectstatic" in DEMO.read_text()


@pytest.mark.django_db(transaction=True)
def test_the_demo_web_command_serves_pages_and_static_files(tmp_path):
    port = _free_port()
    command = _web_command()
    arguments = command[2:]
    arguments[arguments.index("--bind") + 1] = f"127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": worker.test_database_url(),
        "STATIC_ROOT": str(tmp_path / "static"),
        "PYTHONUNBUFFERED": "1",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT, env=env, check=True, timeout=120,
    )  # fmt: skip
    log = (tmp_path / "gunicorn.log").open("w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", command[1], *arguments],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                home = _get(f"{base}/")
                break
            # Refused before gunicorn binds; timed out while its worker still loads the
            # project (the master accepts first) on a busy machine.
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert server.poll() is None and time.monotonic() < deadline, "did not start"
                time.sleep(0.3)
        assert home.status == 302 and home.headers["Location"].startswith("/login/")
        login = _get(f"{base}/login/")
        page = login.read().decode()
        assert login.status == 200 and 'name="password"' in page
        stylesheet = re.search(r'href="(/static/[^"]+\.css)"', page).group(1)
        static = _get(f"{base}{stylesheet}", **{"Accept-Encoding": "gzip"})
        assert static.status == 200
        assert static.headers["Content-Encoding"] == "gzip"
        assert "max-age" in static.headers["Cache-Control"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    log.seek(0)
    output = log.read()
    assert "Booting worker" in output
    assert "development server" not in output
