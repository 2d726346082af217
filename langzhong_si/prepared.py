"""Hot hand-written queries prepared once per database session (PostgreSQL).

A few queries run on every case (the review pool, the draw's seed read) and are written
as SQL already. PostgreSQL parses and plans a statement each time it is sent; for the
pool query (ten subqueries) planning cost more than running it. Prepared once per
session (PREPARE … AS, then EXECUTE), it is parsed once and, after a few runs,
PostgreSQL keeps its generic plan when that costs no more than a fresh one. (A value
compared with a partial index's condition belongs in the text, not in a parameter: a
generic plan cannot use that index.)

The statement text is the same pyformat SQL the other databases run as it is; its
placeholders become $1, $2 … in the order they first appear, and the values are passed
to EXECUTE as the other backends pass them. What was prepared is remembered per
physical connection: a new connection (Django's connection_created) prepares again.
One name holds one text: another text under a name already prepared is refused. A
PREPARE survives its transaction's rollback (PostgreSQL prepares outside it); one that
failed is not remembered. A prepared statement the server no longer runs (a migration
changed a column it returns: "cached plan must not change result type") fails its
transaction once, and the connection's next use prepares it again.

Only with persistent connections (settings.DATABASE_PREPARED_STATEMENTS, on when
DATABASE_CONN_MAX_AGE is not 0): a connection opened per request would prepare on every
request and save nothing, and behind PgBouncer in transaction mode (which README's
Connections section pairs with DATABASE_CONN_MAX_AGE=0) server sessions are shared
between clients, so one client's PREPARE is not another's. Off, the SQL runs as it is.

The PREPARE goes to the driver's own cursor, past Django's execute wrappers: it reads
nothing, and counting it would make a pinned query count depend on what the session ran
before (the benchmarks' statement counts leave out the one PREPARE per text and
connection).
The EXECUTE goes through them, and carries a comment naming every identifier of the
statement with an underscore (Django's table names, app_model, all have one), so that a
wrapper deciding by the tables a statement touches (the batched audit writes flush what
they hold for a table before a statement reads it) sees them as in the full text.
Written for psycopg 2, which sends values as literals (psycopg 3's server-side binding
would not take parameters in EXECUTE).
"""

import functools
import hashlib
import re

from django.conf import settings
from django.db import DatabaseError
from django.db.backends.signals import connection_created
from django.dispatch import receiver

_PLACEHOLDER = re.compile(r"%%|%\((\w+)\)s|%s")
# PostgreSQL cuts names at 63 bytes: a longer one could clash with another on the server.
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Each prepared statement keeps its plan in its server session's memory: a session
# prepares at most this many statements of fixed text (the hot paths use a few dozen) and
# this many varying ones (the audit batch's flushes, tens of kilobytes each); a statement
# met after that runs as it is. Varying texts met once are remembered (by name) up to
# _SEEN_PER_SESSION.
PREPARED_PER_SESSION = 200
PREPARED_VARYING_PER_SESSION = 50
_SEEN_PER_SESSION = 2000
_IDENTIFIER = re.compile(r"\b[A-Za-z]\w*_\w*\b")
# The server's prepared statement no longer fits its tables (0A000), or is not there
# (26000): prepared again at the connection's next use.
_STALE, _MISSING = "0A000", "26000"


@receiver(connection_created)
def _session_new(sender, connection, **kwargs) -> None:
    connection.prepared_statements = {}
    connection.prepared_varying = set()  # the names of varying texts prepared
    connection.prepared_seen = set()  # the names of varying texts met once


def _session_state(connection) -> tuple[dict, set, set]:
    """The session's prepared statements (name: text, None when stale on the server),
    the varying ones among them, and the varying texts met once."""
    if getattr(connection, "prepared_statements", None) is None:
        _session_new(None, connection)
    return connection.prepared_statements, connection.prepared_varying, connection.prepared_seen


def prepared_name(prefix: str, sql: str) -> str:
    """A statement's name from its text: `prefix` and the text's digest, one text, one
    name, within PostgreSQL's 63 bytes."""
    return prefix + hashlib.sha256(sql.encode()).hexdigest()[:40]


