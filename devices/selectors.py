import functools
import hashlib

from django.db import connections, router

from devices.models import HallDevice
from langzhong_si.compiled import read_as_health_check, read_or_copy
from langzhong_si.credentials import credential_digest
from staff.scope import scope_filter


def hall_device_for_credential(credential: str, kind: str | None = None) -> HallDevice | None:
    """The enabled device a presented credential belongs to (of `kind`, if given), in one
    query (or, inside row_copies, from its copy); None if there is none. Found by the
    credential's digest: a digest read from the table is not a credential, since it
    would be hashed again. No constant-time comparison is needed: the index compares
    digests, and how long that takes can at most reveal part of a digest, which brings
    no one closer to a secret that hashes to it."""
    if not credential:
        return None
    using = router.db_for_read(HallDevice)
    if connections[using].vendor == "postgresql":
        return _device_written_out(using, credential_digest(credential), kind)
    devices = HallDevice.objects.select_related("window").filter(
        credential_digest=credential_digest(credential), enabled=True
    )
    if kind is not None:
        devices = devices.filter(kind=kind)
    return devices.first()


@functools.cache
def _device_sql(using: str, with_kind: bool) -> str:
    """The ORM's statement for the look-up above (select_related window, first by id),
    written out: every kiosk, display and pad request runs it, and compiling it through
    the ORM cost more CPU (0.6 ms) than running it."""
    quote = connections[using].ops.quote_name
    window = HallDevice._meta.get_field("window")
    columns = [f"d.{quote(f.column)}" for f in HallDevice._meta.concrete_fields] + [
        f"w.{quote(f.column)}" for f in window.related_model._meta.concrete_fields
    ]
    return (
        f"SELECT {', '.join(columns)} FROM {quote(HallDevice._meta.db_table)} d"  # noqa: S608 - model tables
        f" LEFT OUTER JOIN {quote(window.related_model._meta.db_table)} w"
        f" ON w.{quote(window.target_field.column)} = d.{quote(window.column)}"
        " WHERE d.credential_digest = %s AND d.enabled"
        + (" AND d.kind = %s" if with_kind else "")
        + f" ORDER BY d.{quote(HallDevice._meta.pk.column)} ASC LIMIT 1"
    )


def device_copy_key(digest: str) -> str:
    """The cache key of the row copy (langzhong_si.compiled.row_copies: an unchanged
    poll's, operations.pollpath) of the device whose credential has this digest, with its
    window. Every save or deletion of a device marks its copies, and so does its window
    saved with its clerk (devices.signals): of its window the copy keeps only the id and
    the clerk (a pad's poll reads nothing else; its state, ticket and times would go
    stale at once, so a window taken from a copy reads them afresh if asked). The key
    names the columns kept (a digest): a release with other columns never takes
    another's copies."""
    return f"device-copy:{_row_shape()[2]}:{digest}"


@functools.cache
def _row_shape() -> tuple[int, int, str, tuple, tuple]:
    """The look-up's row: how many of its columns are the device's, where the kind is, a
    digest of the names of the columns a copy keeps, and the window's fields a copy keeps
    (its id and clerk) with where the row has them."""
    fields = [field.attname for field in HallDevice._meta.concrete_fields]
    window = HallDevice._meta.get_field("window").related_model._meta
    kept = (window.pk.attname, window.get_field("clerk").attname)
    window_names = [field.attname for field in window.concrete_fields]
    names = ",".join(fields + [f"window.{name}" for name in kept])
    digest = hashlib.sha256(names.encode()).hexdigest()[:12]
    places = tuple(len(fields) + window_names.index(name) for name in kept)
    return len(fields), fields.index("kind"), digest, kept, places


def _device_written_out(using: str, digest: str, kind: str | None) -> HallDevice | None:
    connection = connections[using]
    fields = HallDevice._meta.concrete_fields
    own, kind_at, _digest, window_kept, window_places = _row_shape()

    def read():
        with connection.cursor() as cursor:
            params = [digest] if kind is None else [digest, kind]
            cursor.execute(_device_sql(using, kind is not None), params)
            return cursor.fetchone()

    copied = own + len(window_kept)  # a copy's length: the device's row, its window's two
    row = read_or_copy(
        device_copy_key(digest),
        lambda: read_as_health_check(connection, read),  # a device request's first read
        taken=lambda kept: kept if len(kept) == copied else None,
        kept_as=lambda row: row and row[:own] + tuple(row[at] for at in window_places),
    )
    if row is None or (kind is not None and row[kind_at] != kind):
        return None  # (a copy is of the device whatever its kind: as the read, of no other)
    device = HallDevice.from_db(using, [f.attname for f in fields], row[:own])
    window_model = HallDevice._meta.get_field("window").related_model
    window = None
    if device.window_id is not None:  # from a copy: its id and clerk, the rest deferred
        names = [f.attname for f in window_model._meta.concrete_fields]
        window = window_model.from_db(
            using, window_kept if len(row) == copied else names, row[own:]
        )
    HallDevice._meta.get_field("window").set_cached_value(device, window)
    return device


def hall_devices(user):
    """The screens and pads of the sites `user` sees (staff.scope)."""
    return scope_filter(HallDevice.objects.select_related("window", "site"), user).order_by(
        "site_id", "kind", "window__number", "pk"
    )
