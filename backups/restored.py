"""The checks `restore_drill` runs inside the restored copy (this process's database and
media folder are the scratch ones). Each returns a Check; none stops the others."""

from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.core.files.storage import default_storage
from django.db import connection, models
from django.db.migrations.executor import MigrationExecutor

from audit.services import ExportedHead, audit_exported_heads, audit_log_verify
from langzhong_si.checks import Check
from langzhong_si.identity import id_number_digest, personal_data_decrypt

# Encrypted values that are not named *_encrypted: (model name, field).
_OTHER_ENCRYPTED = {("dailyseed", "seed")}
_SHOWN = 5


def check_migrations() -> Check:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:_SHOWN])
        return Check("migrations", False, f"{len(plan)} not applied: {names}")
    return Check("migrations", True, "at head")


def check_row_counts(manifest: dict, *, migrated: bool = False) -> Check:
    """Every table holds the rows the manifest recorded. After an upgrade rehearsal
    (`--migrate`) the migrations table has grown by design; any other difference is a
    data migration's doing and is named."""
    tables = set(connection.introspection.table_names())
    wrong = []
    with connection.cursor() as cursor:
        for table, recorded in sorted(manifest["tables"].items()):
            if migrated and table == "django_migrations":
                continue
            if table not in tables:
                wrong.append(f"{table} missing")
                continue
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            restored = cursor.fetchone()[0]
            if restored != recorded:
                wrong.append(f"{table}: {recorded} recorded, {restored} restored")
    if wrong:
        return Check(
            "row_counts", False, f"{len(wrong)} tables differ: " + "; ".join(wrong[:_SHOWN])
        )
    return Check("row_counts", True, f"{len(manifest['tables'])} tables as recorded")


def _heads_before(directory: Path, created_at: datetime.datetime) -> list[ExportedHead]:
    """Heads exported to the live folder (off the database) before the bundle was made."""
    heads = []
    for head in audit_exported_heads(directory=directory):
        record = json.loads(Path(head.source).read_text(encoding="utf-8"))
        exported_at = record.get("exported_at")
        if exported_at and datetime.datetime.fromisoformat(exported_at) <= created_at:
            heads.append(head)
    return heads


def check_audit_chain(*, bundle: Path, manifest: dict, live_heads: Path | None) -> Check:
    """`verify_audit_log --head` against every head kept outside the database: the
    bundle's copies, the live folder's heads from before the bundle, and the head the
    manifest recorded when the dump was taken."""
    try:
        heads = audit_exported_heads(directory=bundle / "audit-heads")
        if live_heads is not None:
            created_at = datetime.datetime.fromisoformat(manifest["created_at"])
            heads += _heads_before(live_heads, created_at)
    except ValueError as error:
        return Check("audit_chain", False, str(error))
    if manifest.get("audit_head"):
        head = manifest["audit_head"]
        heads.append(ExportedHead(head["position"], head["hash"], "the bundle's manifest"))
    broken = audit_log_verify(heads=heads)
    if broken is not None:
        return Check(
            "audit_chain",
            False,
            f"audit chain broken at position {broken.position}: {broken.reason}",
        )
    return Check("audit_chain", True, f"verifies against {len(heads)} heads")


def _scan_models():
    for model in apps.get_models():
        names = {field.name for field in model._meta.get_fields()}
        files = [f for f in model._meta.get_fields() if isinstance(f, models.FileField)]
        if "sha256" in names and len(files) == 1:
            yield model, files[0].name


def check_scans() -> Check:
    checked, wrong = 0, []
    for model, field in _scan_models():
        # A scan destroyed under a retention decision has no file (its case's tombstone
        # keeps the manifest's hash): nothing to check.
        rows = model.objects.exclude(**{field: ""}).values_list("pk", field, "sha256")
        for pk, name, recorded in rows.iterator():
            checked += 1
            label = f"{model._meta.label_lower} #{pk}"
            try:
                with default_storage.open(name, "rb") as handle:
                    digest = hashlib.file_digest(handle, "sha256").hexdigest()
            except OSError:
                wrong.append(f"{label}: file missing")
                continue
            if digest != recorded:
                wrong.append(f"{label}: SHA-256 differs from its record")
    if wrong:
        return Check(
            "scans", False, f"{len(wrong)} of {checked} scans wrong: " + "; ".join(wrong[:_SHOWN])
        )
    return Check("scans", True, f"{checked} scans match their SHA-256")


def _encrypted_fields():
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if field.name.endswith("_encrypted") or (
                (model._meta.model_name, field.name) in _OTHER_ENCRYPTED
            ):
                yield model, field.name


def check_keys(sample: int) -> Check:
    """A sample of every encrypted field decrypts with the configured keys, and an ID
    number's keyed look-up hash (its `*_digest` twin) matches: both keys are right."""
    checked, wrong = 0, []
    for model, field in _encrypted_fields():
        twin = field.removesuffix("_encrypted") + "_digest"
        has_twin = field.endswith("_encrypted") and any(
            f.name == twin for f in model._meta.concrete_fields
        )
        columns = ["pk", field, *([twin] if has_twin else [])]
        # Empty values hold nothing to decrypt: optional ones (an agent's ID number) and those
        # cleared when a case file was destroyed under a retention decision.
        rows = model.objects.exclude(**{field: ""}).order_by("?").values_list(*columns)
        for row in rows[:sample]:
            checked += 1
            label = f"{model._meta.label_lower} #{row[0]}"
            try:
                plain = personal_data_decrypt(row[1])
            except (InvalidToken, ValueError, TypeError):
                wrong.append(f"{label}: does not decrypt")
                continue
            if has_twin and id_number_digest(plain) != row[2]:
                wrong.append(f"{label}: look-up hash key differs")
    if wrong:
        return Check(
            "keys",
            False,
            f"{len(wrong)} of {checked} sampled encrypted values fail with the configured "
            "keys: " + "; ".join(wrong[:_SHOWN]),
        )
    return Check("keys", True, f"{checked} sampled encrypted values open with the configured keys")


def restored_checks(
    *, bundle: Path, live_heads: Path | None, key_sample: int, migrated: bool = False
) -> list[Check]:
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    checks = []
    for name, run in (
        ("migrations", check_migrations),
        ("row_counts", lambda: check_row_counts(manifest, migrated=migrated)),
        ("audit_chain", lambda: check_audit_chain(
            bundle=bundle, manifest=manifest, live_heads=live_heads)),
        ("scans", check_scans),
        ("keys", lambda: check_keys(key_sample)),
    ):  # fmt: skip
        try:
            checks.append(run())
        except Exception as error:  # noqa: BLE001 - a check that cannot run has failed
            checks.append(Check(name, False, f"could not run: {type(error).__name__}: {error}"))
    return checks
