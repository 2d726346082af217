"""A new, unsaved record built with less work per field (langzhong_si.saves.record_new):
the record `Model(**values)` builds, field for field, for every model of the project."""

import datetime
import uuid

import pytest
from django.apps import apps
from django.db import models
from django.db.models import DEFERRED
from django.db.models.signals import post_init, pre_init
from django.test.utils import isolate_apps
from django.utils import timezone

from audit.models import AuditEvent
from cases.services import case_accept
from counters import services as counter_services
from counters.models import Case, Ticket
from draws.models import Draw
from draws.services import daily_seed_commit
from inbox.services import review_task_decide
from langzhong_si.saves import record_from_db, record_new
from risk.models import ReviewTask
from sites.models import Site
from staff.models import Notification
from staff.roles import Role
from tests.factories import make_id_number, make_staff

# Defaults may read (a record's site is the home hall's by default).
pytestmark = pytest.mark.django_db

# Every concrete model, the row-history versions included.
MODELS = [model for model in apps.get_models() if not model._meta.proxy]


def _state(obj) -> tuple:
    """What a new record holds: its fields' values in their order, the related records
    cached, and whether it is new."""
    fields = {key: value for key, value in vars(obj).items() if key != "_state"}
    return list(fields.items()), obj._state.fields_cache, obj._state.adding, obj._state.db


def _given(model) -> dict:
    """A value for every field a keyword can give, each of its field's kind, by column
    (keys for related fields): what a caller building a record passes."""
    values = {}
    for n, field in enumerate(model._meta.fields):
        if field.column is None or field.generated:
            continue
        if field.is_relation:
            values[field.attname] = 1000 + n
        elif isinstance(field, models.DateTimeField):
            values[field.attname] = datetime.datetime(2026, 12, 4, 9, n % 60, tzinfo=datetime.UTC)
        elif isinstance(field, models.DateField):
            values[field.attname] = datetime.date(2026, 12, 4)
        elif isinstance(field, models.UUIDField):
            values[field.attname] = uuid.UUID(int=n)
        elif isinstance(field, models.BooleanField):
            values[field.attname] = bool(n % 2)
        elif isinstance(field, models.IntegerField | models.FloatField | models.DecimalField):
            values[field.attname] = n
        elif isinstance(field, models.JSONField):
            values[field.attname] = {"n": n}
        else:
            values[field.attname] = f"v{n}"
    return values


def _callable_default(field) -> bool:
    return field.has_default() and callable(field.default)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_every_field_given_builds_the_record_the_model_builds(model):
    values = _given(model)
    assert _state(record_new(model, **values)) == _state(model(**values))


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_a_field_not_given_gets_its_default_as_the_model_gives_it(model):
    built, reference = record_new(model), model()
    assert list(vars(built)) == list(vars(reference))
    for field in model._meta.concrete_fields:
        mine, theirs = getattr(built, field.attname), getattr(reference, field.attname)
        if _callable_default(field):  # made afresh for each record: a token, a time
            assert type(mine) is type(theirs), field.name
        else:
            assert mine == theirs, field.name


def test_a_callable_default_is_made_afresh_for_each_record():
    first, second = record_new(Ticket), record_new(Ticket)
    assert first.public_token and first.public_token != second.public_token


def test_a_related_record_given_is_set_by_its_key_and_cached():
    clerk = make_staff(Role.CLERK, name="甲")
    event = record_new(AuditEvent, event_type="x.y", actor=clerk, occurred_at=timezone.now())
    assert event.actor_id == clerk.pk
    assert event._state.fields_cache["actor"] is clerk
    assert _state(event)[0] == _state(AuditEvent(**{
        "event_type": "x.y", "actor": clerk, "occurred_at": event.occurred_at}))[0]  # fmt: skip


def test_a_related_record_of_another_model_is_refused_as_the_model_refuses_it():
    site = Site(pk=1, name="城东站")
    with pytest.raises(ValueError, match="must be a"):
        record_new(AuditEvent, actor=site)


def test_a_related_record_and_its_key_both_given_end_as_the_model_ends_them():
    clerk, other = make_staff(Role.CLERK, name="甲"), make_staff(Role.CLERK, name="乙")
    given = {"assignee": clerk, "assignee_id": other.pk, "created_at": timezone.now()}
    built, reference = record_new(ReviewTask, **given), ReviewTask(**given)
    assert _state(built) == _state(reference)
    assert built.assignee_id == other.pk
    assert "assignee" not in built._state.fields_cache


def test_the_key_given_as_pk_is_the_records_key():
    draw = record_new(Draw, pk=77, number=3)
    assert draw.id == draw.pk == 77
    assert _state(draw) == _state(Draw(pk=77, number=3))


