"""A record saved with one statement built once (langzhong_si.saves): its named fields
with one UPDATE, a new record with one INSERT; the same row, version and signals as
Model.save(update_fields=...) and Model.objects.create(...), or Model.save itself."""

import datetime
from contextlib import contextmanager
from unittest import mock

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Model, Value
from django.db.models.functions import Upper
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appointments.models import SlotCapacity
from audit.models import Finding
from counters import services as counter_services
from counters.models import Ticket
from langzhong_si.saves import fields_save, record_create, record_insert
from sites.defaults import agency_id_of_site
from sites.models import Site
from staff.roles import Role
from tests.factories import make_site, make_staff, today

pytestmark = pytest.mark.django_db


def _row(obj) -> dict:
    return type(obj).objects.filter(pk=obj.pk).values().get()


def _latest_version(obj) -> dict:
    version = obj.history.order_by("-history_id").first()
    skip = {"history_id", "history_date"}
    return {field.attname: getattr(version, field.attname)
            for field in version._meta.concrete_fields if field.attname not in skip}  # fmt: skip


CALLED_AT = datetime.datetime(2026, 12, 4, 9, 30, 15, 123456, tzinfo=datetime.UTC)


def _ticket_moved(ticket: Ticket, clerk) -> Ticket:
    ticket.status, ticket.called_at, ticket.clerk = Ticket.Status.SERVING, CALLED_AT, clerk
    return ticket


def test_it_writes_the_row_and_version_that_model_save_writes(hall):
    fast = counter_services.ticket_issue(item=hall.item)
    orm = counter_services.ticket_issue(item=hall.item)
    fields = ["status", "called_at", "clerk"]
    fields_save(_ticket_moved(fast, hall.li_na), fields)
    _ticket_moved(orm, hall.li_na).save(update_fields=fields)
    keep = {"id", "sequence", "public_token", "issued_at"}
    drop = lambda row: {k: v for k, v in row.items() if k not in keep}  # noqa: E731
    assert drop(_row(fast)) == drop(_row(orm)) != drop(_row(counter_services.ticket_issue(
        item=hall.item)))  # fmt: skip
    assert drop(_latest_version(fast)) == drop(_latest_version(orm))
    assert _row(fast)["status"] == Ticket.Status.SERVING


@contextmanager
def _signals_seen(model):
    """The pre_save and post_save signals sent for `model` in the block, as (signal,
    sender, key, update_fields, created)."""
    seen = []

    def receiver(signal, sender, instance, update_fields, **kwargs):
        seen.append((signal, sender, instance.pk, update_fields, kwargs.get("created")))

    for signal in (pre_save, post_save):
        signal.connect(receiver, sender=model)
    try:
        yield seen
    finally:
        for signal in (pre_save, post_save):
            signal.disconnect(receiver, sender=model)


def test_it_sends_the_signals_model_save_sends(hall):
    ticket = counter_services.ticket_issue(item=hall.item)
    with _signals_seen(Ticket) as seen:
        fields_save(_ticket_moved(ticket, hall.li_na), ("status", "called_at", "clerk"))
    fields = frozenset({"status", "called_at", "clerk"})
    assert seen == [(pre_save, Ticket, ticket.pk, fields, None),
                    (post_save, Ticket, ticket.pk, fields, False)]  # fmt: skip


def test_an_auto_now_field_stamps_itself_as_in_model_save():
    capacity = SlotCapacity.objects.create(
        site=make_site(), queue="A", day=today(), per_slot=2, set_by=make_staff(Role.TEAM_LEAD)
    )
    capacity.per_slot, capacity.set_at = 3, timezone.now() - datetime.timedelta(days=1)
    before = timezone.now()
    fields_save(capacity, ["per_slot", "set_at"])
    assert _row(capacity)["per_slot"] == 3 and _row(capacity)["set_at"] >= before


def test_it_is_one_statement(hall):
    ticket = _ticket_moved(counter_services.ticket_issue(item=hall.item), hall.li_na)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        # The version waits for the batch; outside one simple-history writes it at once.
        from langzhong_si.batch import audit_writes_batched

        with audit_writes_batched():
            fields_save(ticket, ["status", "called_at", "clerk"])
            statements = len(queries)
    assert statements == 1


