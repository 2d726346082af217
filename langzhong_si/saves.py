"""A record saved with one statement built once (the hot paths' status moves and inserts).

`fields_save(obj, fields)` does what `obj.save(update_fields=fields)` does, and
`record_insert(obj)` (or `record_create(Model, **values)`) what `obj.save(force_insert=True)`
(`Model.objects.create(**values)`) does for a new record: the same signals (pre_save,
then post_save with `update_fields`, or `created=True`: simple-history writes its version
there, receivers see what they always saw), each field's value prepared as Model.save
prepares it (its pre_save, so auto_now and auto_now_add stamp themselves, then its
database form), one UPDATE of the row by primary key (the same error when the row is
gone; raised where the UPDATE runs, later in the transaction when a `write` hook takes
it) or one INSERT returning the new key. Django's own path (a queryset, a filter or an
insert query, a compiler) cost about 0.3 ms of Python a save, several times the
statement's own. The statement is built once per model (and fields) and, on PostgreSQL
with persistent connections, prepared once per session (langzhong_si.prepared), so the
server does not plan it each time either.

It takes that path only where Model.save would do nothing more: Model.save runs for a
model whose class (or a parent below Model) defines its own save(), proxy and
multi-table models, a model ordered with respect to another, a record without its key
(an update) or with it (an insert: Model.save decides between UPDATE and INSERT), an
expression as a value (F(), a function, a database default), a field that writes its
value through its own SQL, and a field the database fills in besides the key. An
unsaved related object is refused as Model.save refuses it.

`record_new(Model, **values)` builds the new record `Model(**values)` builds, with less
work per field (record_create builds with it; the busy services' events, versions and
draws too); `record_from_db` the record a row read makes (the compiled reads').
"""

import copy
import datetime

from django.db import DatabaseError, IntegrityError, connections, models, router, transaction
from django.db.models import DEFERRED
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, post_save, pre_init, pre_save

from langzhong_si.prepared import prepared_execute, prepared_name

NO_ROW_UPDATED = "Save with update_fields did not affect any rows."  # Model.save's words
_STATEMENTS: dict[tuple[type[models.Model], tuple[str, ...], str], tuple] = {}
_INSERTS: dict[tuple[type[models.Model], str], tuple | None] = {}
_UNLESS_DUPLICATE: dict[tuple[str, tuple[str, ...]], tuple] = {}
_UNPLANNED = object()
_NEW_PLANS: dict[type[models.Model], tuple | None] = {}  # record_new's, by model
_PLAIN_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)
_FROM_DB = models.Model.from_db.__func__  # Model's own: record_from_db's path where it runs


def fields_save(obj: models.Model, fields, *, write=None) -> None:
    """Save `fields` (names) of `obj` as `obj.save(update_fields=fields)` would.

    `write(using, table, sql, values)`: may take the UPDATE (pyformat SQL and its values)
    to run it later in the same transaction (langzhong_si.batch), and answers whether it
    did; it then answers for the row being there, and the UPDATE is not run here."""
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
        if write is None or not write(using, model._meta.db_table, sql, values):
            with connection.cursor() as cursor:
                prepared_execute(connection, cursor, name, sql, values)
                if cursor.rowcount == 0:
                    raise DatabaseError(NO_ROW_UPDATED)
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
    if not fields or obj.pk is None or not _saves_plainly(model):
        return None
    statement = _statement(model, fields, connection)
    if statement is None or _holds_expression(obj, statement[2]):
        return None
    return statement


def record_insert_by(obj: models.Model, write, *, using: str) -> bool:
    """Save the new record `obj`, its key already taken, as `obj.save(force_insert=True)`
    would, its row written by `write` (a multi-row statement, say) instead of an INSERT
    here: pre_save, each field's pre_save (an auto_now_add stamps it once), then `write`
    gets a copy of it as it stands (a later change to `obj` is not written, as with
    Model.save), then post_save with created=True. False, and nothing done, where
    Model.save must run (the module's docstring says when) or `obj` has no key."""
    model = type(obj)
    if (
        obj.pk is None
        or not _saves_plainly(model)
        or _holds_expression(obj, model._meta.concrete_fields)
    ):
        return False
    obj._prepare_related_fields_for_save(operation_name="save")
    pre_save.send(sender=model, instance=obj, raw=False, using=using, update_fields=None)
    for field in model._meta.concrete_fields:
        field.pre_save(obj, True)
    write(copy.copy(obj))
    obj._state.adding, obj._state.db = False, using
    post_save.send(
        sender=model, instance=obj, created=True, update_fields=None, raw=False, using=using
    )
    return True


def _holds_expression(obj: models.Model, fields) -> bool:
    """Whether any of `fields` of `obj` holds an expression (an F(), a function, a
    database default): Model.save writes its SQL."""
    values = vars(obj)
    for field in fields:
        value = values.get(field.attname)
        if type(value) not in _NEVER_EXPRESSIONS and hasattr(value, "resolve_expression"):
            return True
    return False


