"""Backups and the restore drill (req. 43): a bundle made after a small day restores and
proves whole; one altered scan, one audit row removed or the wrong key fails the drill,
naming the cause. Runs on SQLite and on PostgreSQL (pg_dump / pg_restore)."""

import json
import re
import shutil
import sqlite3
import subprocess

import psycopg2
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.models import AuditEvent
from backups.bundle import PG_DUMP, SQLITE_COPY, backup_make, pg_environment, pg_tool
from backups.drill import restore_drill_last, restore_drill_run
from backups.events import BACKUP_MADE, RESTORE_DRILL_FAILED, RESTORE_DRILL_PASSED
from cases import services as case_services
from counters import services
from langzhong_si.celery import app as celery_app
from scans.services import VettedScan
from tests.factories import make_id_number

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def small_day(hall, settings):
    """li_na serves two citizens and accepts two level-2 cases with a scan each; the
    reviewers are drawn; the day's audit head is exported off the database."""
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    for n in range(2):
        services.window_declare_ready(clerk=hall.li_na)
        services.ticket_issue(item=hall.item)
        case_services.case_accept(
            clerk=hall.li_na,
            item_id=hall.item.pk,
            applicant_name=f"王大山{n}",
            id_number=make_id_number(),
            received_material_ids={hall.material.pk},
            scans=[
                VettedScan(hall.material.pk, b"%%PDF-1.4 scan %d" % n, "application/pdf"),
            ],
        )
        services.ticket_finish(clerk=hall.li_na)
    call_command("export_audit_head")
    return settings.VAR_DIR / "backups"


def _failed(result) -> dict[str, str]:
    return {check.name: check.detail for check in result.failures}


def test_a_bundle_holds_a_checked_manifest_and_never_a_key(small_day, settings):
    bundle = backup_make(directory=small_day)
    manifest = bundle.manifest
    assert manifest["tables"]["counters_case"] == 2
    assert manifest["tables"]["counters_casedocument"] == 2
    assert manifest["audit_head"]["position"] > 0
    assert any(name.startswith("media/scans/") for name in manifest["files"])
    assert any(name.startswith("audit-heads/") for name in manifest["files"])
    sums = (bundle.path / "SHA256SUMS").read_text()
    assert "manifest.json" in sums
    for path in bundle.path.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert settings.PERSONAL_DATA_KEY.encode() not in content, path
            assert settings.SECRET_KEY.encode() not in content, path
    assert AuditEvent.objects.filter(event_type=BACKUP_MADE).count() == 1


def test_a_drill_over_a_bundle_made_after_a_small_day_passes(small_day):
    bundle = backup_make(directory=small_day)
    result = restore_drill_run(bundle=bundle.path)
    assert result.passed, _failed(result)
    assert [check.name for check in result.checks] == [
        "bundle", "restore", "migrations", "row_counts", "audit_chain", "scans", "keys",
    ]  # fmt: skip
    details = {check.name: check.detail for check in result.checks}
    assert details["scans"] == "2 scans match their SHA-256"
    # 2 ID numbers (and their history rows) and the day's seeds.
    assert int(details["keys"].split()[0]) >= 4


def test_the_drill_command_prints_each_check_and_records_the_result(small_day, capsys):
    bundle = backup_make(directory=small_day)
    call_command("restore_drill", str(bundle.path))
    out = capsys.readouterr().out
    assert "audit_chain: verifies against" in out
    assert "restore drill passed" in out
    assert AuditEvent.objects.filter(event_type=RESTORE_DRILL_PASSED).count() == 1
    assert restore_drill_last().passed


def test_a_drill_over_a_bundle_with_one_scan_altered_fails_naming_the_scan(small_day):
    bundle = backup_make(directory=small_day)
    scan = next((bundle.path / "media" / "scans").iterdir())
    scan.write_bytes(scan.read_bytes() + b"altered")
    result = restore_drill_run(bundle=bundle.path)
    failed = _failed(result)
    assert set(failed) == {"bundle", "scans"}
    assert f"media/scans/{scan.name} changed" in failed["bundle"]
    assert "1 of 2 scans wrong" in failed["scans"]
    assert "SHA-256 differs from its record" in failed["scans"]


