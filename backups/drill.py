"""`manage.py restore_drill BUNDLE`: restore a bundle into a scratch database and a
scratch media folder and prove it whole.

The checks on the restored copy run in a child process (`restore_drill_check`) whose
database and media folder *are* the scratch ones, so they are the project's ordinary
code (migrations, `audit_log_verify`, the storage, the key ring) and not a second
implementation. The child gets this process's configured keys; nothing is read from
the bundle that could stand in for them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg2
from django.conf import settings
from django.db import connection, transaction

from audit.models import AuditEvent
from audit.services import audit_event_record, audit_heads_directory
from backups.bundle import (
    MANIFEST,
    SQLITE_COPY,
    SUMS,
    BackupError,
    file_sha256,
    pg_environment,
    pg_tool,
)
from backups.events import BACKUP_MADE, RESTORE_DRILL_FAILED, RESTORE_DRILL_PASSED
from langzhong_si.checks import Check

CHILD_TIMEOUT_SECONDS = 3600


@dataclass(frozen=True)
class DrillResult:
    bundle: str
    checks: list[Check]

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]


@dataclass(frozen=True)
class Recorded:
    occurred_at: object
    passed: bool


def backup_last() -> Recorded | None:
    event = (
        AuditEvent.objects.filter(event_type=BACKUP_MADE)
        .order_by("-id")
        .values("occurred_at")
        .first()
    )
    return Recorded(event["occurred_at"], True) if event else None


def restore_drill_last() -> Recorded | None:
    event = (
        AuditEvent.objects.filter(event_type__in=[RESTORE_DRILL_PASSED, RESTORE_DRILL_FAILED])
        .order_by("-id")
        .values("occurred_at", "event_type")
        .first()
    )
    if event is None:
        return None
    return Recorded(event["occurred_at"], event["event_type"] == RESTORE_DRILL_PASSED)


def _bundle_checksums(bundle: Path) -> tuple[Check, dict | None]:
    sums = bundle / SUMS
    if not sums.is_file() or not (bundle / MANIFEST).is_file():
        return Check("bundle", False, f"{bundle.name} has no {MANIFEST} or {SUMS}"), None
    wrong = []
    listed = 0
    for line in sums.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        listed += 1
        path = bundle / name
        if not path.is_file():
            wrong.append(f"{name} missing")
        elif file_sha256(path) != digest:
            wrong.append(f"{name} changed")
    manifest = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
    if wrong:
        detail = f"{len(wrong)} of {listed} files differ from {SUMS}: " + ", ".join(wrong[:5])
        return Check("bundle", False, detail), manifest
    return Check("bundle", True, f"{listed} files match {SUMS}"), manifest


def drill_server() -> dict:
    """Where the scratch database is made: DRILL_DATABASE_URL (a maintenance role that may
    create databases, on a scratch server) or else the application's own server and role."""
    if settings.DRILL_DATABASE:
        return dict(settings.DRILL_DATABASE)
    return {**connection.settings_dict, "NAME": "postgres"}


def _maintenance_connection(server: dict):
    admin = psycopg2.connect(
        dbname=server.get("NAME") or "postgres",
        user=server.get("USER") or None,
        password=server.get("PASSWORD") or None,
        host=server.get("HOST") or None,
        port=server.get("PORT") or None,
    )
    admin.autocommit = True
    return admin


def _scratch_postgresql(bundle: Path, manifest: dict, name: str) -> tuple[Check, str]:
    """Restore the dump into database `name` (created afresh); returns its URL."""
    server = drill_server()
    admin = _maintenance_connection(server)
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()
    done = subprocess.run(  # noqa: S603 - fixed program, our own arguments
        [
            pg_tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--no-password",
            f"--dbname={name}",
            str(bundle / manifest["database"]["file"]),
        ],
        env=pg_environment(server),
        capture_output=True,
        text=True,
        check=False,
    )
    user = quote(server.get("USER") or "", safe="")
    password = f":{quote(server['PASSWORD'], safe='')}" if server.get("PASSWORD") else ""
    host = server.get("HOST") or "localhost"
    port = server.get("PORT") or 5432
    url = f"postgres://{user}{password}@{host}:{port}/{name}"
    if done.returncode != 0:
        return Check("restore", False, f"pg_restore failed: {done.stderr.strip()[:300]}"), url
    return Check("restore", True, f"restored into database {name}"), url


def _drop_postgresql(name: str) -> None:
    admin = _maintenance_connection(drill_server())
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        admin.close()


def scratch_database_name() -> str:
    return settings.RESTORE_DRILL_DATABASE or f"{connection.settings_dict['NAME']}_restore_drill"


