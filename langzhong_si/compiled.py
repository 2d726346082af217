"""Hot keyed reads compiled to SQL once per process.

A few ORM reads run several times on every case (the serving window with its ticket, a
review task with its case, the item taken in at the intake). Django builds and compiles
a statement afresh each time: for these, about 0.6–2 ms of Python, more than the
database takes to run them. `CompiledRead(build)` compiles `build(*keys)` once per
database connection alias and vendor, with stand-in integers for the keys, and after
that runs the same SQL with the real keys in their places, turning the row into model
instances as the ORM's own iterator does (select_related objects and annotations
included; prefetches are the caller's, through prefetch_related_objects).

`build` must depend on its keys only (integers: primary and foreign keys): anything else
it reads (the time, a setting) would be frozen into the SQL at the first call. It is
compiled twice, with two sets of stand-ins, and refused unless both give the same SQL
with the keys in the same places: a key that changed the statement (a value checked
against its column's range, a constant equal to a stand-in) is caught there. `first`
reads as QuerySet.first does: ordered by pk when the queryset is not ordered, one row.
A locking read (select_for_update) is refused outside a transaction where the ORM refuses
it; a key outside 64 bits finds nothing, as in the ORM. Each database connection (one
per thread) compiles its own: converters are the connection's. The read goes to `using`
(the default database), not through the database routers.
"""

from weakref import WeakKeyDictionary

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.query import get_related_populators
from django.db.transaction import TransactionManagementError

# Stand-ins for the keys while compiling: integers no table holds as a key, within the
# range of a 32-bit column (Django checks a value against its column's range).
_STAND_INS = (-1_987_654_321, -1_876_543_210)
_KEYS = range(-(2**63), 2**63)


class CompiledRead:
    def __init__(self, build, *, using: str = DEFAULT_DB_ALIAS):
        self.build = build
        self.using = using
        self._compiled = WeakKeyDictionary()  # by connection (per thread)

    def first(self, *keys: int):
        """What `build(*keys).first()` would give, or None when it finds no row."""
        if self.build.__code__.co_argcount != len(keys):
            raise TypeError("give every key build takes")
        connection = connections[self.using]
        compiled = self._compiled.get(connection)
        if compiled is None:
            compiled = self._compiled[connection] = _compile(self.build, connection, len(keys))
        if compiled.locks and _locking_refused(connection):
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        keys = [int(key) for key in keys]
        if any(key not in _KEYS for key in keys):
            return None
        params = list(compiled.params)
        for position, n in compiled.positions:
            params[position] = keys[n]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            row = cursor.fetchone()
        return None if row is None else compiled.instance(row, connection, self.using)


def _locking_refused(connection) -> bool:
    """The ORM's own condition for refusing select_for_update."""
    return connection.features.has_select_for_update and connection.get_autocommit()


def _compile(build, connection, arity: int) -> "_Compiled":
    twice = [
        _Compiled(build(*(base - n for n in range(arity))), connection, base, arity)
        for base in _STAND_INS
    ]
    first, second = twice
    if (first.sql, first.positions, first.constants) != (
        second.sql,
        second.positions,
        second.constants,
    ):
        raise ValueError("the keys change the statement: compile it through the ORM")
    return first


class _Compiled:
    """One compiled read: its SQL and parameters (the keys' positions among them), and
    what the ORM's ModelIterable reads off its compiler to make a row an instance."""

    def __init__(self, queryset, connection, base: int, arity: int):
        if not queryset.ordered:
            queryset = queryset.order_by("pk")
        if not queryset.query.is_sliced:
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
            (position, base - value)
            for position, value in enumerate(params)
            if type(value) is int and base - value in range(arity)
        ]
        if {n for _position, n in self.positions} != set(range(arity)):
            raise ValueError("every key must reach the statement's parameters")
        keyed = {position for position, _n in self.positions}
        self.constants = [value for n, value in enumerate(params) if n not in keyed]
        self.select, self.klass_info = compiler.select, compiler.klass_info
        self.annotations = list(compiler.annotation_col_map.items())
        self.converters = list(
            compiler.get_converters([column[0] for column in self.select]).items()
        )
        fields = self.klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.names = [column[0].target.attname for column in self.select[self.start : self.end]]

    def instance(self, row, connection, db: str):
        row = list(row)
        for position, (converters, expression) in self.converters:
            value = row[position]
            for converter in converters:
                value = converter(value, expression, connection)
            row[position] = value
        obj = self.klass_info["model"].from_db(db, self.names, row[self.start : self.end])
        for populator in get_related_populators(self.klass_info, self.select, db):
            populator.populate(row, obj)
        for name, position in self.annotations:
            setattr(obj, name, row[position])
        return obj
