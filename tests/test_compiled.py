"""Hot keyed reads compiled once per process (langzhong_si.compiled): the same instances
as the ORM's own read, one statement each time, compiled at the first call only."""

import datetime
import hashlib
import inspect
import re
from unittest import mock

import pytest
from django.db import connection, connections, models, transaction
from django.db.models import OuterRef, Subquery
from django.db.models.query import RelatedPopulator
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import ServiceItem
from counters import services as counter_services
from counters.models import Ticket, Window
from langzhong_si.compiled import CompiledRead
from risk.models import ItemRiskPolicy, ReviewTask
from risk.selectors import items_with_chain
from tests.factories import ItemFactory, make_id_number

pytestmark = pytest.mark.django_db


def _item_read(item_id):
    return items_with_chain(ServiceItem.objects.select_related("category")).filter(pk=item_id)


def _window_locked(clerk_id):
    return (
        Window.objects.select_for_update(of=("self", "current_ticket"))
        .select_related("current_ticket")
        .filter(clerk_id=clerk_id, current_ticket__isnull=False)
    )


def _fields(obj) -> dict:
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def test_a_compiled_read_gives_the_orm_s_instance_its_related_object_and_annotations(hall):
    ItemRiskPolicy.objects.create(item=hall.item, steps=["review", "approval"], step_hours=6)
    compiled = CompiledRead(_item_read).first(hall.item.pk)
    orm = _item_read(hall.item.pk).get()
    assert _fields(compiled) == _fields(orm)
    assert _fields(compiled.category) == _fields(orm.category)
    assert (compiled.policy_steps, compiled.policy_step_hours) == (["review", "approval"], 6)
    assert compiled._state.adding is False and compiled._state.db == "default"


def test_its_datetimes_come_back_as_the_orm_gives_them(hall):
    counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    counter_services.window_declare_ready(clerk=hall.li_na)
    counter_services.ticket_issue(item=hall.item)
    read = CompiledRead(_window_locked)
    with transaction.atomic():
        window = read.first(hall.li_na.pk)
        orm = _window_locked(hall.li_na.pk).get()
    assert isinstance(window.current_ticket.called_at, datetime.datetime)
    assert window.current_ticket.called_at == orm.current_ticket.called_at
    assert _fields(window) == _fields(orm)


def test_each_call_takes_its_own_keys(hall):
    other = ItemFactory()
    read = CompiledRead(_item_read)
    assert read.first(hall.item.pk).pk == hall.item.pk
    assert read.first(other.pk).pk == other.pk


def test_no_row_gives_none():
    assert CompiledRead(_item_read).first(-1) is None


def test_the_query_is_built_only_to_compile_and_each_call_is_one_statement(hall):
    built = []

    def build(item_id):
        built.append(item_id)
        return _item_read(item_id)

    read = CompiledRead(build)
    read.first(hall.item.pk)
    with CaptureQueriesContext(connection) as queries:
        assert read.first(hall.item.pk).code == hall.item.code
    assert len(built) == 2, "twice with stand-ins, at the first call only"
    assert hall.item.pk not in built
    assert len(queries) == 1


@pytest.mark.postgres  # SQLite has no row locks: the ORM does not refuse it there
@pytest.mark.django_db(transaction=True)  # the test's own transaction would hide it
def test_a_locking_read_is_refused_outside_a_transaction(hall):
    read = CompiledRead(_window_locked)
    with pytest.raises(TransactionManagementError):
        read.first(hall.li_na.pk)  # when compiling
    with transaction.atomic():
        read.first(hall.li_na.pk)
    with pytest.raises(TransactionManagementError):
        read.first(hall.li_na.pk)  # compiled already


def test_a_build_whose_key_does_not_reach_the_statement_is_refused():
    with pytest.raises(ValueError, match="every key"):
        CompiledRead(lambda item_id: ServiceItem.objects.filter(at_counter=True)).first(1)


def test_a_build_whose_key_changes_more_than_its_parameter_is_refused():
    read = CompiledRead(lambda item_id: ServiceItem.objects.filter(pk=item_id, code=str(item_id)))
    with pytest.raises(ValueError, match="change the statement"):
        read.first(1)


def test_a_key_beyond_64_bits_finds_nothing_as_in_the_orm(hall):
    assert CompiledRead(_item_read).first(2**63) is None
    assert not _item_read(2**63).exists()


