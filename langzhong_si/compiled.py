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
it reads (the time, a setting) would be frozen into the SQL at the first call. Compiling
refuses a build whose keys do not all reach the statement's parameters. A locking read
(select_for_update) is refused outside a transaction, as the ORM refuses it.
"""

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.query import get_related_populators
from django.db.transaction import TransactionManagementError

# Stand-ins for the keys while compiling: integers no table holds as a key.
_STAND_IN = -(2**52)


class CompiledRead:
    def __init__(self, build, *, using: str = DEFAULT_DB_ALIAS):
        self.build = build
        self.using = using
        self._compiled = {}  # by vendor: the SQL, its parameters and the row's shape

    def first(self, *keys: int):
        """What `build(*keys)` would give first, or None when it finds no row."""
        connection = connections[self.using]
        if self.build.__code__.co_argcount != len(keys):
            raise TypeError("give every key build takes")
        if connection.vendor not in self._compiled:
            stand_ins = [_STAND_IN - n for n in range(len(keys))]
            self._compiled[connection.vendor] = _Compiled(
                self.build(*stand_ins), connection, arity=len(keys)
            )
        compiled = self._compiled[connection.vendor]
        if compiled.locks and not connection.in_atomic_block:
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        params = list(compiled.params)
        for position, n in compiled.positions:
            params[position] = int(keys[n])
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            row = cursor.fetchone()
        return None if row is None else compiled.instance(row, connection, self.using)


class _Compiled:
    """One compiled read: its SQL and parameters (the keys' positions among them), and
    what the ORM's ModelIterable reads off its compiler to make a row an instance."""

    def __init__(self, queryset, connection, *, arity: int):
        compiler = queryset.query.get_compiler(connection=connection)
        self.locks = queryset.query.select_for_update
        if self.locks and not connection.in_atomic_block:
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        self.sql, params = compiler.as_sql()
        self.params = tuple(params)
        self.positions = [
            (position, _STAND_IN - value)
            for position, value in enumerate(params)
            if type(value) is int and _STAND_IN - value in range(arity)
        ]
        if {n for _position, n in self.positions} != set(range(arity)):
            raise ValueError("every key must reach the statement's parameters")
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