def prepared_statements_used(connection) -> bool:
    """Whether prepared_execute prepares on this connection (PostgreSQL with persistent
    connections) rather than running the SQL as it is."""
    return connection.vendor == "postgresql" and settings.DATABASE_PREPARED_STATEMENTS


def prepared_execute(
    connection, cursor, name: str, sql: str, params: dict | list, *, varying: bool = False
) -> None:
    """Run `sql` (pyformat placeholders, %(key)s or %s, not both) with `params` on
    `cursor`; on PostgreSQL with persistent connections, as the session's prepared
    statement `name`.

    `varying`: the text is one of many its caller builds (the audit batch's flushes,
    shaped by the rows they hold). It is prepared at its second use in the session, and
    a session prepares at most PREPARED_VARYING_PER_SESSION such texts: a text met once
    costs no PREPARE, and the fixed statements keep their own PREPARED_PER_SESSION."""
    # The cursor's own database wrapper: `connection` may be Django's proxy, which looks
    # the wrapper up again (in context-local storage) at each of the reads below.
    connection = getattr(cursor, "db", connection)
    if not prepared_statements_used(connection) or not _preparing(connection, name, varying):
        cursor.execute(sql, params)
        return
    text, order, identifiers = _translated(name, sql)
    named = bool(order) and isinstance(order[0], str)
    if order and (isinstance(params, dict) != named or (not named and len(params) != len(order))):
        raise ValueError("named placeholders take a dict of values, %s ones a list of as many")
    prepared, varied, _seen = _session_state(connection)
    if prepared.get(name) is None:
        with connection.wrap_database_errors:
            if name in prepared:  # stale on the server: let it go first
                cursor.cursor.execute(f"DEALLOCATE {name}")
                del prepared[name]
                varied.discard(name)
            cursor.cursor.execute(f"PREPARE {name} AS {text}")
        prepared[name] = text
        if varying:
            varied.add(name)
    elif prepared[name] != text:
        raise ValueError(f"statement {name} was prepared with another text")
    values = [params[key] for key in order]
    arguments = "(" + ", ".join(["%s"] * len(values)) + ")" if values else ""
    try:
        cursor.execute(f"EXECUTE {name}{arguments} /* {identifiers} */", values)
    except DatabaseError as error:
        code = getattr(error.__cause__, "pgcode", None)
        if code == _STALE:
            prepared[name] = None
        elif code == _MISSING and name in str(error.__cause__):
            # (Not a statement the execute wrappers ran first, the batch's flush say.)
            prepared.pop(name, None)
            varied.discard(name)
        raise


def _preparing(connection, name: str, varying: bool) -> bool:
    """Whether `name` runs prepared in this session (see prepared_execute)."""
    prepared, varied, seen = _session_state(connection)
    if name in prepared:
        return True
    if not varying:
        return len(prepared) - len(varied) < PREPARED_PER_SESSION
    if name not in seen:
        if len(seen) < _SEEN_PER_SESSION:
            seen.add(name)
        return False
    return len(varied) < PREPARED_VARYING_PER_SESSION


@functools.lru_cache(maxsize=512)
def _translated(name: str, sql: str) -> tuple[str, tuple, str]:
    """`sql` with $1, $2 … for its placeholders (and % for %%), the keys (names, or
    positions) of the values by their number, and its identifiers with an underscore."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a statement name: {name!r}")
    order: list = []

    def number(match: re.Match) -> str:
        if match.group(0) == "%%":
            return "%"
        key = match.group(1) if match.group(1) is not None else len(order)
        if key not in order:
            order.append(key)
        return f"${order.index(key) + 1}"

    text = _PLACEHOLDER.sub(number, sql)
    if len({isinstance(key, str) for key in order}) > 1:
        raise ValueError("named and %s placeholders in one statement")
    return text, tuple(order), " ".join(sorted(set(_IDENTIFIER.findall(sql))))
