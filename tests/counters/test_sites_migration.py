"""Deployed in the middle of a day, per-site ticket numbers go on from the last number the
hall issued that day: counters 0015 renames the day's sequences to the home hall's."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("counters", "0014_windows_tickets_cases_at_sites")]


def test_the_days_numbers_go_on_at_the_home_hall_after_the_migration(database_at):
    executor = database_at(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    NumberSequence = old.get_model("counters", "NumberSequence")
    NumberSequence.objects.create(day=timezone.localdate(), key="ticket-A", last=5)
    NumberSequence.objects.create(day=timezone.localdate(), key="case", last=3)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    from counters import services
    from sites.defaults import home_site_id
    from tests.factories import ItemFactory

    ticket = services.ticket_issue(item=ItemFactory())
    assert (ticket.site_id, ticket.display_number) == (home_site_id(), "A006")
    from counters.models import NumberSequence as Current

    assert Current.objects.get(key="case").last == 3
