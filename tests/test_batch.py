"""Audit events and row history batched per transaction (langzhong_si.batch): written together
before the block ends, inside the transaction, so none is lost and none outlives a
rollback."""

import datetime
import re
from contextlib import contextmanager

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.translation import gettext_lazy

from audit.chain import audit_chain_all
from audit.models import AuditEvent
from audit.services import audit_event_record, audit_log_verify
from catalog.models import InsuranceCategory
from counters import services as counter_services
from counters.models import Ticket
from draws.models import Draw
from draws.services import daily_seed_commit, draw_record
from langzhong_si import batch
from langzhong_si.batch import (
    audit_batch_add,
    audit_batch_reads_only,
    audit_writes_batched,
    batched_fields_save,
)
from langzhong_si.prepared import _session_new, prepared_execute
from sites.defaults import home_agency_id
from staff.models import Notification
from staff.roles import Role
from tests.factories import CategoryFactory, ItemFactory, make_staff

pytestmark = pytest.mark.django_db


class _RolledBack(Exception):
    pass


@contextmanager
def _savepoint_rolled_back():
    """A savepoint whose block runs to its end and is then rolled back."""
    try:
        with transaction.atomic():
            yield
            raise _RolledBack
    except _RolledBack:
        pass


def _kinds() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("data__n", flat=True))


def test_events_and_history_are_written_together_before_the_block_ends(
    django_assert_num_queries,
):
    category = CategoryFactory()
    with transaction.atomic(), audit_writes_batched():
        with django_assert_num_queries(1):  # the category's UPDATE; nothing else yet
            category.name = "新名称"
            category.save(update_fields=["name"])
            first = audit_event_record(event_type="test.event", data={"n": 1})
            second = audit_event_record(event_type="test.event", data={"n": 2})
        assert first.pk is None
    assert first.pk < second.pk
    assert _kinds() == [1, 2]
    assert category.history.first().name == "新名称"


@pytest.mark.postgres  # SQLite inserts into each table separately
def test_the_flush_is_one_statement_on_postgresql(django_assert_num_queries, settings):
    settings.DATABASE_PREPARED_STATEMENTS = False  # its text as sent
    category = CategoryFactory()
    # The savepoint, the UPDATE, the flush, the release.
    with (
        django_assert_num_queries(4) as queries,
        transaction.atomic(),
        audit_writes_batched(),
    ):
        category.name = "新名称"
        category.save(update_fields=["name"])
        audit_event_record(event_type="test.event", data={"n": 1})
    flush = queries.captured_queries[2]["sql"]
    assert flush.startswith("WITH") and "catalog_historicalinsurancecategory" in flush
    assert AuditEvent.objects.filter(event_type="test.event").count() == 1
    assert category.history.filter(name="新名称").exists()


@pytest.mark.postgres
def test_a_flush_met_again_in_the_session_is_prepared_once_with_its_text(settings):
    """The same services write the same tables in the same numbers: a flush's text met a
    second time in the session is prepared and executed from then on (the server does not
    plan its CTEs each time); met once, it costs no PREPARE."""
    settings.DATABASE_PREPARED_STATEMENTS = True
    category = CategoryFactory()
    _session_new(None, connection)  # a session that met no flush yet
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    with CaptureQueriesContext(connection) as queries:
        for n in range(3):
            with transaction.atomic(), audit_writes_batched():
                category.name = f"新名称{n}"
                category.save(update_fields=["name"])
                audit_event_record(event_type="test.event", data={"n": n})
    flushes = [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith(("WITH", "EXECUTE ab_"))
    ]
    assert [flush.split()[0] for flush in flushes] == ["WITH", "EXECUTE", "EXECUTE"]
    name = flushes[1].split()[1].split("(")[0]
    assert flushes[2].split()[1].split("(")[0] == name
    text = connection.prepared_statements[name]
    assert text.startswith("WITH") and "catalog_historicalinsurancecategory" in text
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = %s", [name])
        assert cursor.fetchone() == (1,)
    assert AuditEvent.objects.filter(event_type="test.event").count() == 3
    assert [h.name for h in category.history.all()[:3]] == ["新名称2", "新名称1", "新名称0"]


