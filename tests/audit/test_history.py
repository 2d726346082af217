"""The busy records' versions (row history) are indexed for how they are read: by the
record's id, their time and who made them (audit.history)."""

import pytest
from django.db import connection

from counters.models import Case, Ticket, Window
from counters.services import window_sign_on
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
