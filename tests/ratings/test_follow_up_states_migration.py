"""Follow-ups recorded before they had states take the state their dates show: replied,
called back, or still open."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from ratings.models import FollowUp
from tests.test_migrations import _fill

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("ratings", "0001_initial"), ("counters", "0014_windows_tickets_cases_at_sites")]


def test_old_follow_ups_take_the_state_their_dates_show(database_at):
    executor = database_at(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    clerk = _fill(old.get_model("auth", "User"), username="clerk-before-states")
    window = _fill(old.get_model("counters", "Window"), number=8, queue="A", state="offline")
    now = timezone.now()
    made = {}
    for sequence, (name, dates) in enumerate(
        {
            "open": {},
            "verified": {"callback_at": now},
            "replied": {"callback_at": now, "replied_at": now},
        }.items(),
        start=1,
    ):
        ticket = _fill(
            old.get_model("counters", "Ticket"), item=None, is_consultation=True, status="done",
            sequence=sequence,
            clerk=clerk, window=window, issued_by=None, priority_confirmed_by=None,
        )  # fmt: skip
        rating = _fill(old.get_model("ratings", "Rating"), ticket=ticket, window=window,
                       clerk=clerk, level=1, reason="等太久")  # fmt: skip
        made[name] = _fill(
            old.get_model("ratings", "FollowUp"), rating=rating, handled_by=None, **dates
        ).pk

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    states = dict(FollowUp.objects.values_list("pk", "status"))
    assert {name: states[pk] for name, pk in made.items()} == {
        "open": "open",
        "verified": "verified",
        "replied": "replied",
    }