@pytest.mark.postgres
def test_the_same_rows_recorded_in_another_order_make_the_same_flush_text(settings):
    """One text for the same rows, whichever table's row came first: a session prepares
    it once (the tables in one order, the audit log last)."""
    settings.DATABASE_PREPARED_STATEMENTS = False  # the texts as sent
    category, item = CategoryFactory(), ItemFactory()
    with CaptureQueriesContext(connection) as queries:
        for n, first, second in ((1, category, item), (2, item, category)):
            with transaction.atomic(), audit_writes_batched():
                for record in (first, second):
                    record.name = f"新名称{n}"
                    record.save(update_fields=["name"])
                audit_event_record(event_type="test.event", data={"n": n})
    tables = [
        re.findall(r'INSERT INTO "(\w+)"', q["sql"]) for q in queries if q["sql"].startswith("WITH")
    ]
    assert len(tables) == 2 and tables[0] == tables[1]
    assert len(tables[0]) == 3 and tables[0][-1] == "audit_auditevent"


def test_a_version_written_by_the_batch_is_the_one_model_save_writes(hall):
    ticket = counter_services.ticket_issue(item=hall.item)
    ticket.status = Ticket.Status.WAITING  # a choice's member, prepared as its value
    ticket.applicant_id_digest = gettext_lazy("digest")  # a lazy text, prepared as its text
    with transaction.atomic(), audit_writes_batched():
        ticket.save(update_fields=["status", "applicant_id_digest"])
    ticket.save(update_fields=["status", "applicant_id_digest"])  # outside a batch: saved alone
    batched, alone = Ticket.history.filter(id=ticket.pk).order_by("-history_id")[:2][::-1]
    assert _version(batched) == _version(alone)
    assert batched.applicant_id_digest == "digest" and batched.is_priority is False


def _version(row) -> dict:
    return {
        field.attname: getattr(row, field.attname)
        for field in row._meta.concrete_fields
        if field.attname not in ("history_id", "history_date")
    }


def test_the_rows_are_in_the_transaction_before_it_commits():
    with transaction.atomic():
        with audit_writes_batched():
            event = audit_event_record(event_type="test.event", data={"n": 1})
        assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_reading_the_log_inside_the_block_sees_its_own_events():
    with transaction.atomic(), audit_writes_batched():
        audit_event_record(event_type="test.event", data={"n": 1})
        assert _kinds() == [1]


def test_an_exception_caught_before_the_commit_still_writes_the_events():
    with transaction.atomic():
        try:
            with audit_writes_batched():
                audit_event_record(event_type="test.event", data={"n": 1})
                raise ValueError("caught below")
        except ValueError:
            pass
    assert _kinds() == [1]


def test_events_of_a_rolled_back_savepoint_are_dropped_and_the_others_kept():
    with transaction.atomic(), audit_writes_batched():
        audit_event_record(event_type="test.event", data={"n": 1})
        with _savepoint_rolled_back():
            audit_event_record(event_type="test.event", data={"n": 2})
        audit_event_record(event_type="test.event", data={"n": 3})
    assert _kinds() == [1, 3]


def test_events_recorded_before_a_savepoint_survive_its_rollback_after_a_read_of_the_log():
    with transaction.atomic(), audit_writes_batched():
        audit_event_record(event_type="test.event", data={"n": 1})
        with _savepoint_rolled_back():
            audit_event_record(event_type="test.event", data={"n": 2})
            assert _kinds() == [1, 2]  # the read writes both first
    assert _kinds() == [1]


def test_a_failed_transaction_writes_nothing_and_raises_its_own_error():
    taken = CategoryFactory()
    with pytest.raises(IntegrityError), transaction.atomic(), audit_writes_batched():
        audit_event_record(event_type="test.event", data={"n": 1})
        InsuranceCategory.objects.create(code=taken.code, name="重复")
    assert not AuditEvent.objects.filter(event_type="test.event").exists()


def test_a_nested_block_leaves_the_writing_to_the_outer_one():
    with transaction.atomic(), audit_writes_batched():
        with audit_writes_batched():
            inner = audit_event_record(event_type="test.event", data={"n": 1})
        assert inner.pk is None
    assert inner.pk is not None


@pytest.mark.django_db(transaction=True)
def test_a_batch_outside_a_transaction_is_refused():
    # It would have nothing to flush before: the rows must never wait past a commit.
    with pytest.raises(TransactionManagementError), audit_writes_batched():
        pass


