"""Hot keyed reads compiled to SQL once per process.

A few ORM reads run several times on every case (the serving window with its ticket, a
review task with its case, the item taken in at the intake). Django builds and compiles
a statement afresh each time: for these, about 0.6–2 ms of Python, more than the
database takes to run them. `CompiledRead(build)` compiles `build(*keys)` once per
database connection alias and vendor, with stand-in integers for the keys, and after
that runs the same SQL with the real keys in their places, turning the row into model
instances as the ORM's own iterator does (select_related objects and annotations
included; prefetches are the caller's, through prefetch_related_objects).

`build` must depend on its keys only (integers by default: primary and foreign keys;
`keys=(int, str, datetime.date, datetime.datetime)` declares other types, one per key;
a `build(*keys)` takes as many as `keys` declares, a list of that length for an IN):
anything else it reads (the time, a setting) would be frozen into the SQL at the first
call, so a time the read compares with is a key too. It is compiled twice, with two sets
of stand-ins of the keys' types, and refused unless both give the same SQL with the keys
in the same places, each taken into its parameter the same way (as it is, or as the
database's adapter of dates or of times gives it): a key that changed the statement (a
value checked against its column's range, a constant equal to a stand-in) is caught
there. A key of another type than declared is refused, and so is a time without its
zone while times are kept with theirs (the ORM would take it in the default zone). `first`
reads as QuerySet.first does: ordered by pk when the queryset is not ordered, one row;
`all` reads every row, in the same order (compiled apart: its statement has no LIMIT).
A locking read (select_for_update) is refused outside a transaction where the ORM refuses
it; an integer key outside 64 bits finds nothing, as in the ORM. Each database connection
(one per thread) compiles its own: converters are the connection's. The read goes to
`using` (the default database), not through the database routers. On PostgreSQL with
persistent connections it runs as the session's prepared statement (langzhong_si.prepared),
so the server plans it once too: its constants are written into the text, its keys are
EXECUTE's values.
"""

import contextvars
import datetime
import functools
import hashlib
import inspect
import logging
import os
import re
import time
from contextlib import contextmanager
from weakref import WeakKeyDictionary

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections, transaction
from django.db.models.query import RelatedPopulator
from django.db.transaction import TransactionManagementError

from langzhong_si.prepared import prepared_execute, prepared_name, prepared_statements_used
from langzhong_si.saves import record_from_db

logger = logging.getLogger(__name__)

# Stand-ins for the keys while compiling, two rounds, key n of each: integers no table
# holds as a key, within the range of a 32-bit column (Django checks a value against its
# column's range); dates and times no record of this system has; strings no code is.
# A key must reach its parameter as it is (or, for dates and times, as the database's
# adapter takes it): what a lookup would make of it cannot be known from a stand-in.
_STAND_INS = (-1_987_654_321, -1_876_543_210)
_KEYS = range(-(2**63), 2**63)
_PLACEHOLDER = re.compile(r"%%|%s")


def _stand_in(kind: type, round_: int, n: int):
    if kind is int:
        return _STAND_INS[round_] - n
    if kind is str:
        # Capitals and LIKE's special characters: a lookup that escapes, wraps or folds
        # the key (contains, SQLite's iexact) changes it, and is refused as not reaching
        # the statement.
        return f"Compiled_Stand-In%\\{round_}-{n}"
    if kind is datetime.date:
        return datetime.date(1001 + round_, 1, 1 + n)
    return datetime.datetime(1003 + round_, 1, 1, n, tzinfo=datetime.UTC)


def _adapters(kind: type, connection) -> tuple:
    """How a key of `kind` may be taken into a parameter: as it is, or (dates and times)
    as the database's adapter gives it (SQLite takes them as text)."""
    if kind is datetime.date:
        return (None, connection.ops.adapt_datefield_value)
    if kind is datetime.datetime:
        return (None, connection.ops.adapt_datetimefield_value)
    return (None,)