def test_it_reads_as_first_does_the_lowest_key_of_an_unordered_match():
    items = [ItemFactory() for _ in range(3)]
    read = CompiledRead(lambda low: ServiceItem.objects.filter(pk__gte=low).order_by())
    assert read.first(items[1].pk).pk == items[1].pk
    newest = CompiledRead(lambda low: ServiceItem.objects.filter(pk__gte=low).order_by("-pk"))
    assert newest.first(items[1].pk).pk == items[2].pk, "its own order kept"


def test_a_call_with_the_wrong_number_of_keys_is_refused(hall):
    with pytest.raises(TypeError):
        CompiledRead(_item_read).first(hall.item.pk, 2)


def _items_in(*item_ids):
    return ServiceItem.objects.filter(pk__in=item_ids)


def test_a_build_of_any_number_of_keys_reads_an_in_list_of_the_length_declared(hall):
    items = [hall.item, ItemFactory(), ItemFactory()]
    read = CompiledRead(_items_in, keys=(int,) * 3)
    assert read.all(items[2].pk, items[0].pk, -5) == [items[0], items[2]]
    assert read.all(items[1].pk, items[1].pk, items[1].pk) == [items[1]]  # named thrice
    with pytest.raises(TypeError):
        read.all(items[0].pk)


def test_a_build_of_any_number_of_keys_needs_its_keys_declared():
    with pytest.raises(TypeError):
        CompiledRead(_items_in)


def test_a_decision_reads_its_task_and_case_compiled(hall):
    from cases.services import case_accept
    from inbox import services as inbox_services
    from inbox.services import review_task_decide

    counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    counter_services.window_declare_ready(clerk=hall.li_na)
    counter_services.ticket_issue(item=hall.item)
    case = case_accept(
        clerk=hall.li_na, item_id=hall.item.pk, applicant_name="王大山",
        id_number=make_id_number(), received_material_ids={hall.material.pk},
    )  # fmt: skip
    task = ReviewTask.objects.get(case=case)
    with mock.patch.object(
        inbox_services._TASK_LOCKED, "first", wraps=inbox_services._TASK_LOCKED.first
    ) as read:
        decided = review_task_decide(task_id=task.pk, actor=task.assignee, decision="approve")
    read.assert_called_once_with(task.pk)
    assert decided.case.item.pk == hall.item.pk
    assert decided.status == ReviewTask.Status.APPROVED
    with pytest.raises(ReviewTask.DoesNotExist):
        review_task_decide(task_id=-5, actor=task.assignee, decision="approve")


def test_a_subquery_s_outer_reference_is_not_taken_for_a_key(hall):
    read = CompiledRead(
        lambda item_id: ServiceItem.objects.annotate(
            same=Subquery(ServiceItem.objects.filter(pk=OuterRef("pk")).values("pk")[:1])
        ).filter(pk=item_id)
    )
    assert read.first(hall.item.pk).same == hall.item.pk


def _issued_by(site_id, service_date, queue, now):
    return Ticket.objects.filter(
        site_id=site_id, service_date=service_date, queue=queue, issued_at__lte=now
    )


_TYPED = (int, datetime.date, str, datetime.datetime)


def test_dates_strings_and_times_declared_as_keys_each_take_their_value(hall):
    ticket = counter_services.ticket_issue(item=hall.item)
    read = CompiledRead(_issued_by, keys=_TYPED)
    # The time in the hall's zone: SQLite keeps times as UTC text, the adapter converts.
    keys = [ticket.site_id, ticket.service_date, ticket.queue, timezone.localtime()]
    assert read.first(*keys).pk == ticket.pk
    for n, other in (
        (1, ticket.service_date + datetime.timedelta(days=1)),
        (2, "X"),
        (3, timezone.localtime(ticket.issued_at - datetime.timedelta(seconds=1))),
    ):
        assert read.first(*keys[:n], other, *keys[n + 1 :]) is None, n
        assert not _issued_by(*keys[:n], other, *keys[n + 1 :]).exists(), n


@pytest.mark.parametrize(
    "wrong",
    [
        pytest.param((1, "2026-12-03", "A", "2026-12-03T10:00Z"), id="text-for-a-date"),
        pytest.param((1, datetime.date(2026, 12, 3), 7, None), id="number-for-text"),
        pytest.param(
            (1, datetime.datetime(2026, 12, 3, tzinfo=datetime.UTC), "A", None),
            id="time-for-a-date",
        ),
    ],
)
def test_a_key_of_another_type_than_declared_is_refused(wrong):
    with pytest.raises(TypeError):
        CompiledRead(_issued_by, keys=_TYPED).first(*wrong)


