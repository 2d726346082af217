"""Hot hand-written queries prepared once per database session (PostgreSQL).

A few queries run on every case (the review pool, the draw's seed read) and are written
as SQL already. PostgreSQL parses and plans a statement each time it is sent; for the
pool query (ten subqueries) planning cost more than running it. Prepared once per
session (PREPARE … AS, then EXECUTE), it is parsed once and, after a few runs,
PostgreSQL keeps its generic plan when that costs no more than a fresh one.

The statement text is the same pyformat SQL the other databases run as it is; its
placeholders become $1, $2 … in the order they first appear, and the values are passed
to EXECUTE as the other backends pass them. What was prepared is remembered per
physical connection: a new connection (Django's connection_created) prepares again. One
name holds one text: another text under a name already prepared is refused.
A PREPARE survives its transaction's rollback (PostgreSQL prepares outside it); one
that failed is not remembered. Not for use behind a pooler that shares server
sessions between clients in transaction mode.

The PREPARE goes to the driver's own cursor, past Django's execute wrappers: it reads
nothing, and counting it would make a pinned query count depend on what the session ran
before. The EXECUTE goes through them, and carries a comment naming the tables the
statement reads, so that a wrapper deciding by the tables a statement touches (the
batched audit writes flush what they hold for a table before a statement reads it)
sees them as it would in the full text.
"""

import functools
import re

from django.db.backends.signals import connection_created
from django.dispatch import receiver

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s")
_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_TABLE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)


@receiver(connection_created)
def _session_new(sender, connection, **kwargs) -> None:
    connection.prepared_statements = {}


def prepared_execute(connection, cursor, name: str, sql: str, params: dict | list) -> None:
    """Run `sql` (pyformat placeholders, %(key)s or %s, not both) with `params` on
    `cursor`; on PostgreSQL as the session's prepared statement `name`."""
    if connection.vendor != "postgresql":
        cursor.execute(sql, params)
        return
    text, order, tables = _translated(name, sql)
    if order and isinstance(params, dict) != all(isinstance(key, str) for key in order):
        raise ValueError("named placeholders take a dict of values, %s ones a list")
    prepared = getattr(connection, "prepared_statements", None)
    if prepared is None:
        prepared = connection.prepared_statements = {}
    if name not in prepared:
        with connection.wrap_database_errors:
            cursor.cursor.execute(f"PREPARE {name} AS {text}")
        prepared[name] = text
    elif prepared[name] != text:
        raise ValueError(f"statement {name} was prepared with another text")
    values = [params[key] for key in order]
    arguments = "(" + ", ".join(["%s"] * len(values)) + ")" if values else ""
    cursor.execute(f"EXECUTE {name}{arguments} /* reads: {tables} */", values)


@functools.lru_cache(maxsize=64)
def _translated(name: str, sql: str) -> tuple[str, tuple, str]:
    """`sql` with $1, $2 … for its placeholders, the keys (names, or positions) of the
    values by their number, and the tables it names."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a statement name: {name!r}")
    order: list = []

    def number(match: re.Match) -> str:
        key = match.group(1) if match.group(1) is not None else len(order)
        if key not in order:
            order.append(key)
        return f"${order.index(key) + 1}"

    text = _PLACEHOLDER.sub(number, sql)
    return text, tuple(order), " ".join(sorted(set(_TABLE.findall(sql))))