# Values of these exact types are never expressions: no look for resolve_expression.
_NEVER_EXPRESSIONS = frozenset(
    {str, int, bool, float, type(None), datetime.datetime, datetime.date, dict, list}
)


def _saves_plainly(model: type[models.Model]) -> bool:
    """Whether Model.save is all that saving a `model` runs: no class between it and
    Model defines save(), and it is neither a proxy nor a child of another model."""
    if model._meta.proxy or model._meta.parents:
        return False
    below_model = model.__mro__[: model.__mro__.index(models.Model)]
    return all("save" not in vars(klass) for klass in below_model)


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


def record_create(model: type[models.Model], **values) -> models.Model:
    """`model.objects.create(**values)`: a new record, saved (record_insert)."""
    obj = record_new(model, **values)
    record_insert(obj)
    return obj


def record_new(model: type[models.Model], /, **values) -> models.Model:
    """`model(**values)`: the same new, unsaved record, built with less work per field.

    Model.__init__ asks every field, each time, how it is given (a related object, its
    key, its default) and catches a KeyError for each one not given: 8–20 µs a record of
    the busy models measured alone, about half that here, and a level-2 case builds about
    thirty-five (its audit events, row-history versions, draws, tasks). Here each model's
    fields are looked at once: the record gets every field's value in the same order, a
    related object through its descriptor (set and cached as Model.__init__ sets it), a
    key or a plain value as it is, the field's own default otherwise; a value DEFERRED
    leaves its field unset, as there. Model.__init__ runs instead where it would do more:
    a class of the model's that defines __init__ or __setattr__, a field that is not a
    plain column (a descriptor of its own, a generated or virtual field), anything
    listening to pre_init or post_init, or a keyword that is not a field's name, its
    attribute (`actor_id`) or `pk` (a property; its error)."""
    plan = _plan_of(model)
    if plan is None:
        return model(**values)
    fields, known, _attnames = plan
    if not values.keys() <= known:
        return model(**values)
    obj = model.__new__(model)
    obj._state = ModelState()
    into = obj.__dict__
    for name, attname, default in fields:
        if name in values:
            value = values[name]
            if name == attname:
                if value is not DEFERRED:
                    into[attname] = value
                continue
            if value is not DEFERRED:  # a related object: its descriptor checks and caches it
                setattr(obj, name, value)
            # Its key given too: set after it, as Model.__init__ sets it.
            if values.get(attname, DEFERRED) is not DEFERRED:
                setattr(obj, attname, values[attname])
        elif attname in values:
            if values[attname] is not DEFERRED:
                into[attname] = values[attname]
        else:
            into[attname] = default()
    if values.get("pk", DEFERRED) is not DEFERRED:  # the key's other name: set last, as there
        obj.pk = values["pk"]
    return obj


def record_from_db(model: type[models.Model], db: str, names, values) -> models.Model:
    """`model.from_db(db, names, values)`: the record a row read from `db` makes, built
    as record_new builds, where the row holds every column in the model's order (a read
    of some columns, a model with its own from_db, or one record_new leaves to
    Model.__init__ takes Django's own path)."""
    plan = _plan_of(model)
    if plan is None or getattr(model.from_db, "__func__", None) is not _FROM_DB:
        return model.from_db(db, names, values)
    _fields, _known, attnames = plan
    if len(values) != len(attnames):
        return model.from_db(db, names, values)
    obj = model.__new__(model)
    state = obj._state = ModelState()
    state.adding, state.db = False, db
    obj.__dict__.update(zip(attnames, values, strict=True))
    return obj


def _plan_of(model: type[models.Model]):
    """`model`'s plan (_new_plan), or None where Model.__init__ must run now (it has
    no plan, or something listens to pre_init or post_init: checked each time)."""
    plan = _NEW_PLANS.get(model, _UNPLANNED)
    if plan is _UNPLANNED:
        plan = _NEW_PLANS[model] = _new_plan(model)
    if plan is None or pre_init.has_listeners(model) or post_init.has_listeners(model):
        return None
    return plan


def _new_plan(model: type[models.Model]):
    """((name, attname, default) of each field in Model.__init__'s order, every name and
    attribute a keyword may give, the fields' attributes in order), or None where
    Model.__init__ must run (record_new)."""
    meta = model._meta
    own = [klass for klass in model.__mro__ if klass not in (models.Model, object)]
    if meta.abstract or any("__init__" in vars(k) or "__setattr__" in vars(k) for k in own):
        return None
    fields = []
    for field in meta.fields:
        if field.column is None or field.generated:
            return None
        if type(vars(model).get(field.attname)) not in _PLAIN_DESCRIPTORS:
            return None
        # Field.get_default() calls the field's default maker; ForeignKey's takes a key.
        plain = type(field).get_default is models.Field.get_default
        fields.append(
            (field.name, field.attname, field._get_default if plain else field.get_default)
        )
    known = frozenset(name for name, _, _ in fields) | {attname for _, attname, _ in fields}
    known |= {"pk"}
    return tuple(fields), known, tuple(attname for _, attname, _ in fields)


