"""`manage.py backup`: a dated, checksummed bundle of everything a restore needs except
the keys.

A bundle is a folder `langzhong-YYYYMMDD-HHMMSS/`:
- `database.dump` (PostgreSQL, pg_dump's custom format) or `database.sqlite3` (SQLite,
  through sqlite3's online backup API);
- `media/` (scans and other uploads), `audit-heads/` and `draw-commitments/` (the files
  kept off the database that verify it);
- `manifest.json`: when, which database, the applied migrations, every table's row
  count in the dumped snapshot, the audit chain's head, and every file's SHA-256;
- `SHA256SUMS` over every file including the manifest (`sha256sum -c SHA256SUMS`).

The keys (SECRET_KEY, PERSONAL_DATA_KEY, PERSONAL_DATA_OLD_KEYS, PERSONAL_DATA_HASH_KEY)
are never written into it: they live in the deployment's secret store, and a bundle
without them shows no ID number. The bundle still holds names and scans: it is written
readable by its owner only.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.chain import audit_chain_all
from audit.services import audit_chain_head, audit_event_record, audit_heads_directory
from backups.events import BACKUP_MADE

FORMAT = 1
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
PG_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"


class BackupError(RuntimeError):
    pass


@dataclass(frozen=True)
class Bundle:
    path: Path
    manifest: dict


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def pg_tool(name: str) -> str:
    """The full path of a PostgreSQL client program (pg_dump, pg_restore)."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (PostgreSQL's client programs)")
    return path


def pg_environment(settings_dict: dict) -> dict:
    """libpq's variables for a database of DATABASES (the password never on a command line)."""
    env = {**os.environ}
    for variable, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER")):
        if settings_dict.get(key):
            env[variable] = str(settings_dict[key])
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    return env


def _dump_postgresql(target: Path) -> tuple[dict[str, int], list[list[str]]]:
    """pg_dump of one snapshot, and the row counts and migrations of that same snapshot."""
    raw = connection.get_new_connection(connection.get_connection_params())
    try:
        raw.autocommit = False
        with raw.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "ORDER BY tablename"
            )
            tables = [row[0] for row in cursor.fetchall()]
            counts = {}
            for table in tables:
                cursor.execute(f"SELECT count(*) FROM {_quote(table)}")  # noqa: S608 - catalog names
                counts[table] = cursor.fetchone()[0]
            cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
            migrations = [list(row) for row in cursor.fetchall()]
            command = [
                pg_tool("pg_dump"),
                "--format=custom",
                f"--snapshot={snapshot}",
                "--no-password",
                f"--file={target / PG_DUMP}",
                connection.settings_dict["NAME"],
            ]
            done = subprocess.run(  # noqa: S603 - fixed program, our own arguments
                command,
                env=pg_environment(connection.settings_dict),
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise BackupError(f"pg_dump failed: {done.stderr.strip()[:500]}")
        raw.rollback()
    finally:
        raw.close()
    return counts, migrations


def _dump_sqlite(target: Path) -> tuple[dict[str, int], list[list[str]]]:
    copy = target / SQLITE_COPY
    source = sqlite3.connect(str(connection.settings_dict["NAME"]))
    destination = sqlite3.connect(str(copy))
    try:
        source.backup(destination)
    finally:
        source.close()
    try:
        tables = [
            row[0]
            for row in destination.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        counts = {
            table: destination.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()[0]  # noqa: S608
            for table in tables
        }
        migrations = [
            list(row) for row in destination.execute("SELECT app, name FROM django_migrations")
        ]
    finally:
        destination.close()
    return counts, migrations


def _copy_tree(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    else:
        target.mkdir(parents=True)


def backup_make(*, directory: Path | str, now: datetime.datetime | None = None) -> Bundle:
    """Write a bundle under `directory`; returns it. Recorded as an audit event."""
    now = timezone.localtime(now)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"langzhong-{now:%Y%m%d-%H%M%S}"
    final = directory / name
    if final.exists():
        raise BackupError(f"{final} already exists")
    # Written under a temporary name: a bundle that exists under its own name is complete.
    partial = directory / f".{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(mode=0o700)
    try:
        audit_chain_all()  # events waiting for the sequencer are chained into the bundle's head
        head = audit_chain_head()
        if connection.vendor == "postgresql":
            counts, migrations = _dump_postgresql(partial)
            database_file = PG_DUMP
        elif connection.vendor == "sqlite":
            counts, migrations = _dump_sqlite(partial)
            database_file = SQLITE_COPY
        else:
            raise BackupError(f"no backup procedure for {connection.vendor}")
        # After the snapshot: every scan a dumped row names was written before its row.
        _copy_tree(Path(settings.MEDIA_ROOT), partial / "media")
        _copy_tree(audit_heads_directory(), partial / "audit-heads")
        _copy_tree(Path(settings.DRAW_COMMITMENT_DIR), partial / "draw-commitments")
        files = {
            path.relative_to(partial).as_posix(): file_sha256(path)
            for path in sorted(partial.rglob("*"))
            if path.is_file()
        }
        manifest = {
            "format": FORMAT,
            "name": name,
            "created_at": now.isoformat(),
            "database": {"vendor": connection.vendor, "file": database_file},
            "migrations": migrations,
            "tables": counts,
            "audit_head": head,
            "files": files,
            "keys": "not included: PERSONAL_DATA_KEY, PERSONAL_DATA_OLD_KEYS, "
            "PERSONAL_DATA_HASH_KEY and SECRET_KEY are kept in the secret store",
        }
        (partial / MANIFEST).write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        files[MANIFEST] = file_sha256(partial / MANIFEST)
        (partial / SUMS).write_text(
            "".join(f"{digest}  {path}\n" for path, digest in sorted(files.items())),
            encoding="utf-8",
        )
        for path in partial.rglob("*"):
            path.chmod(0o700 if path.is_dir() else 0o600)
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    with transaction.atomic(durable=True):
        audit_event_record(
            event_type=BACKUP_MADE,
            data={
                "bundle": name,
                "tables": len(counts),
                "rows": sum(counts.values()),
                "files": len(files),
                "audit_head": head["position"] if head else 0,
            },
        )
    return Bundle(final, manifest)