def _remove_audit_row(bundle, position: int) -> None:
    """An insider deletes one row from the dumped copy, as its owner (superuser), with
    the append-only trigger switched off."""
    if connection.vendor == "sqlite":
        with sqlite3.connect(bundle / SQLITE_COPY) as db:
            db.execute("DELETE FROM audit_auditevent WHERE position = ?", [position])
        return
    source = connection.settings_dict
    name = f"{source['NAME']}_tamper"
    admin = psycopg2.connect(dbname="postgres", user=source["USER"], host=source["HOST"],
                             port=source["PORT"] or 5432)  # fmt: skip
    admin.autocommit = True
    env = pg_environment(source)
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
        subprocess.run(
            [pg_tool("pg_restore"), "--no-owner", f"--dbname={name}", str(bundle / PG_DUMP)],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        tamper = psycopg2.connect(dbname=name, user=source["USER"], host=source["HOST"],
                                  port=source["PORT"] or 5432)  # fmt: skip
        with tamper, tamper.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
            cursor.execute("DELETE FROM audit_auditevent WHERE position = %s", [position])
            assert cursor.rowcount == 1
        tamper.close()
        subprocess.run(
            [pg_tool("pg_dump"), "--format=custom", f"--file={bundle / PG_DUMP}", name],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def test_a_drill_over_a_bundle_with_one_audit_row_removed_fails_naming_the_position(small_day):
    bundle = backup_make(directory=small_day)
    _remove_audit_row(bundle.path, 3)
    result = restore_drill_run(bundle=bundle.path)
    failed = _failed(result)
    assert failed["audit_chain"] == "audit chain broken at position 3: missing"
    assert "audit_auditevent" in failed["row_counts"]
    assert "changed" in failed["bundle"]
    assert {"scans", "keys", "migrations"}.isdisjoint(failed)


def test_a_drill_with_the_wrong_key_fails_naming_the_keys(small_day, settings):
    bundle = backup_make(directory=small_day)
    settings.PERSONAL_DATA_KEY = "not the key the data was encrypted with"
    result = restore_drill_run(bundle=bundle.path)
    failed = _failed(result)
    assert set(failed) == {"keys"}
    assert re.search(r"(\d+) of \1 sampled encrypted values fail", failed["keys"])
    assert "does not decrypt" in failed["keys"]


def test_a_drill_command_that_fails_names_the_cause_and_is_recorded(small_day, settings):
    bundle = backup_make(directory=small_day)
    settings.PERSONAL_DATA_KEY = "not the key the data was encrypted with"
    with pytest.raises(CommandError, match="drill failed: keys: .* fail with the configured keys"):
        call_command("restore_drill", str(bundle.path))
    assert AuditEvent.objects.filter(event_type=RESTORE_DRILL_FAILED).count() == 1
    assert not restore_drill_last().passed


def test_the_weekly_drill_without_any_bundle_is_recorded_as_failed(db, settings):
    celery_app.tasks["operations.tasks.restore_drill_weekly"].apply()
    event = AuditEvent.objects.get(event_type=RESTORE_DRILL_FAILED)
    assert "no bundle" in event.data["checks"]["bundle"]["detail"]


def test_the_weekly_drill_drills_the_newest_bundle(small_day, settings):
    settings.BACKUP_DIR = small_day
    celery_app.tasks["operations.tasks.backup_nightly"].apply()
    celery_app.tasks["operations.tasks.restore_drill_weekly"].apply()
    event = AuditEvent.objects.filter(event_type__startswith="operations.restore").get()
    assert event.event_type == RESTORE_DRILL_PASSED, json.dumps(event.data)
    shutil.rmtree(small_day)