def record_insert(obj: models.Model, *, unless_duplicate: tuple[str, ...] = ()) -> bool:
    """Save the new record `obj` as `obj.save(force_insert=True)` would; True.

    `unless_duplicate`: the fields of one of the table's unique constraints; a row with
    the same values there is not written again, and False is returned with `obj` left
    unsaved (no post_save). One statement (INSERT … ON CONFLICT (those columns) DO
    NOTHING), no savepoint; any other refusal (another constraint, a missing related
    row) raises as Model.save raises it. Where Model.save runs instead, it runs in a
    savepoint, and its IntegrityError is that False only when such a row is there."""
    model = type(obj)
    using = router.db_for_write(model, instance=obj)
    connection = connections[using]
    statement = _plain_insert(obj, connection)
    if statement is None:
        if not unless_duplicate:
            obj.save(force_insert=True, using=using)
            return True
        try:
            with transaction.atomic(using=using):
                obj.save(force_insert=True, using=using)
        except IntegrityError:
            same = {
                name: getattr(obj, model._meta.get_field(name).attname) for name in unless_duplicate
            }
            if model._base_manager.using(using).filter(**same).exists():
                return False
            raise
        return True
    if unless_duplicate:
        statement = _unless_duplicate(model, statement, unless_duplicate, connection)
    name, sql, columns = statement
    obj._prepare_related_fields_for_save(operation_name="save")
    pre_save.send(sender=model, instance=obj, raw=False, using=using, update_fields=None)
    with transaction.mark_for_rollback_on_error(using=using):
        values = [
            field.get_db_prep_save(field.pre_save(obj, True), connection=connection)
            for field in columns
        ]
        with connection.cursor() as cursor:
            prepared_execute(connection, cursor, name, sql, values)
            row = cursor.fetchone()
    if row is None:  # a duplicate, not written
        return False
    setattr(obj, model._meta.pk.attname, row[0])
    obj._state.db = using
    obj._state.adding = False
    post_save.send(
        sender=model, instance=obj, created=True, update_fields=None, raw=False, using=using
    )
    return True


def _unless_duplicate(model, statement: tuple, fields: tuple[str, ...], connection) -> tuple:
    """The INSERT `statement`, writing nothing where a row with the same `fields` is."""
    key = (statement[0], fields)
    if key not in _UNLESS_DUPLICATE:
        name, sql, columns = statement
        quote = connection.ops.quote_name
        target = ", ".join(quote(model._meta.get_field(field).column) for field in fields)
        head, returning = sql.rsplit(" RETURNING ", 1)
        quiet = f"{head} ON CONFLICT ({target}) DO NOTHING RETURNING {returning}"
        _UNLESS_DUPLICATE[key] = (prepared_name("si_", quiet), quiet, columns)
    return _UNLESS_DUPLICATE[key]


def _plain_insert(obj: models.Model, connection):
    """The INSERT that saves the new `obj` (see _insert), or None where Model.save must
    run (the module's docstring says when)."""
    model = type(obj)
    if obj.pk is not None or not obj._state.adding or not _saves_plainly(model):
        return None
    statement = _insert(model, connection)
    if statement is None or _holds_expression(obj, statement[2]):
        return None
    return statement


def _insert(model: type[models.Model], connection):
    """(name, SQL, fields in the SQL's order) of the INSERT of one `model` row without
    its key, returning the key the database gives it; None where this path cannot write
    what Model.save would."""
    key = (model, connection.alias)
    if key not in _INSERTS:
        meta = model._meta
        columns = [
            field
            for field in meta.local_concrete_fields
            if not field.generated and field is not meta.auto_field
        ]
        if (
            # A key of Django's own integer types: read back as it comes, no converter.
            type(meta.pk) not in (models.AutoField, models.BigAutoField, models.SmallAutoField)
            or meta.pk is not meta.auto_field
            or meta.db_returning_fields != [meta.pk]
            or meta.order_with_respect_to is not None
            or not connection.features.can_return_columns_from_insert
            or any(field.has_db_default() or hasattr(field, "get_placeholder") for field in columns)
        ):
            _INSERTS[key] = None
        else:
            quote = connection.ops.quote_name
            sql = (
                f"INSERT INTO {quote(meta.db_table)} "  # noqa: S608 - the model's own table
                f"({', '.join(quote(field.column) for field in columns)}) "
                f"VALUES ({', '.join(['%s'] * len(columns))}) "
                f"RETURNING {quote(meta.pk.column)}"
            )
            _INSERTS[key] = (prepared_name("si_", sql), sql, columns)
    return _INSERTS[key]