def _key_checked(kind: type, key):
    if kind is int:
        return int(key)
    if kind is str and isinstance(key, str):
        return str(key)  # a choice's member is its value
    if type(key) is not kind:  # a time is a date to isinstance
        raise TypeError(f"a key of type {kind.__name__} was declared, {key!r} given")
    if kind is datetime.datetime and settings.USE_TZ and key.utcoffset() is None:
        raise ValueError("a time without its zone: give an aware datetime")
    return key


class CompiledRead:
    def __init__(self, build, *, keys: tuple | None = None, using: str = DEFAULT_DB_ALIAS):
        arity = build.__code__.co_argcount
        spread = bool(build.__code__.co_flags & inspect.CO_VARARGS)
        self.types = (int,) * arity if keys is None else tuple(keys)
        if len(self.types) != arity and not (spread and len(self.types) > arity):
            raise TypeError("declare one type for each key build takes")
        if spread and len(self.types) == arity:
            raise TypeError("declare the keys a build of *keys takes")
        if not set(self.types) <= {int, str, datetime.date, datetime.datetime}:
            raise TypeError("keys are integers, strings, dates or times")
        self.build = build
        self.using = using
        self._compiled = WeakKeyDictionary()  # by connection (per thread), then one or all

    def first(self, *keys):
        """What `build(*keys).first()` would give, or None when it finds no row."""
        rows = self._run(keys, one=True)
        return rows[0] if rows else None

    def all(self, *keys) -> list:
        """What `list(build(*keys))` would give: every row, in the queryset's order (by pk
        when it has none)."""
        return self._run(keys, one=False)

    def _run(self, keys: tuple, *, one: bool) -> list:
        if len(self.types) != len(keys):
            raise TypeError("give every key build takes")
        keys = [_key_checked(kind, key) for kind, key in zip(self.types, keys, strict=True)]
        connection = connections[self.using]
        by_kind = self._compiled.get(connection)
        if by_kind is None:
            by_kind = self._compiled[connection] = {}
        compiled = by_kind.get(one)
        if compiled is None:
            compiled = by_kind[one] = _compile(self.build, connection, self.types, one=one)
        if compiled.locks and _locking_refused(connection):
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        if any(
            kind is int and key not in _KEYS for kind, key in zip(self.types, keys, strict=True)
        ):
            return []
        params = list(compiled.params)
        for position, n, adapter in compiled.positions:
            params[position] = keys[n] if adapter is None else adapter(keys[n])
        with connection.cursor() as cursor:
            if prepared_statements_used(connection):
                name, text = compiled.prepared(cursor)
                keyed = [params[position] for position, _n, _adapter in compiled.positions]
                prepared_execute(connection, cursor, name, text, keyed)
            else:
                cursor.execute(compiled.sql, params)
            rows = [cursor.fetchone()] if one else cursor.fetchall()
        return [compiled.instance(row, connection, self.using) for row in rows if row is not None]


def _locking_refused(connection) -> bool:
    """The ORM's own condition for refusing select_for_update."""
    return connection.features.has_select_for_update and connection.get_autocommit()


def _compile(build, connection, types: tuple, *, one: bool) -> "_Compiled":
    twice = []
    for round_ in range(len(_STAND_INS)):
        stand_ins = [_stand_in(kind, round_, n) for n, kind in enumerate(types)]
        twice.append(_Compiled(build(*stand_ins), connection, stand_ins, types, one=one))
    first, second = twice
    if (first.sql, first.positions, first.constants) != (
        second.sql,
        second.positions,
        second.constants,
    ):
        raise ValueError("the keys change the statement: compile it through the ORM")
    return first


def _key_at(value, stand_ins: list, types: tuple, connection):
    """(key's index, adapter) when the parameter `value` is a key's stand-in, taken as it
    is (adapter None) or through the database's adapter; None for a constant."""
    for n, (kind, stand_in) in enumerate(zip(types, stand_ins, strict=True)):
        for adapter in _adapters(kind, connection):
            taken = stand_in if adapter is None else adapter(stand_in)
            if type(value) is type(taken) and value == taken:
                return n, adapter
    return None


