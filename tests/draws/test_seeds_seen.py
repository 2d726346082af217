"""A process checks the day's seeds once a day, not before every request and task."""

import pytest
from django.utils import timezone

from draws.models import DailySeed
from draws.services import daily_seeds_ensure
from sites.defaults import home_agency_id

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_seeds_are_committed_once_then_not_asked_for_again_that_day(
    django_assert_num_queries,
):
    daily_seeds_ensure()
    assert DailySeed.objects.filter(day__gte=timezone.localdate()).count() == 2
    with django_assert_num_queries(0):
        daily_seeds_ensure()


def test_a_new_day_asks_the_database_again(monkeypatch, django_assert_num_queries):
    import draws.services

    daily_seeds_ensure()
    monkeypatch.setattr(draws.services, "_seeds_seen_for", timezone.localdate().replace(year=2000))
    with django_assert_num_queries(1):
        daily_seeds_ensure()


def test_every_active_agency_has_its_seeds_committed_before_the_days_work():
    from tests.factories import make_agency

    home = home_agency_id()  # made again if a transactional test's flush took it
    other = make_agency(code="511302", name="顺庆区社会保险事业管理局")
    daily_seeds_ensure()
    today = timezone.localdate()
    committed = DailySeed.objects.filter(day__gte=today).values_list("agency_id", "day")
    assert {agency for agency, _day in committed} == {other.pk, home}
    assert len(committed) == 4, "today's and tomorrow's, for each agency"
