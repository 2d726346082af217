"""Per-day queue and case numbers: taken inside the business transaction, one statement,
no row that concurrent takers queue on."""

import datetime

import pytest
from django.db import transaction

from counters.models import NumberSequence
from counters.services import number_take
from tests.counters.concurrency import held_open

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 12, 2)


def test_numbers_count_per_day_and_key():
    assert [number_take(day=DAY, key="ticket-A") for _ in range(3)] == [1, 2, 3]
    assert number_take(day=DAY, key="ticket-B") == 1
    assert number_take(day=DAY + datetime.timedelta(days=1), key="ticket-A") == 1


def test_a_number_is_one_statement(django_assert_num_queries):
    number_take(day=DAY, key="case")
    with django_assert_num_queries(1):
        assert number_take(day=DAY, key="case") == 2


@pytest.mark.postgres
def test_a_day_begun_on_the_counter_row_goes_on_after_its_last_number():
    NumberSequence.objects.create(day=DAY, key="case", last=41)
    assert number_take(day=DAY, key="case") == 42


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_number_taken_in_an_open_transaction_holds_up_no_other_taker():
    number_take(day=DAY, key="ticket-A")  # the day's sequence is made
    with held_open(lambda: number_take(day=DAY, key="ticket-A")) as theirs, transaction.atomic():
        mine = number_take(day=DAY, key="ticket-A")
    assert sorted([theirs, mine]) == [2, 3]