class _Compiled:
    """One compiled read: its SQL and parameters (the keys' positions among them), and
    what the ORM's ModelIterable reads off its compiler to make a row an instance."""

    def __init__(self, queryset, connection, stand_ins: list, types: tuple, *, one: bool):
        if not queryset.ordered:
            queryset = queryset.order_by("pk")
        if one and not queryset.query.is_sliced:
            queryset = queryset[:1]
        self.locks = queryset.query.select_for_update
        if self.locks and _locking_refused(connection):
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        compiler = queryset.query.get_compiler(connection=connection)
        try:
            self.sql, params = compiler.as_sql()
        except (EmptyResultSet, FullResultSet) as error:
            raise ValueError("the keys change the statement: compile it through the ORM") from error
        self.params = tuple(params)
        self.positions = [
            (position, *found)
            for position, value in enumerate(params)
            if (found := _key_at(value, stand_ins, types, connection)) is not None
        ]
        if {n for _position, n, _adapter in self.positions} != set(range(len(types))):
            raise ValueError("every key must reach the statement's parameters")
        keyed = {position for position, _n, _adapter in self.positions}
        self.constants = [value for n, value in enumerate(params) if n not in keyed]
        self.select, self.klass_info = compiler.select, compiler.klass_info
        self.annotations = list(compiler.annotation_col_map.items())
        self.converters = list(
            compiler.get_converters([column[0] for column in self.select]).items()
        )
        fields = self.klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.names = [column[0].target.attname for column in self.select[self.start : self.end]]
        self.types = types
        self._prepared = None
        self._populators = {}  # by database: what sets each row's related records

    def prepared(self, cursor) -> tuple[str, str]:
        """The statement's name and text as a prepared statement (PostgreSQL): its
        constants written in as the driver would send them, so the plan knows them (a
        partial index's condition, the literal of an EXISTS), and its keys left as
        placeholders. The name is the text's digest: one text, one name."""
        if self._prepared is None:
            keyed = {position: self.types[n] for position, n, _adapter in self.positions}
            values = iter(enumerate(self.params))

            def written(match: re.Match) -> str:
                if match.group(0) == "%%":
                    return "%%"
                position, value = next(values, (None, None))
                if position is None:
                    raise ValueError("the statement has more placeholders than parameters")
                if position in keyed:
                    # An integer key as a bigint: a key beyond a 32-bit column's range then
                    # finds nothing, as in the ORM, instead of failing the transaction.
                    return "%s::bigint" if keyed[position] is int else "%s"
                return cursor.cursor.mogrify("%s", [value]).decode().replace("%", "%%")

            text = _PLACEHOLDER.sub(written, self.sql)
            if next(values, None) is not None:
                raise ValueError("the statement has fewer placeholders than parameters")
            self._prepared = (prepared_name("cr_", text), text)
        return self._prepared

    def instance(self, row, connection, db: str):
        row = list(row)
        for position, (converters, expression) in self.converters:
            value = row[position]
            for converter in converters:
                value = converter(value, expression, connection)
            row[position] = value
        obj = record_from_db(self.klass_info["model"], db, self.names, row[self.start : self.end])
        # Built once: they depend on the statement and the database only (the ORM builds
        # them once per query and uses them for each of its rows).
        populators = self._populators.get(db)
        if populators is None:
            populators = self._populators[db] = _record_populators(self.klass_info, self.select, db)
        for populator in populators:
            populator.populate(row, obj)
        for name, position in self.annotations:
            setattr(obj, name, row[position])
        return obj


def _record_populators(klass_info, select, db: str) -> list["_RecordPopulator"]:
    """Django's get_related_populators, with populators that build as record_from_db."""
    related = klass_info.get("related_klass_infos", [])
    return [_RecordPopulator(info, select, db) for info in related]