def test_a_time_without_its_zone_is_refused():
    with pytest.raises(ValueError, match="zone"):
        CompiledRead(_issued_by, keys=_TYPED).first(
            1,
            datetime.date(2026, 12, 3),
            "A",
            datetime.datetime(2026, 12, 3, 10),  # noqa: DTZ001 - the naive time refused
        )


@pytest.mark.parametrize("lookup", ["contains", "icontains", "startswith", "endswith"])
def test_a_string_key_a_lookup_would_escape_or_wrap_is_refused(lookup):
    read = CompiledRead(
        lambda code: ServiceItem.objects.filter(**{f"code__{lookup}": code}), keys=(str,)
    )
    with pytest.raises(ValueError, match="every key"):
        read.first("A_1")


def test_types_are_declared_one_per_key():
    with pytest.raises(TypeError):
        CompiledRead(_issued_by, keys=(int, datetime.date))
    with pytest.raises(TypeError):
        CompiledRead(lambda amount: Ticket.objects.filter(pk=amount), keys=(float,))


def test_all_reads_every_row_in_the_querysets_order_and_first_still_one():
    items = [ItemFactory() for _ in range(3)]
    newest = CompiledRead(lambda low: ServiceItem.objects.filter(pk__gte=low).order_by("-pk"))
    assert [item.pk for item in newest.all(items[0].pk)] == [item.pk for item in items[::-1]]
    assert newest.first(items[0].pk).pk == items[2].pk
    unordered = CompiledRead(lambda low: ServiceItem.objects.filter(pk__gte=low).order_by())
    assert [item.pk for item in unordered.all(items[1].pk)] == [items[1].pk, items[2].pk]
    assert newest.all(items[2].pk + 1) == [] and newest.all(2**63) == []


def _prepared_texts() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements")
        return dict(cursor.fetchall())


# A constant with the driver's and the placeholders' own signs (LIKE escapes it to hold
# "\\%s", "%%(x)s"), and SQL of the build's own with a doubled percent sign.
_ODD = "5%s%%(x)s O'B"


def _items_named(item_id, name):
    return ServiceItem.objects.filter(pk=item_id, name=name, name__startswith=_ODD).extra(
        where=['"catalog_serviceitem"."name" NOT LIKE \'%%zz%%\'']
    )


@pytest.mark.postgres
def test_on_postgresql_it_runs_prepared_with_its_constants_written_in_and_its_keys_as_values(
    settings,
):
    settings.DATABASE_PREPARED_STATEMENTS = True
    item = ItemFactory(name=_ODD + "rien 低保")
    ItemFactory(name=_ODD + "zz")
    read = CompiledRead(_items_named, keys=(int, str))
    assert read.first(item.pk, item.name) == item
    assert read.first(item.pk, _ODD) is None
    name, _text = read._compiled[connections["default"]][True].prepared(None)
    statement = _prepared_texts()[name]
    # The constant is in the text as the driver writes it; each key is a value of EXECUTE.
    assert "LIKE '5\\%s\\%\\%(x)s O''B%'" in statement
    assert "NOT LIKE '%zz%'" in statement
    placeholders = set(re.findall(r"\$\d+(?:::bigint)?", statement))
    assert placeholders in ({"$1::bigint", "$2"}, {"$1", "$2::bigint"})  # the id's a bigint


@pytest.mark.postgres
def test_an_integer_key_beyond_its_columns_range_finds_nothing_as_in_the_orm(settings):
    settings.DATABASE_PREPARED_STATEMENTS = True
    read = CompiledRead(lambda clerk_id: Window.objects.filter(clerk_id=clerk_id))
    with transaction.atomic():
        assert read.first(2**40) is None
        assert Window.objects.filter(clerk_id=2**40).first() is None  # still usable


