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


def _today_seed(agency_id):
    from draws.selectors import daily_seed_stored

    return daily_seed_stored(agency_id=agency_id, day=timezone.localdate())


def test_a_committed_seed_is_read_once_then_remembered(django_assert_num_queries):
    home = home_agency_id()
    daily_seeds_ensure()
    stored = DailySeed.objects.get(agency_id=home, day=timezone.localdate()).seed
    assert _today_seed(home) == stored
    with django_assert_num_queries(0):
        assert _today_seed(home) == stored


@pytest.mark.parametrize("rolled_back", ["transaction", "savepoint"])
def test_a_seed_read_in_work_that_rolls_back_is_not_remembered(
    rolled_back, django_assert_num_queries
):
    import contextlib

    from django.db import transaction

    from draws.services import daily_seed_commit

    home = home_agency_id()
    # A savepoint rolled back inside a transaction that commits the rest of its work.
    outer = transaction.atomic() if rolled_back == "savepoint" else contextlib.nullcontext()
    with outer, pytest.raises(RuntimeError), transaction.atomic():
        daily_seed_commit(day=timezone.localdate())
        assert _today_seed(home) is not None
        raise RuntimeError("the work that committed it fails")
    assert not DailySeed.objects.exists()
    with django_assert_num_queries(1):
        assert _today_seed(home) is None
    daily_seeds_ensure()  # the day's real seed, another value
    stored = DailySeed.objects.get(agency_id=home, day=timezone.localdate()).seed
    assert _today_seed(home) == stored


def test_a_day_without_a_committed_seed_is_asked_for_again(django_assert_num_queries):
    home = home_agency_id()
    assert _today_seed(home) is None
    daily_seeds_ensure()
    with django_assert_num_queries(1):
        assert _today_seed(home) is not None


def test_the_seeds_of_another_day_are_read_for_that_day(django_assert_num_queries):
    from datetime import timedelta

    from draws.selectors import daily_seed_stored

    home = home_agency_id()
    daily_seeds_ensure()
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert _today_seed(home) != daily_seed_stored(agency_id=home, day=tomorrow)
    with django_assert_num_queries(0):
        daily_seed_stored(agency_id=home, day=tomorrow)
    with django_assert_num_queries(1):  # today's was forgotten for tomorrow's
        _today_seed(home)


def test_each_agency_is_given_its_own_seed_before_and_after_it_is_remembered():
    from tests.factories import make_agency

    home = home_agency_id()
    other = make_agency(code="511302", name="顺庆区社会保险事业管理局").pk
    daily_seeds_ensure()
    rows = dict(DailySeed.objects.filter(day=timezone.localdate()).values_list("agency_id", "seed"))
    assert rows[home] != rows[other]
    for _read in ("from the database", "remembered"):
        assert (_today_seed(home), _today_seed(other)) == (rows[home], rows[other])