class _RecordPopulator(RelatedPopulator):
    """Django's populator of a select_related record (its columns, setters, records
    related in turn), the record built as record_from_db builds it: Django's own path
    where the row does not hold every column, or the model has its own from_db."""

    def __init__(self, klass_info, select, db: str):
        super().__init__(klass_info, select, db)
        self.related_populators = _record_populators(klass_info, select, db)

    def populate(self, row, from_obj) -> None:
        if self.reorder_for_init:
            values = self.reorder_for_init(row)
        else:
            values = row[self.cols_start : self.cols_end]
        if values[self.pk_idx] is None:
            obj = None
        else:
            obj = record_from_db(self.model_cls, self.db, self.init_list, values)
            for populator in self.related_populators:
                populator.populate(row, obj)
        self.local_setter(from_obj, obj)
        if obj is not None:
            self.remote_setter(obj, from_obj)


def read_as_health_check(connection, read):
    """`read()` (a function that reads and writes nothing) as the request's health check
    of its kept database connection, where it is the request's first use of it.

    Django's check (CONN_HEALTH_CHECKS) sends `SELECT 1` before a request's first
    statement and opens a new connection if that fails: one round trip more for every
    request that reads anything, and the hot requests read one row (the account, the
    device). Here the read itself is the check: if it fails because the connection is
    broken (the driver says so: the server restarted or failed over, or cut an idle
    connection), the connection is closed and the read runs once more, on a new one,
    which is how Django's check would have ended. A read changes nothing, so running it
    again is safe; only outside a transaction (in one, Django's own check runs). Any
    other failure is raised as it is."""
    if (
        connection.connection is None
        or not connection.health_check_enabled
        or connection.health_check_done
        or connection.in_atomic_block
    ):
        return read()
    connection.health_check_done = True  # what Django's check sets once it has run
    try:
        return read()
    except (OperationalError, InterfaceError):
        if connection.connection is not None and not getattr(connection.connection, "closed", 0):
            raise  # the connection works: the read itself failed
        # Seen after a restart or a fail-over, once per kept connection: worth a line.
        logger.warning("database connection %s found broken at its first read; reconnected",
                       connection.alias)  # fmt: skip
        connection.close()
        return read()  # a new connection (Django counts a new one as checked)


# Where each of a model's fields, and each other column, stands in a written-out
# statement's row, per model and list of the row's column names.
_ROW_PLANS: dict[tuple, tuple] = {}
_CONVERTED: dict[type, bool] = {}  # whether a model has a field with a converter


# --- A row's copy, taken along ----------------------------------------------------------------
#
# A row that every poll reads (the signed-in person's account, the hall device's) may be
# answered from a copy kept in the shared cache, read in a round trip the request makes
# anyway (operations.pollpath), instead of a round trip to the database. Only inside
# row_copies(), for the cache keys it names (`wanted`): `found` holds what that round
# trip read of them. A key found holding a copy is answered from it, with no statement;
# a key found empty (no copy, no mark) gets the row read as a copy for `seconds`
# (cache.add: a mark or a newer copy put there meanwhile stays); any other value there is
# a mark (a change was made: the writer's doing) and the row is read and not copied.
# Outside row_copies() nothing is ever taken from, or put into, the cache.


class RowCopies:
    def __init__(self, seconds: int, found: dict | None = None, wanted: set | None = None):
        self.seconds, self.found, self.wanted = seconds, found or {}, wanted or set()
        self.used = False  # whether any row was answered from a copy


_row_copies: contextvars.ContextVar = contextvars.ContextVar("row_copies", default=None)


@contextmanager
def row_copies(copies: RowCopies):
    token = _row_copies.set(copies)
    try:
        yield copies
    finally:
        _row_copies.reset(token)


# How long a mark stands: far longer than a read takes from its row to the cache (a read
# that stalled longer could put the old row back, for one copy's life, and copies only
# ever decide an empty answer), and short enough that a person's copy is made again
# seconds after their sign-in (which saves the account).
ROW_COPY_MARK_SECONDS = 5


def _now_and_at_commit(write, failed: str) -> None:
    """`write()` to the cache now and again once the caller's transaction commits (a read
    between the two could remember the state from before the change). With the cache
    down the change stands, logged as `failed`."""

    def run():
        try:
            write()
        except Exception:
            logger.error("%s: cache unavailable", failed, exc_info=True)

    run()
    transaction.on_commit(run, robust=True)


