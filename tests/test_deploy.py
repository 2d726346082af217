import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_deploy_check_is_clean_under_production_settings():
    env = {
        **os.environ,
        "LANGZHONG_PRODUCTION": "true",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "hall.example.org",
        "DEBUG": "false",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_the_development_secret_key():
    env = {**os.environ, "LANGZHONG_PRODUCTION": "true"}
    env.pop("SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def _django(code: str, **env) -> subprocess.CompletedProcess:
    """`code` run after django.setup() in a process of its own, with `env` set."""
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=ROOT,
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "langzhong_si.settings", **env},
    )  # fmt: skip


def _printed(code: str, **env) -> str:
    result = _django(code, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _setting(name: str, **env) -> str:
    return _printed(f"from django.conf import settings; print(settings.{name})", **env)


def test_sessions_are_remembered_only_in_a_cache_every_process_shares():
    assert _setting("SESSION_CACHE_SECONDS", CACHE_URL="redis://127.0.0.1:6379/9") == "30"
    assert _setting("SESSION_CACHE_SECONDS", CACHE_URL="") == "0"
    # Each process's own cache: a sign-out in one would leave the copy in the others.
    assert _setting("SESSION_CACHE_SECONDS", CACHE_URL="", SESSION_CACHE_SECONDS="30") == "0"


def test_a_file_cache_is_shared_by_the_processes_of_one_machine(tmp_path):
    """The embedded default (scripts/demo.sh) runs two web workers and a Celery worker: a
    poll version one of them moves is the version the others answer with."""
    folder = f"file://{tmp_path / 'cache'}"
    versions = "from langzhong_si.versions import _bump, version_of; "
    moved = _printed(
        versions + "version_of('tickets'); _bump(['tickets']); print(version_of('tickets'))",
        CACHE_URL=folder,
    )
    assert _printed(versions + "print(version_of('tickets'))", CACHE_URL=folder) == moved


def test_a_cache_address_of_another_kind_is_refused():
    result = _django("", CACHE_URL="memcached://127.0.0.1:11211")
    assert result.returncode != 0 and "CACHE_URL" in result.stderr