def test_a_value_deferred_leaves_its_field_unset_as_the_model_leaves_it():
    given = {"message": DEFERRED, "recipient": DEFERRED, "pk": DEFERRED, "link": "/x"}
    built = record_new(Notification, **given)
    assert _state(built) == _state(Notification(**given))
    assert built.get_deferred_fields() == {"message", "recipient_id"}
    assert built.pk is None


class _Remembering:
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.remembered = True


class _Watching:
    def __setattr__(self, name, value):
        vars(self).setdefault("watched", []).append(name)
        super().__setattr__(name, value)


@pytest.mark.parametrize("mixin", [_Remembering, _Watching], ids=["__init__", "__setattr__"])
def test_a_model_with_its_own_init_or_setattr_anywhere_in_its_classes_is_built_by_it(mixin):
    with isolate_apps("staff"):
        meta, name = type("Meta", (), {"app_label": "staff"}), models.CharField(max_length=10)
        attributes = {"__module__": __name__, "name": name, "Meta": meta}
        model = type("Notice", (models.Model, mixin), attributes)
        built, reference = record_new(model, name="x"), model(name="x")
    assert _state(built) == _state(reference)
    assert "remembered" in vars(reference) or vars(reference)["watched"][-1] == "name"


def test_a_keyword_that_is_no_field_is_refused_as_the_model_refuses_it():
    with pytest.raises(TypeError, match="unexpected keyword arguments: 'colour'"):
        record_new(Notification, colour="red")


def test_a_property_given_is_left_to_the_model(monkeypatch):
    monkeypatch.setattr(Notification, "shouting", property(lambda self: "", lambda self, v: setattr(
        self, "message", v.upper())), raising=False)  # fmt: skip
    monkeypatch.setattr(Notification._meta, "_property_names", frozenset({"pk", "shouting"}))
    assert record_new(Notification, shouting="hi").message == "HI"


@pytest.mark.parametrize("signal", [pre_init, post_init])
def test_a_model_something_listens_to_on_init_is_built_by_the_model(signal):
    heard = []

    def listener(sender, **kwargs):
        heard.append(sender)

    signal.connect(listener, sender=Case)
    try:
        record_new(Case, number="X")
        record_new(ReviewTask, step=1)
    finally:
        signal.disconnect(listener, sender=Case)
    assert heard == [Case]


def test_a_level_two_cases_records_are_built_with_it(hall, monkeypatch):
    """Its events, versions, draws, tasks, notices, ticket and case: none is built by
    Model.__init__ from keywords (reading a row builds from its values, as before)."""
    daily_seed_commit(day=timezone.localdate())
    counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    counter_services.window_declare_ready(clerk=hall.li_na)
    built = []
    original = models.Model.__init__

    def init(self, *args, **kwargs):
        if kwargs:
            built.append(type(self).__name__)
        original(self, *args, **kwargs)

    monkeypatch.setattr(models.Model, "__init__", init)
    counter_services.ticket_issue(item=hall.item)
    case = case_accept(
        clerk=hall.li_na, item_id=hall.item.pk, applicant_name="王大山",
        id_number=make_id_number(), received_material_ids={hall.material.pk},
    )  # fmt: skip
    counter_services.ticket_finish(clerk=hall.li_na)
    for step in (1, 2):
        task = ReviewTask.objects.get(case=case, step=step, status=ReviewTask.Status.OPEN)
        review_task_decide(task_id=task.pk, actor=task.assignee, decision="approve")
    case.refresh_from_db()
    assert case.status == Case.Status.APPROVED
    assert built == []


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_a_row_of_every_column_makes_the_record_from_db_makes(model):
    given = _given(model)
    values = [given.get(field.attname) for field in model._meta.concrete_fields]
    names = [field.attname for field in model._meta.concrete_fields]
    built, reference = record_from_db(model, "default", names, values), model.from_db(
        "default", names, values)  # fmt: skip
    assert _state(built) == _state(reference)
    assert (built._state.adding, built._state.db) == (False, "default")


def test_a_row_of_some_columns_leaves_the_others_deferred_as_from_db_does():
    names = ["id", "event_type"]
    built = record_from_db(AuditEvent, "default", names, [5, "x.y"])
    assert _state(built) == _state(AuditEvent.from_db("default", names, [5, "x.y"]))
    assert "data" in built.get_deferred_fields()


def test_a_row_read_while_something_listens_to_post_init_is_built_by_the_model():
    heard = []

    def listener(sender, instance, **kwargs):
        heard.append(instance)

    names = [field.attname for field in Draw._meta.concrete_fields]
    post_init.connect(listener, sender=Draw)
    try:
        built = record_from_db(Draw, "default", names, [None] * len(names))
    finally:
        post_init.disconnect(listener, sender=Draw)
    assert heard == [built]