def row_copy_mark(key: str) -> None:
    """Mark the copy under the cache key `key` as changed, now and at commit, for
    ROW_COPY_MARK_SECONDS: under the mark nothing is copied, and the copy is gone. With
    the cache down a copy lags the change one copy's life at most (SESSION_CACHE_SECONDS,
    as operations.pollpath keeps them)."""
    cache = caches[DEFAULT_CACHE_ALIAS]
    _now_and_at_commit(
        lambda: cache.set(key, "changed", ROW_COPY_MARK_SECONDS), f"row copy {key} not marked"
    )


def remembered_forget(keys: list[str]) -> None:
    """Forget these cache entries (what a change makes stale: an API key's account, say),
    now and at commit, standing with the cache down as row_copy_mark does."""
    cache = caches[DEFAULT_CACHE_ALIAS]
    _now_and_at_commit(lambda: cache.delete_many(keys), f"{len(keys)} entries not forgotten")


def read_or_copy(copy: str, read, *, taken, kept_as):
    """What `read()` returns (a row), or what `taken(kept)` makes of the copy row_copies()
    found under the cache key `copy` (None: not to be taken, a copy an older release made
    say: read instead); what it read is copied as `kept_as(it)` (None: not copied)."""
    copies = _row_copies.get() if copy else None
    if copies is None or copy not in copies.wanted:
        return read()
    kept = copies.found.get(copy)
    if isinstance(kept, tuple):
        value = taken(kept)
        if value is not None:
            copies.used = True
            return value
    began = time.monotonic()
    value = read()
    # A read that took longer than a change's mark stands may hold the row from before it.
    if kept is None and copies.seconds > 0 and time.monotonic() - began < ROW_COPY_MARK_SECONDS:
        stored = kept_as(value)
        if stored is not None:
            try:
                caches[DEFAULT_CACHE_ALIAS].add(copy, stored, copies.seconds)
            except Exception:  # the cache is down: read from the database next time too
                logger.warning("row copy not kept: cache unavailable", exc_info=True)
    return value


@functools.lru_cache(maxsize=2)
def _sealer(secret: str) -> AESGCM:
    return AESGCM(hashlib.sha256(b"row copy seal:" + secret.encode()).digest())


def _seal(text: str) -> bytes:
    """`text` encrypted for a copy (AES-GCM, a key derived from PERSONAL_DATA_KEY: a
    copy lives seconds, so a copy sealed under a key since changed is simply not taken;
    the personal data's Fernet cost a poll 0.05 ms, this 0.001)."""
    nonce = os.urandom(12)
    return nonce + _sealer(settings.PERSONAL_DATA_KEY).encrypt(nonce, text.encode(), None)


def _unseal(sealed: bytes) -> str:
    return _sealer(settings.PERSONAL_DATA_KEY).decrypt(sealed[:12], sealed[12:], None).decode()


def cache_set_sealed(key: str, value, holder, attribute: str, timeout: float) -> None:
    """cache.set(key, value, timeout), with the text of `holder`'s `attribute` (an object
    inside `value`: an account and its password's hash, say) sealed in the cache as the
    row copies keep theirs (_seal): the cache holds no text of it."""
    text = getattr(holder, attribute)
    setattr(holder, attribute, None if text is None else _seal(text))
    try:
        caches[DEFAULT_CACHE_ALIAS].set(key, value, timeout)
    finally:
        setattr(holder, attribute, text)


def cache_get_unsealed(key: str, holder_of, attribute: str, *, known: dict | None = None):
    """What cache_set_sealed kept under `key`, the text of `holder_of(value)`'s
    `attribute` decrypted; None when nothing is kept or it cannot be taken (sealed under
    another key, or not sealed: an older release's). `known`: cache entries already read
    in this request (by cache key), taken instead of asking the cache again, once (the
    value taken is changed: decrypted)."""
    value = known.pop(key, None) if known else None
    if value is None:
        value = caches[DEFAULT_CACHE_ALIAS].get(key)
    if value is None:
        return None
    try:
        holder = holder_of(value)
        sealed = getattr(holder, attribute)
        setattr(holder, attribute, None if sealed is None else _unseal(sealed))
    except (InvalidTag, AttributeError, TypeError, ValueError):  # not kept by us
        return None
    return value


