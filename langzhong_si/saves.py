"""A record's named fields saved with one UPDATE built once (the status moves' hot path).

`fields_save(obj, fields)` does what `obj.save(update_fields=fields)` does: the same
signals (pre_save, then post_save with `update_fields`: simple-history writes its version
there, receivers see what they always saw), each field's value prepared as Model.save
prepares it (its pre_save with add=False, so an auto_now field stamps itself, then its
database form), one UPDATE of the row by primary key, and the same error when the row is
gone. Django's update path (a queryset, a filter, an update compiler) cost about 0.3 ms
of Python a save, several times the statement's own. The statement is built once per
model and fields and, on PostgreSQL with persistent connections, prepared once per
session (langzhong_si.prepared), so the server does not plan it each time either.

It takes that path only where Model.save would do nothing more: a model whose class (or
a parent below Model) defines its own save() runs it, unless that same class declares
with `plain_update(fields)` that an update of these fields leaves its save() nothing to
do (sites.models.AtSite: an update that names neither site nor agency). Model.save also
runs for a record without its key, an expression as a value (F(), a function, a database
default), proxy and multi-table models, and a field that writes its value through its own
SQL. An unsaved related object is refused as Model.save refuses it.
"""

from django.db import DatabaseError, connections, models, router, transaction
from django.db.models.signals import post_save, pre_save

from langzhong_si.prepared import prepared_execute, prepared_name

_STATEMENTS: dict[tuple[type[models.Model], tuple[str, ...], str], tuple] = {}


def fields_save(obj: models.Model, fields) -> None:
    """Save `fields` (names) of `obj` as `obj.save(update_fields=fields)` would."""
    fields = tuple(fields)
    model = type(obj)
    using = router.db_for_write(model, instance=obj)
    connection = connections[using]
    statement = _plain_statement(obj, fields, connection)
    if statement is None:
        obj.save(update_fields=fields)
        return
    name, sql, columns = statement
    obj._prepare_related_fields_for_save(operation_name="save")
    update_fields = frozenset(fields)
    pre_save.send(sender=model, instance=obj, raw=False, using=using, update_fields=update_fields)
    with transaction.mark_for_rollback_on_error(using=using):
        values = [
            field.get_db_prep_save(field.pre_save(obj, False), connection=connection)
            for field in columns
        ]
        values.append(model._meta.pk.get_db_prep_value(obj.pk, connection))
        with connection.cursor() as cursor:
            prepared_execute(connection, cursor, name, sql, values)
            if cursor.rowcount == 0:
                raise DatabaseError("Save with update_fields did not affect any rows.")
    obj._state.db = using
    obj._state.adding = False
    post_save.send(
        sender=model, instance=obj, created=False, update_fields=update_fields, raw=False,
        using=using,
    )  # fmt: skip


def _plain_statement(obj: models.Model, fields: tuple[str, ...], connection):
    """The UPDATE that saves `fields` of `obj` (see _statement), or None where Model.save
    must run (the module's docstring says when)."""
    model = type(obj)
    if not fields or obj.pk is None or not _saves_plainly(model, fields):
        return None
    statement = _statement(model, fields, connection)
    if statement is None or any(
        # An F(), a function, a database default: Model.save writes its SQL.
        hasattr(vars(obj).get(field.attname), "resolve_expression")
        for field in statement[2]
    ):
        return None
    return statement


def _saves_plainly(model: type[models.Model], fields: tuple[str, ...]) -> bool:
    """Whether Model.save is all that saving `fields` of a `model` runs: no class between
    it and Model defines save(), or each that does declares the update plain."""
    if model._meta.proxy or model._meta.parents:
        return False
    below_model = model.__mro__[: model.__mro__.index(models.Model)]
    return all(
        "save" not in vars(klass) or ("plain_update" in vars(klass) and klass.plain_update(fields))
        for klass in below_model
    )


def _statement(model: type[models.Model], fields: tuple[str, ...], connection):
    """(name, SQL, fields in the SQL's order), or None for a field this path does not
    write (not a plain concrete column, or one with its own placeholder)."""
    key = (model, fields, connection.alias)
    if key not in _STATEMENTS:
        meta = model._meta
        names = set(fields)
        columns = [
            field
            for field in meta.concrete_fields
            if (field.name in names or field.attname in names) and not field.primary_key
        ]
        known = {field.name for field in columns} | {field.attname for field in columns}
        if names - known:
            raise ValueError(
                "The following fields do not exist in this model, are m2m fields, primary "
                f"keys, or are non-concrete fields: {', '.join(sorted(names - known))}"
            )
        if any(field.generated or hasattr(field, "get_placeholder") for field in columns):
            _STATEMENTS[key] = None
        else:
            quote = connection.ops.quote_name
            assignments = ", ".join(f"{quote(field.column)} = %s" for field in columns)
            sql = (
                f"UPDATE {quote(meta.db_table)} SET {assignments} "  # noqa: S608 - the model's own
                f"WHERE {quote(meta.pk.column)} = %s"
            )
            _STATEMENTS[key] = (prepared_name("su_", sql), sql, columns)
    return _STATEMENTS[key]
