"""A role's group is never deleted: every member would lose the role at once, with no
role.revoked event of theirs and no record of who could be drawn before and after."""

import importlib

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from staff.roles import Role
from staff.selectors import user_has_role
from tests.factories import make_staff, sign_in

pytestmark = pytest.mark.django_db


def _root_browser() -> Client:
    browser = Client()
    sign_in(browser, get_user_model().objects.create_superuser("root", password="Root-pass-1"))
    return browser


def test_the_admin_offers_no_deletion_of_a_role_group():
    reviewers = Group.objects.get(name=Role.REVIEWER.value)
    browser = _root_browser()
    assert browser.get(reverse("admin:auth_group_delete", args=[reviewers.pk])).status_code == 403
    assert browser.post(reverse("admin:auth_group_delete", args=[reviewers.pk]),
                        {"post": "yes"}).status_code == 403  # fmt: skip
    assert Group.objects.filter(pk=reviewers.pk).exists()


def test_the_admin_still_deletes_a_group_that_is_no_role():
    other = Group.objects.create(name="夜班")
    browser = _root_browser()
    answer = browser.post(reverse("admin:auth_group_delete", args=[other.pk]), {"post": "yes"})
    assert answer.status_code == 302 and not Group.objects.filter(pk=other.pk).exists()


@pytest.mark.postgres
def test_postgresql_refuses_deleting_a_role_group_however_it_is_asked():
    assert connection.vendor == "postgresql"
    reviewer = make_staff(Role.REVIEWER, review_level=1)
    with pytest.raises(DatabaseError, match="role groups are never deleted"), transaction.atomic():
        Group.objects.get(name=Role.REVIEWER.value).delete()  # its memberships first, then it
    assert user_has_role(get_user_model().objects.get(pk=reviewer.pk), Role.REVIEWER)


def test_the_databases_list_of_role_groups_is_the_declared_one():
    migration = importlib.import_module("staff.migrations.0012_role_groups_are_never_deleted")
    assert sorted(Role.values) == migration.ROLE_NAMES