def test_a_model_with_its_own_save_runs_it():
    site = make_site()
    site.name = "新的名字"
    with mock.patch.object(Site, "save", autospec=True) as save:
        fields_save(site, ["name"])
    save.assert_called_once_with(site, update_fields=("name",))


def _ticket_values(**values) -> dict:
    return {"service_date": today(), "queue": "A", "sequence": next(_sequences),
            "issued_at": timezone.now(), **values}  # fmt: skip


_sequences = iter(range(500, 10**6))


def test_a_record_at_a_site_is_saved_with_its_sites_agency_on_either_path(two_agencies):
    """The agency is set on pre_save, which both paths send (sites.models)."""
    wrong = {"site": two_agencies.hall, "agency": two_agencies.agency_b}
    fast = record_create(Ticket, **_ticket_values(**wrong))
    orm = Ticket.objects.create(**_ticket_values(**wrong))
    assert _row(fast)["agency_id"] == _row(orm)["agency_id"] == two_agencies.hall.agency_id
    fast.site = orm.site = two_agencies.hall_b
    fields_save(fast, ["site", "agency"])
    orm.save(update_fields=["site", "agency"])
    assert _row(fast)["agency_id"] == _row(orm)["agency_id"] == two_agencies.agency_b.pk


def test_saving_a_records_site_or_agency_without_the_other_is_refused_on_either_path(two_agencies):
    ticket = record_create(Ticket, **_ticket_values(site=two_agencies.hall))
    ticket.site = two_agencies.hall_b
    with pytest.raises(ValueError, match="saved with its agency"):
        fields_save(ticket, ["site"])
    with pytest.raises(ValueError, match="saved with its agency"):
        ticket.save(update_fields=["site_id"])
    with pytest.raises(ValueError, match="saved with its agency"):
        fields_save(ticket, ["agency"])  # the new site's agency beside the old site
    assert (_row(ticket)["site_id"], _row(ticket)["agency_id"]) == (
        two_agencies.hall.pk, two_agencies.hall.agency_id,
    )  # fmt: skip


def test_a_fixture_row_at_a_site_keeps_the_agency_it_was_written_with(two_agencies):
    """A raw save (loaddata) is loaded as written, as before."""
    ticket = Ticket(**_ticket_values(site=two_agencies.hall, agency=two_agencies.agency_b))
    ticket.save_base(raw=True)
    assert _row(ticket)["agency_id"] == two_agencies.agency_b.pk


def test_a_row_gone_is_refused_as_model_save_refuses_it(hall, settings):
    settings.DATABASE_PREPARED_STATEMENTS = True  # on PostgreSQL: the EXECUTE's row count
    ticket = counter_services.ticket_issue(item=hall.item)
    ticket.pk = ticket.pk + 10**6  # no such row
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        fields_save(_ticket_moved(ticket, hall.li_na), ["status"])


def test_a_field_the_model_does_not_have_is_refused(hall):
    ticket = counter_services.ticket_issue(item=hall.item)
    with pytest.raises(ValueError, match="do not exist"):
        fields_save(ticket, ["status", "colour"])
    with pytest.raises(ValueError, match="do not exist"):
        fields_save(ticket, ["id"])


def test_an_expression_as_a_value_is_left_to_model_save(hall):
    ticket = counter_services.ticket_issue(item=hall.item)
    ticket.recall_count = F("recall_count") + 1
    with (
        mock.patch.object(Model, "save", autospec=True, side_effect=Model.save) as save,
        # As Model.save: the row takes it, its version (a copy of values) cannot.
        pytest.raises(ValueError, match="F\\(\\) expressions can only be used to update"),
        transaction.atomic(),
    ):
        fields_save(ticket, ["recall_count"])
    assert save.call_args_list[0] == mock.call(ticket, update_fields=("recall_count",))


@pytest.mark.postgres
def test_a_json_value_arrives_as_it_was_given(settings):
    settings.DATABASE_PREPARED_STATEMENTS = True
    finding = Finding.objects.create(rule="sample", severity="low", dedupe_key="t:json")
    finding.evidence = {"odd": "5%s%%(x)s O'B", "list": [1, None, "低保"], "n": 2.5}
    fields_save(finding, ["evidence"])
    assert Finding.objects.get(pk=finding.pk).evidence == finding.evidence


