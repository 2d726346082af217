"""A signed-in person's account comes with its roles and password state in one query
(staff.backends), read afresh at every request: nothing about the account is
remembered between requests."""

import pytest
from django.contrib.auth.models import Group

from staff.backends import StaffModelBackend
from staff.passwords import password_expired
from staff.roles import Role
from staff.selectors import user_roles
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


@pytest.mark.postgres
def test_the_account_its_roles_and_its_password_age_are_one_query(django_assert_num_queries):
    clerk = make_staff(Role.CLERK)
    with django_assert_num_queries(1):
        user = StaffModelBackend().get_user(clerk.pk)
        assert user_roles(user) == {Role.CLERK.value}
        assert not password_expired(user)


def test_a_role_taken_away_shows_at_the_next_request():
    clerk = make_staff(Role.CLERK)
    assert user_roles(StaffModelBackend().get_user(clerk.pk)) == {Role.CLERK.value}
    clerk.groups.remove(Group.objects.get(name=Role.CLERK.value))
    assert user_roles(StaffModelBackend().get_user(clerk.pk)) == set()


def test_a_disabled_account_is_not_signed_in():
    clerk = make_staff(Role.CLERK)
    clerk.is_active = False
    clerk.save(update_fields=["is_active"])
    assert StaffModelBackend().get_user(clerk.pk) is None


def test_a_password_set_during_the_request_is_checked_against_its_own_record(
    django_assert_num_queries,
):
    clerk = make_staff(Role.CLERK)
    user = StaffModelBackend().get_user(clerk.pk)
    user.password = "changed-hash"  # as set_password leaves it before its record is read
    with django_assert_num_queries(1):  # the latest record, read again
        password_expired(user)


@pytest.mark.postgres
def test_the_account_read_on_postgresql_is_the_record_the_orm_reads():
    """The written-out statement's row is made into the record the ORM makes: every field,
    as a saved record of that database, with the password record's time and setter."""
    from django.contrib.auth import get_user_model

    from staff.selectors import user_with_account_state

    clerk = make_staff(Role.CLERK)
    clerk.first_name, clerk.last_name, clerk.email = "小", "王", "w@example.org"
    clerk.save()
    read = user_with_account_state(clerk.pk)
    orm = get_user_model().objects.get(pk=clerk.pk)
    for field in orm._meta.concrete_fields:
        assert getattr(read, field.attname) == getattr(orm, field.attname), field.name
    assert (read._state.adding, read._state.db) == (False, orm._state.db)
    latest = clerk.password_records.order_by("-set_at", "-pk").first()
    assert (read.password_set_at, read.password_set_by) == (latest.set_at, latest.set_by_id)
    assert read.role_names == [Role.CLERK.value]


@pytest.mark.postgres
def test_an_account_that_is_not_there_reads_as_none():
    from staff.selectors import user_with_account_state

    assert user_with_account_state(10**9) is None
