"""A staff notification sent inside a service's batched writes goes out with its audit
events, once per business event, and only if the transaction keeps it."""

import pytest
from django.db import transaction

from langzhong_si.batch import audit_writes_batched
from staff.models import Notification
from staff.roles import Role
from staff.services import notification_send
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


def _messages(person) -> list[str]:
    return list(Notification.objects.filter(recipient=person).values_list("message", flat=True))


def _messages(person) -> list[str]:
    return list(Notification.objects.filter(recipient=person).values_list("message", flat=True))


def test_the_same_event_notified_twice_in_one_batch_is_one_notification():
    person = make_staff(Role.REVIEWER)
    with transaction.atomic(), audit_writes_batched():
        notification_send(recipient=person, message="一", dedupe_key="event:1")
        notification_send(recipient=person, message="二", dedupe_key="event:1")
    assert _messages(person) == ["一"]


def test_an_event_notified_before_is_not_notified_again_from_a_batch():
    person = make_staff(Role.REVIEWER)
    notification_send(recipient=person, message="first", dedupe_key="event:2")
    with transaction.atomic(), audit_writes_batched():
        notification_send(recipient=person, message="again", dedupe_key="event:2")
    assert _messages(person) == ["first"]


def test_a_notification_of_a_rolled_back_savepoint_is_not_sent():
    person = make_staff(Role.REVIEWER)
    with transaction.atomic(), audit_writes_batched():
        notification_send(recipient=person, message="kept", dedupe_key="event:3")
        try:
            with transaction.atomic():
                notification_send(recipient=person, message="dropped", dedupe_key="event:4")
                raise RuntimeError("the inner step failed")
        except RuntimeError:
            pass
    assert _messages(person) == ["kept"]


def test_a_batched_notification_is_read_back_within_its_own_transaction():
    person = make_staff(Role.REVIEWER)
    with transaction.atomic(), audit_writes_batched():
        notification_send(recipient=person, message="seen", dedupe_key="event:5")
        # Reading the table writes what waits first: the transaction sees its own writes.
        assert Notification.objects.filter(recipient=person).count() == 1