@pytest.mark.postgres
def test_on_postgresql_it_runs_prepared(settings, hall):
    settings.DATABASE_PREPARED_STATEMENTS = True
    ticket = _ticket_moved(counter_services.ticket_issue(item=hall.item), hall.li_na)
    with CaptureQueriesContext(connection) as queries:
        fields_save(ticket, ["status", "called_at", "clerk"])
    executed = [q["sql"] for q in queries if q["sql"].startswith("EXECUTE su_")]
    assert len(executed) == 1
    name = executed[0].split("(")[0].split()[1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE name = %s", [name])
        (statement,) = cursor.fetchone()
    assert f'{name} AS UPDATE "counters_ticket" SET' in statement
    assert _row(ticket)["status"] == Ticket.Status.SERVING


# A new record: record_insert and record_create.


def _finding(**values) -> dict:
    return {"rule": "sample", "severity": "low", "evidence": {"n": 1}, **values}


def test_a_new_record_is_the_row_and_version_that_create_writes(hall):
    values = {"site": hall.window.site, "item": hall.item, "is_priority": True,
              "priority_reason": "老年人"}  # fmt: skip
    fast = record_create(Ticket, **_ticket_values(**values, applicant_id_digest="d" * 64))
    orm = Ticket.objects.create(**_ticket_values(**values, applicant_id_digest="e" * 64))
    assert fast.pk is not None and fast._state.adding is False and fast._state.db == "default"
    keep = {"id", "sequence", "public_token", "issued_at", "applicant_id_digest"}
    drop = lambda row: {k: v for k, v in row.items() if k not in keep}  # noqa: E731
    assert drop(_row(fast)) == drop(_row(orm))
    assert drop(_latest_version(fast)) == drop(_latest_version(orm))
    assert _latest_version(fast)["history_type"] == "+"
    # auto_now_add stamps itself; a JSON value arrives as given.
    finding = record_create(Finding, **_finding(evidence={"o": "5%s O'B", "l": [1, None]}))
    assert _row(finding)["created_at"] is not None
    assert _row(finding)["evidence"] == {"o": "5%s O'B", "l": [1, None]}


def test_a_new_record_sends_the_signals_create_sends():
    with _signals_seen(Finding) as seen:
        finding = record_create(Finding, **_finding(dedupe_key="t:signals"))
    assert seen == [(pre_save, Finding, None, None, None),
                    (post_save, Finding, finding.pk, None, True)]  # fmt: skip


def test_a_new_record_is_one_statement_its_version_batched(hall):
    from langzhong_si.batch import audit_writes_batched

    ticket = Ticket(**_ticket_values(site=hall.window.site))
    agency_id_of_site(ticket.site_id)  # remembered per process, as in the hall
    with (
        mock.patch.object(Model, "save", autospec=True, side_effect=Model.save) as save,
        transaction.atomic(),
        CaptureQueriesContext(connection) as queries,
        audit_writes_batched(),
    ):
        record_insert(ticket)
        statements = [query["sql"] for query in queries]
    assert len(statements) == 1, statements
    assert save.call_count == 0  # not Model.save's own INSERT
    assert ticket.history.count() == 1  # its version, written by the batch


def test_a_new_record_of_a_model_with_its_own_save_runs_it():
    site = Site(agency=make_site().agency, kind="station", code="s-own", name="自有保存")
    with mock.patch.object(Site, "save", autospec=True) as save:
        record_insert(site)
    save.assert_called_once_with(site, force_insert=True, using="default")


def test_a_new_record_with_its_key_or_an_expression_is_left_to_model_save():
    taken = Finding(pk=10**6, **_finding(dedupe_key="t:key"))
    computed = Finding(**_finding(dedupe_key="t:expr"))
    computed.severity = Upper(Value("low"))
    with mock.patch.object(Model, "save", autospec=True, side_effect=Model.save) as save:
        record_insert(taken)
        record_insert(computed)
    assert [call.args[0] for call in save.call_args_list] == [taken, computed]
    assert Finding.objects.get(pk=10**6).dedupe_key == "t:key"
    assert Finding.objects.get(dedupe_key="t:expr").severity == "LOW"


def test_a_new_record_with_an_unsaved_related_record_is_refused_as_save_refuses_it():
    from counters.models import Case

    with pytest.raises(ValueError, match="unsaved related object 'case'"):
        record_create(Finding, case=Case(), **_finding(dedupe_key="t:unsaved"))
    assert not Finding.objects.filter(dedupe_key="t:unsaved").exists()


@pytest.mark.postgres
def test_on_postgresql_a_new_record_is_inserted_prepared(settings):
    settings.DATABASE_PREPARED_STATEMENTS = True
    with CaptureQueriesContext(connection) as queries:
        first = record_create(Finding, **_finding(dedupe_key="t:p1"))
        second = record_create(Finding, **_finding(dedupe_key="t:p2", evidence={"o": "5%s O'B"}))
    executed = [q["sql"] for q in queries if q["sql"].startswith("EXECUTE si_")]
    assert len(executed) == 2 and len({sql.split("(")[0] for sql in executed}) == 1
    assert second.pk > first.pk
    assert Finding.objects.get(pk=second.pk).evidence == {"o": "5%s O'B"}


def test_a_duplicate_unless_duplicate_is_not_written_in_one_statement_without_a_savepoint():
    record_create(Finding, **_finding(dedupe_key="t:dup", evidence={"first": 1}))
    again = Finding(**_finding(dedupe_key="t:dup", evidence={"second": 2}))
    with _signals_seen(Finding) as seen, CaptureQueriesContext(connection) as queries:
        assert record_insert(again, unless_duplicate=("dedupe_key",)) is False
    (sql,) = [query["sql"] for query in queries]
    if sql.startswith("EXECUTE "):  # PostgreSQL: the statement prepared with its text
        sql = connection.prepared_statements[sql.split()[1].split("(")[0]]
    assert 'ON CONFLICT ("dedupe_key") DO NOTHING' in sql
    assert (again.pk, again._state.adding) == (None, True)
    assert [signal for signal, *_ in seen] == [pre_save]  # no post_save: nothing saved
    assert Finding.objects.get(dedupe_key="t:dup").evidence == {"first": 1}


def test_a_new_record_unless_duplicate_is_written_as_record_insert_writes_it():
    finding = Finding(**_finding(dedupe_key="t:new"))
    with _signals_seen(Finding) as seen:
        assert record_insert(finding, unless_duplicate=("dedupe_key",)) is True
    assert seen[-1] == (post_save, Finding, finding.pk, None, True)
    assert Finding.objects.get(pk=finding.pk).dedupe_key == "t:new"


def test_a_duplicate_left_to_model_save_is_refused_in_a_savepoint_and_the_transaction_goes_on():
    site = make_site(code="s-dup")
    again = Site(agency=site.agency, kind="station", code="s-dup", name="重复")
    with transaction.atomic():
        assert record_insert(again, unless_duplicate=("agency", "code")) is False
        assert Site.objects.filter(code="s-dup").count() == 1  # still usable


def test_another_refusal_left_to_model_save_is_raised_not_taken_for_a_duplicate():
    from django.db import IntegrityError

    site = make_site(code="s-other")
    again = Site(agency=site.agency, kind="station", code="s-other", name="另一")
    with pytest.raises(IntegrityError), transaction.atomic():
        record_insert(again, unless_duplicate=("name",))  # not the constraint it breaks


def test_a_record_written_by_another_writer_is_stamped_once_and_written_as_it_stood():
    from langzhong_si.saves import record_insert_by

    seen, written = [], []
    finding = Finding(pk=987654, rule="sample", severity="low", evidence={}, dedupe_key="k")

    def on_post_save(sender, instance, created, **kwargs):
        seen.append((created, instance.created_at))

    post_save.connect(on_post_save, sender=Finding)
    try:
        assert record_insert_by(finding, written.append, using="default")
    finally:
        post_save.disconnect(on_post_save, sender=Finding)
    finding.severity = "high"  # after the write: not written, as with Model.save
    (row,) = written
    assert row is not finding and (row.pk, row.severity) == (987654, "low")
    assert seen == [(True, row.created_at)] and row.created_at is not None
    assert not finding._state.adding
    assert not Finding.objects.exists()  # `write` writes it, not record_insert_by


def test_a_record_without_its_key_or_with_an_expression_is_left_to_model_save():
    from langzhong_si.saves import record_insert_by

    written = []
    assert not record_insert_by(Finding(rule="sample"), written.append, using="default")
    keyed = Finding(pk=5, rule="sample", severity=Upper(Value("low")), dedupe_key="k")
    assert not record_insert_by(keyed, written.append, using="default")
    assert written == []