@pytest.mark.django_db(transaction=True)
def test_committed_batched_events_are_chained_and_verify():
    for n in range(3):
        with transaction.atomic(durable=True), audit_writes_batched():
            audit_event_record(event_type="test.event", data={"n": 2 * n})
            audit_event_record(event_type="test.event", data={"n": 2 * n + 1})
    audit_chain_all()
    chained = AuditEvent.objects.filter(position__isnull=False).order_by("position")
    assert list(chained.values_list("data__n", flat=True)) == [0, 1, 2, 3, 4, 5]
    assert audit_log_verify() is None


def test_a_read_of_part_of_the_log_leaves_the_events_it_would_not_read_waiting():
    with transaction.atomic(), audit_writes_batched():
        event = audit_event_record(event_type="test.event", data={"n": 1})
        with audit_batch_reads_only(AuditEvent, lambda row: row.data["n"] == 2):
            assert _kinds() == []  # the read looks for n = 2 only: n = 1 waits
        assert event.pk is None
    assert _kinds() == [1]  # and is written with the block's one write


def test_a_read_of_part_of_the_log_writes_first_an_event_it_could_read():
    with transaction.atomic(), audit_writes_batched():
        audit_event_record(event_type="test.event", data={"n": 1})
        audit_event_record(event_type="test.event", data={"n": 2})
        with audit_batch_reads_only(AuditEvent, lambda row: row.data["n"] == 2):
            assert _kinds() == [1, 2]  # all written before the read that could see n = 2
        event = audit_event_record(event_type="test.event", data={"n": 3})
        assert _kinds() == [1, 2, 3]  # outside the block, every waiting event counts again
        assert event.pk is not None


@pytest.mark.postgres  # keys from a sequence: SQLite's draws insert their own rows
def test_a_draw_is_written_with_the_batch_under_the_key_taken_with_its_number(
    django_assert_num_queries,
):
    pool = [make_staff(Role.REVIEWER).pk, make_staff(Role.REVIEWER).pk]
    agency_id = home_agency_id()
    daily_seed_commit(day=timezone.localdate(), agency_id=agency_id)
    with transaction.atomic(), audit_writes_batched():
        with django_assert_num_queries(1):  # its number, the seed and its key, in one read
            draw = draw_record(
                purpose="review", subject="test:1", pool=pool, excluded=[], agency_id=agency_id
            )
        assert draw.pk is not None
        assert Draw.objects.filter(pk=draw.pk).exists()  # a read of the draws writes it first
    event = AuditEvent.objects.get(event_type="draw.made")
    assert event.object_id == str(draw.pk)
    assert Draw.objects.get(pk=draw.pk).chosen_id == draw.chosen_id


# --- Status moves' UPDATEs (batched_fields_save) -------------------------------------------


def _name_of(category) -> str:
    return InsuranceCategory.objects.values_list("name", flat=True).get(pk=category.pk)


@pytest.mark.postgres  # elsewhere the UPDATE runs at once
def test_an_update_waits_for_the_batch_and_is_written_in_its_one_statement(
    django_assert_num_queries, settings
):
    settings.DATABASE_PREPARED_STATEMENTS = False  # its text as sent
    category = CategoryFactory(name="旧名称")
    # The savepoint, the flush, the release: no statement of the UPDATE's own.
    with (
        django_assert_num_queries(3) as queries,
        transaction.atomic(),
        audit_writes_batched(),
    ):
        category.name = "新名称"
        batched_fields_save(category, ["name"])
        audit_event_record(event_type="test.event", data={"n": 1})
    flush = queries.captured_queries[1]["sql"]
    assert "UPDATE" in flush and "INSERT INTO" in flush
    assert _name_of(category) == "新名称"
    assert category.history.first().name == "新名称"  # its version, with the same write
    assert _kinds() == [1]


@pytest.mark.postgres
def test_events_written_with_an_update_take_their_keys_in_the_order_recorded():
    category = CategoryFactory()
    with transaction.atomic(), audit_writes_batched():
        events = [audit_event_record(event_type="test.event", data={"n": n}) for n in range(4)]
        category.name = "新名称"
        batched_fields_save(category, ["name"])
    for event in events:
        assert AuditEvent.objects.get(pk=event.pk).data == event.data


@pytest.mark.postgres
def test_a_read_of_the_updated_table_writes_the_update_first():
    category = CategoryFactory(name="旧名称")
    with transaction.atomic(), audit_writes_batched():
        category.name = "新名称"
        batched_fields_save(category, ["name"])
        assert _name_of(category) == "新名称"


