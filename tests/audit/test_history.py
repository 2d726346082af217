"""The busy records' versions (row history) are indexed for how they are read: by the
record's id, their time and who made them (langzhong_si.history)."""

import pytest
from django.db import connection
from django.utils import timezone
from simple_history.models import HistoricalRecords
from simple_history.signals import post_create_historical_record, pre_create_historical_record

from counters.models import Case, Ticket, Window
from counters.services import window_sign_on
from langzhong_si.history import _BusyRecordHistory
from risk.models import ReviewTask

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [Window, Ticket, Case, ReviewTask])
def test_a_busy_records_versions_are_indexed_by_record_time_and_author_only(model):
    table = model.history.model._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    indexed = {
        tuple(constraint["columns"])
        for constraint in constraints.values()
        if constraint["index"] or constraint["primary_key"] or constraint["unique"]
    }
    assert indexed == {("history_id",), ("id",), ("history_date",), ("history_user_id",)}


def test_a_records_versions_are_still_found_by_its_id(hall):
    window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    latest = Window.history.filter(id=hall.window.pk).latest("history_date")
    assert (latest.clerk_id, latest.state) == (hall.li_na.pk, Window.State.PAUSED)


def _latest_version(window):
    return Window.history.filter(id=window.pk).order_by("-history_id").first()


def _copied_values(version) -> dict:
    skip = {"history_id"}
    return {
        field.attname: getattr(version, field.attname)
        for field in version._meta.concrete_fields
        if field.attname not in skip
    }


def test_a_busy_records_version_is_the_one_simple_history_itself_writes(hall, monkeypatch):
    window = hall.window
    window.zone = "综合受理区二"
    window._history_user = hall.li_na
    window._history_date = timezone.now()
    window._change_reason = "reopened"
    with monkeypatch.context() as patched:  # not the library's own path
        patched.setattr(HistoricalRecords, "create_historical_record", None)
        window.save()
    lean = _latest_version(window)
    # The library's own path, for the same save.
    monkeypatch.setattr(_BusyRecordHistory, "_copied", lambda self, model: None)
    window.save()
    library = _latest_version(window)
    assert library.history_id != lean.history_id
    assert _copied_values(lean) == _copied_values(library)
    assert (lean.history_user_id, lean.history_change_reason) == (hall.li_na.pk, "reopened")


def test_a_busy_records_version_sends_the_signals_before_and_after_its_save(hall):
    seen = []

    def before(sender, history_instance, **kwargs):
        seen.append(("before", sender, history_instance.pk is None, kwargs["instance"]))

    def after(sender, history_instance, **kwargs):
        seen.append(("after", sender, history_instance.pk is not None, kwargs["instance"]))

    pre_create_historical_record.connect(before)
    post_create_historical_record.connect(after)
    try:
        hall.window.save()
    finally:
        pre_create_historical_record.disconnect(before)
        post_create_historical_record.disconnect(after)
    history_model = Window.history.model
    assert seen == [
        ("before", history_model, True, hall.window),
        ("after", history_model, True, hall.window),
    ]


def test_a_busy_records_version_holds_its_author_as_the_library_does(
    hall, django_assert_num_queries
):
    window = hall.window
    window._history_user = hall.li_na
    window.save()
    seen = []

    def before(sender, history_instance, **kwargs):
        seen.append(history_instance)

    pre_create_historical_record.connect(before)
    try:
        window.save()
    finally:
        pre_create_historical_record.disconnect(before)
    (version,) = seen
    with django_assert_num_queries(0):
        assert version.history_user == hall.li_na