@pytest.mark.postgres
def test_without_persistent_connections_it_runs_as_it_is(settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    item = ItemFactory(name=_ODD + ", not prepared")
    before = _prepared_texts()
    with CaptureQueriesContext(connection) as queries:
        assert CompiledRead(_items_named, keys=(int, str)).first(item.pk, item.name) == item
    assert queries[0]["sql"].startswith("SELECT")
    assert _prepared_texts() == before


def _level_two_case(hall):
    from cases.services import case_accept

    counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    counter_services.window_declare_ready(clerk=hall.li_na)
    counter_services.ticket_issue(item=hall.item)
    return case_accept(
        clerk=hall.li_na, item_id=hall.item.pk, applicant_name="王大山",
        id_number=make_id_number(), received_material_ids={hall.material.pk},
    )  # fmt: skip


def _task_read(task_id):
    return ReviewTask.objects.select_related("case__item", "draw").filter(pk=task_id)


def test_records_related_in_turn_are_the_orm_s_and_built_without_model_init(hall, monkeypatch):
    """select_related's records, and theirs in turn, are the ones the ORM's read makes
    (fields, state, cached relations), built from the row's values without
    Model.__init__ and without a query of their own."""
    case = _level_two_case(hall)
    task_id = ReviewTask.objects.get(case=case).pk
    read = CompiledRead(_task_read)
    read.first(task_id)  # compiled (and its populators built) before counting
    built = []
    original = models.Model.__init__

    def init(self, *args, **kwargs):
        built.append(type(self).__name__)
        original(self, *args, **kwargs)

    monkeypatch.setattr(models.Model, "__init__", init)
    with CaptureQueriesContext(connection) as queries:
        task = read.first(task_id)
        related = (task.case, task.case.item, task.draw)
    assert built == [] and len(queries) == 1
    orm = _task_read(task_id).get()
    for mine, theirs in zip(related, (orm.case, orm.case.item, orm.draw), strict=True):
        assert _fields(mine) == _fields(theirs)
        assert (mine._state.adding, mine._state.db) == (False, "default")


def test_a_one_to_one_record_read_with_its_holder_knows_its_holder(hall):
    """The related record's side of a one-to-one is set too, as the ORM sets it."""
    case = _level_two_case(hall)
    task = CompiledRead(_task_read).first(ReviewTask.objects.get(case=case).pk)
    with CaptureQueriesContext(connection) as queries:
        assert task.draw.reviewtask is task
    assert len(queries) == 0


def test_a_missing_related_record_is_none_as_in_the_orm(hall):
    read = CompiledRead(lambda pk: Window.objects.select_related("current_ticket").filter(pk=pk))
    window = read.first(hall.window.pk)
    with CaptureQueriesContext(connection) as queries:
        assert window.current_ticket is None
    assert len(queries) == 0


def test_the_record_populator_copies_the_populate_of_this_django():
    """_RecordPopulator.populate is Django's RelatedPopulator.populate with the record
    built as record_from_db builds it; a Django whose populate changed fails here, for
    the copy to be read against it again."""
    source = inspect.getsource(RelatedPopulator.populate)
    assert hashlib.sha256(source.encode()).hexdigest() == (
        "c939cb628b0376fe22af9560079be71075684084e6312e39d422a66ee7b7eebe"
    ), source


# --- raw_first: a written-out statement's row as a record --------------------------------------


def _fields(record):
    return {field.attname: getattr(record, field.attname) for field in type(record)._meta.fields}


@pytest.mark.postgres
def test_a_written_out_rows_record_is_the_orms_whatever_the_columns_order():
    from langzhong_si.compiled import raw_first

    item = ItemFactory()
    columns = ", ".join(
        f'"{field.column}"' for field in reversed(ServiceItem._meta.concrete_fields)
    )
    sql = f"SELECT {columns}, 7 AS lucky FROM {ServiceItem._meta.db_table} WHERE id = %s"  # noqa: S608
    record = raw_first(ServiceItem, "test_raw_first_item", sql, [item.pk])
    assert _fields(record) == _fields(ServiceItem.objects.get(pk=item.pk))
    assert (record._state.adding, record._state.db, record.lucky) == (False, "default", 7)


@pytest.mark.postgres
def test_a_written_out_statement_with_no_row_gives_none():
    from langzhong_si.compiled import raw_first

    sql = f"SELECT * FROM {ServiceItem._meta.db_table} WHERE id = %s"  # noqa: S608
    assert raw_first(ServiceItem, "test_raw_first_none", sql, [-1]) is None


@pytest.mark.postgres
def test_a_written_out_read_of_a_model_whose_fields_need_converting_is_refused():
    from audit.models import AuditEvent
    from langzhong_si.compiled import raw_first

    sql = f"SELECT * FROM {AuditEvent._meta.db_table} ORDER BY id DESC LIMIT %s"  # noqa: S608
    with pytest.raises(ValueError, match="converters"):  # its data is JSON
        raw_first(AuditEvent, "test_raw_first_event", sql, [1])