def _copy_sealed(value, sealed: tuple[str, ...]):
    """A raw_first read's (row, columns) as its copy keeps it: the `sealed` columns'
    text encrypted (_seal)."""
    row, columns = value
    if row is None:
        return None
    return tuple(
        _seal(cell) if name in sealed and cell is not None else cell
        for name, cell in zip(columns, row, strict=True)
    ), columns


def _copy_unsealed(kept, model, sealed: tuple[str, ...]):
    """The (row, columns) a copy kept, its `sealed` columns decrypted; None if it cannot
    be taken: not of this shape, a field missing among its columns (an older release's),
    or a sealed column that does not decrypt (a key since retired)."""
    try:
        row, columns = kept
        if (model, columns) not in _ROW_PLANS and not {
            field.column for field in model._meta.concrete_fields
        } <= set(columns):
            return None
        return tuple(
            _unseal(cell) if name in sealed and cell is not None else cell
            for name, cell in zip(columns, row, strict=True)
        ), columns
    except (InvalidTag, AttributeError, TypeError, ValueError):  # not a copy of ours
        return None


def raw_first(
    model,
    name: str,
    sql: str,
    params: list,
    *,
    using: str = DEFAULT_DB_ALIAS,
    copy: str = "",
    sealed: tuple[str, ...] = (),
):
    """The first row of the written-out statement `sql` (pyformat) as `model`'s record,
    or None: as `model._default_manager.raw(sql, params)` makes it (each field from the
    column of its name, every other column an attribute of that name) for less CPU. On
    PostgreSQL with persistent connections it runs as the prepared statement `name`
    (langzhong_si.prepared: a schema change under a running process fails each kept
    connection's next run of it once, as for every prepared statement). Unlike raw(): it
    reads `using` (the default database), not through the routers; every one of the
    model's fields must be among the columns (a `SELECT t.*` has them all; raw() would
    defer a missing one); and no converter is applied, so a model with a field that has
    one (from_db_value) is refused: as on PostgreSQL, where the plain fields need none.
    `sql` must only read: as a request's first use of its connection it is that
    connection's health check, and runs again on a new connection when the first one was
    found broken (read_as_health_check). `copy`: the cache key of the row's copy, taken
    inside row_copies() (above), ignored outside; `sealed`: the columns the copy keeps
    encrypted (a password's hash: the cache holds no text of it)."""
    converted = _CONVERTED.get(model)
    if converted is None:
        fields = model._meta.concrete_fields
        converted = _CONVERTED[model] = any(hasattr(field, "from_db_value") for field in fields)
    if converted:
        raise ValueError(f"raw_first: {model.__name__} has fields with converters")
    connection = connections[using]

    def read():
        with connection.cursor() as cursor:
            prepared_execute(connection, cursor, name, sql, params)
            row = cursor.fetchone()
            return row, row and tuple(column[0] for column in cursor.description)

    row, columns = read_or_copy(
        copy,
        lambda: read_as_health_check(connection, read),
        taken=lambda kept: _copy_unsealed(kept, model, sealed),
        kept_as=lambda value: _copy_sealed(value, sealed),
    )
    if row is None:
        return None
    plan = _ROW_PLANS.get((model, columns))
    if plan is None:
        fields = model._meta.concrete_fields
        where = {}
        for at, column in enumerate(columns):
            where.setdefault(column, at)  # the first of a name, as raw() takes it
        own = {field.column for field in fields}
        plan = _ROW_PLANS[model, columns] = (
            tuple(field.attname for field in fields),
            tuple(where[field.column] for field in fields),
            tuple((column, at) for column, at in where.items() if column not in own),
        )
    attnames, places, others = plan
    record = record_from_db(model, using, attnames, [row[at] for at in places])
    for column, at in others:
        setattr(record, column, row[at])
    return record