@pytest.mark.postgres
def test_an_update_whose_row_is_gone_raises_as_model_save_does_when_it_is_written():
    category = CategoryFactory()
    category.pk = category.pk + 1000  # no such row
    waited = False
    with (
        pytest.raises(DatabaseError, match="did not affect any rows"),
        transaction.atomic(),
        audit_writes_batched(),
    ):
        batched_fields_save(category, ["name"])
        waited = True  # the UPDATE waits for the block's end
    assert waited


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_failed_write_of_a_waiting_update_ends_the_transaction_whoever_catches_it():
    category = CategoryFactory()
    category.pk = category.pk + 1000  # no such row
    with transaction.atomic(), audit_writes_batched():
        batched_fields_save(category, ["name"])
        audit_event_record(event_type="test.event", data={"n": 1})
        try:
            with transaction.atomic():  # its opening writes the waiting update: refused
                pass
        except DatabaseError:
            pass  # caught, as get_or_create's own savepoint would catch it
    # The block ended without an error, and yet the move's event was not committed.
    assert not AuditEvent.objects.filter(event_type="test.event").exists()


@pytest.mark.postgres
def test_a_read_through_a_prepared_statement_writes_a_waiting_update_first(settings):
    settings.DATABASE_PREPARED_STATEMENTS = True
    category = CategoryFactory(name="旧名称")
    sql = "SELECT name FROM catalog_insurancecategory WHERE id = %s"
    with transaction.atomic(), audit_writes_batched():
        category.name = "新名称"
        batched_fields_save(category, ["name"])
        with connection.cursor() as cursor:
            # EXECUTE …: its tables are named in a comment only (langzhong_si.prepared).
            prepared_execute(connection, cursor, "test_batch_read", sql, [category.pk])
            assert cursor.fetchone() == ("新名称",)


@pytest.mark.postgres
def test_a_row_recorded_for_a_table_with_an_update_waiting_writes_the_update_first(
    django_assert_num_queries,
):
    category = CategoryFactory(code="A", name="甲")
    # The savepoint, the UPDATE's write when the row comes, the flush, the release.
    with django_assert_num_queries(4), transaction.atomic(), audit_writes_batched():
        category.name = "丙"
        batched_fields_save(category, ["name"])
        assert audit_batch_add(InsuranceCategory(code="B", name="乙"))
    assert _name_of(category) == "丙"
    assert InsuranceCategory.objects.filter(code="B").exists()


@pytest.mark.postgres
def test_a_second_update_of_a_table_writes_the_first_before_it_waits(django_assert_num_queries):
    category = CategoryFactory(name="一")
    # The savepoint, the first UPDATE's write when the second comes, the flush, the release.
    with django_assert_num_queries(4), transaction.atomic(), audit_writes_batched():
        category.name = "二"
        batched_fields_save(category, ["name"])
        category.name = "三"
        batched_fields_save(category, ["name"])
    assert _name_of(category) == "三"
    assert [version.name for version in category.history.order_by("history_id")][-2:] == [
        "二",
        "三",
    ]


@pytest.mark.postgres
def test_an_update_never_shares_a_statement_with_rows_waiting_for_its_table(
    django_assert_num_queries,
):
    category = CategoryFactory(code="A", name="甲")
    new = InsuranceCategory(code="B", name="乙")
    # The savepoint, the waiting row's write when the UPDATE comes, the flush, the release.
    with django_assert_num_queries(4), transaction.atomic(), audit_writes_batched():
        assert audit_batch_add(new)
        category.name = "丙"
        batched_fields_save(category, ["name"])
    assert _name_of(category) == "丙"
    assert InsuranceCategory.objects.filter(code="B").exists()


@pytest.mark.postgres
def test_an_update_of_a_rolled_back_savepoint_is_dropped():
    category = CategoryFactory(name="旧名称")
    with transaction.atomic(), audit_writes_batched():
        with _savepoint_rolled_back():
            category.name = "新名称"
            batched_fields_save(category, ["name"])
        audit_event_record(event_type="test.event", data={"n": 1})
    assert _name_of(category) == "旧名称"
    assert _kinds() == [1]