def _child_environment(database_url: str, scratch: Path) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(scratch / "media"),
        "LANGZHONG_VAR_DIR": str(scratch / "var"),
        "DRAW_COMMITMENT_DIR": str(scratch / "draw-commitments"),
        "CELERY_BROKER_URL": "memory://",
        "CACHE_URL": "",
        "PROMETHEUS_MULTIPROC_DIR": "",
        # The configured keys: the drill proves *they* open the restored data.
        "SECRET_KEY": settings.SECRET_KEY,
        "PERSONAL_DATA_KEY": settings.PERSONAL_DATA_KEY,
        "PERSONAL_DATA_OLD_KEYS": ",".join(settings.PERSONAL_DATA_OLD_KEYS),
        "PERSONAL_DATA_HASH_KEY": settings.PERSONAL_DATA_HASH_KEY,
    }


def _manage(arguments: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - this project's manage.py
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECONDS,
        check=False,
        cwd=settings.BASE_DIR,
    )


def restore_drill_run(
    *, bundle: Path | str, migrate: bool = False, keep: bool = False
) -> DrillResult:
    """Restore `bundle` into scratch copies and check them; nothing is recorded."""
    bundle = Path(bundle)
    checks: list[Check] = []
    integrity, manifest = _bundle_checksums(bundle) if bundle.is_dir() else (
        Check("bundle", False, f"{bundle} is not a bundle folder"), None
    )  # fmt: skip
    checks.append(integrity)
    if manifest is None:
        return DrillResult(bundle.name, checks)
    if manifest.get("database", {}).get("vendor") != connection.vendor:
        vendor = manifest.get("database", {}).get("vendor")
        checks.append(Check("restore", False, f"a {vendor} bundle cannot be drilled here"))
        return DrillResult(bundle.name, checks)
    scratch = Path(tempfile.mkdtemp(prefix="restore-drill-"))
    database_name = None
    try:
        if connection.vendor == "postgresql":
            database_name = scratch_database_name()
            try:
                restored, url = _scratch_postgresql(bundle, manifest, database_name)
            except (psycopg2.Error, BackupError) as error:
                # E.g. the application's role may not create databases: a failed drill,
                # recorded as one, never a task that dies unrecorded.
                database_name = None
                detail = f"cannot create the scratch database: {str(error).strip()[:200]}"
                checks.append(Check("restore", False, detail))
                return DrillResult(bundle.name, checks)
        else:
            copy = scratch / "db.sqlite3"
            shutil.copyfile(bundle / SQLITE_COPY, copy)
            restored, url = Check("restore", True, "copied the SQLite file"), f"sqlite:///{copy}"
        checks.append(restored)
        if not restored.ok:
            return DrillResult(bundle.name, checks)
        shutil.copytree(bundle / "media", scratch / "media", dirs_exist_ok=True)
        env = _child_environment(url, scratch)
        if migrate:
            done = _manage(["migrate", "--no-input"], env)
            checks.append(
                Check("migrate", done.returncode == 0, (done.stderr or "applied").strip()[-300:])
            )
        live_heads = audit_heads_directory()
        done = _manage(
            [
                "restore_drill_check",
                f"--bundle={bundle.resolve()}",
                f"--live-heads-dir={live_heads}",
                f"--key-sample={settings.RESTORE_DRILL_KEY_SAMPLE}",
                *(["--migrated"] if migrate else []),
            ],
            env,
        )
        try:
            checks += [Check(**row) for row in json.loads(done.stdout)]
        except (ValueError, TypeError):
            checks.append(Check("checks", False, f"could not run: {done.stderr.strip()[-500:]}"))
        return DrillResult(bundle.name, checks)
    finally:
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)
            if database_name:
                _drop_postgresql(database_name)


def restore_drill_record(result: DrillResult) -> None:
    with transaction.atomic(durable=True):
        audit_event_record(
            event_type=RESTORE_DRILL_PASSED if result.passed else RESTORE_DRILL_FAILED,
            outcome=AuditEvent.Outcome.SUCCESS if result.passed else AuditEvent.Outcome.FAILURE,
            data={
                "bundle": result.bundle,
                "checks": {
                    check.name: {"ok": check.ok, "detail": check.detail} for check in result.checks
                },
            },  # fmt: skip
        )


def bundle_latest(directory: Path | str | None = None) -> Path | None:
    folder = Path(directory or settings.BACKUP_DIR)
    if not folder.is_dir():
        return None
    bundles = sorted(path for path in folder.glob("langzhong-*") if path.is_dir())
    return bundles[-1] if bundles else None


def restore_drill_latest() -> DrillResult:
    """Beat's weekly drill: the newest bundle, recorded either way."""
    bundle = bundle_latest()
    if bundle is None:
        result = DrillResult("", [Check("bundle", False, f"no bundle in {settings.BACKUP_DIR}")])
    else:
        result = restore_drill_run(bundle=bundle)
    restore_drill_record(result)
    return result