@pytest.mark.postgres
def test_an_update_refused_inside_a_savepoint_reaches_the_block_that_opened_it():
    taken = CategoryFactory(code="TAKEN")
    category = CategoryFactory(code="MINE")
    with transaction.atomic(), audit_writes_batched():
        audit_event_record(event_type="test.event", data={"n": 1})
        with pytest.raises(IntegrityError), transaction.atomic():  # its release writes it
            category.code = taken.code
            batched_fields_save(category, ["code"])
        # The transaction goes on: the refusal was the savepoint's alone.
        audit_event_record(event_type="test.event", data={"n": 2})
    assert InsuranceCategory.objects.filter(code="MINE").exists()
    assert _kinds() == [1, 2]


def test_without_a_batch_an_update_runs_at_once(django_assert_num_queries):
    category = CategoryFactory(name="旧名称")
    category.name = "新名称"
    with django_assert_num_queries(2):  # the UPDATE, its version
        batched_fields_save(category, ["name"])
    assert _name_of(category) == "新名称"


def test_an_update_inside_a_batch_waits_for_its_write_on_postgresql_only(
    django_assert_num_queries,
):
    category = CategoryFactory(name="旧名称")
    with transaction.atomic(), audit_writes_batched():
        category.name = "新名称"
        # Elsewhere no statement can hold it with the rows: the UPDATE runs at once (its
        # version still waits for the batch).
        with django_assert_num_queries(0 if connection.vendor == "postgresql" else 1):
            batched_fields_save(category, ["name"])
    assert _name_of(category) == "新名称"


def test_a_naive_time_in_a_batched_row_is_made_aware_as_model_save_makes_it():
    """A datetime is sent as it is only when aware: a naive one takes its field's own
    path (a warning, and the default time zone), as Model.save gives it."""
    naive = datetime.datetime(2026, 3, 1, 9, 30)  # noqa: DTZ001 - naive on purpose
    alone = AuditEvent(event_type="test.event", occurred_at=naive, data={"n": 1})
    batched = AuditEvent(event_type="test.event", occurred_at=naive, data={"n": 2})
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        alone.save()
    with (
        pytest.warns(RuntimeWarning, match="naive datetime"),
        transaction.atomic(),
        audit_writes_batched(),
    ):
        audit_batch_add(batched)
    stored = dict(
        AuditEvent.objects.filter(event_type="test.event").values_list("data__n", "occurred_at")
    )
    assert stored[2] == stored[1] == timezone.make_aware(naive)


def test_a_batched_row_is_stamped_by_its_fields_own_auto_now_add():
    """A time given to an auto_now_add field is not sent as it is: the field stamps the
    row as it is written, as Model.save stamps it."""
    recipient = make_staff(Role.CLERK)
    long_ago = timezone.now() - datetime.timedelta(days=400)
    before = timezone.now()
    with transaction.atomic(), audit_writes_batched():
        audit_batch_add(
            Notification(recipient=recipient, message="m", dedupe_key="stamp", created_at=long_ago),
            once=True,
        )
    assert Notification.objects.get(dedupe_key="stamp").created_at >= before


@pytest.mark.postgres
def test_a_flush_of_a_shape_met_before_reuses_its_text(settings):
    """The text of a flush (its tables, their rows' numbers) is built once: the same
    shape again sends the same text with its own values; another number of rows sends
    another text."""
    settings.DATABASE_PREPARED_STATEMENTS = False  # the texts as sent
    texts = []

    def kept(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "audit_auditevent"'):
            texts.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(kept):
        for events in (1, 1, 2):
            with transaction.atomic(), audit_writes_batched():
                for n in range(events):
                    audit_event_record(event_type="test.event", data={"n": n})
    first, again, larger = texts
    assert first is again and larger != first
    assert larger.count("), (") == first.count("), (") + 1
    assert sorted(_kinds()) == [0, 0, 0, 1]


@pytest.mark.postgres
def test_the_kept_flush_texts_are_bounded(settings, monkeypatch):
    settings.DATABASE_PREPARED_STATEMENTS = False
    monkeypatch.setattr(batch, "_FLUSH_TEXTS", {})
    monkeypatch.setattr(batch, "_FLUSH_TEXTS_KEPT", 2)
    for events in (1, 2, 3, 1):
        with transaction.atomic(), audit_writes_batched():
            for n in range(events):
                audit_event_record(event_type="test.event", data={"n": n})
    assert 1 <= len(batch._FLUSH_TEXTS) <= 2
    assert AuditEvent.objects.filter(event_type="test.event").count() == 7
