"""Incompatible roles (req. 7): besides 三员分立, the auditor (稽核) holds
none of the business posts they inspect, and an integration account no role a person must
hold. Refused by the service, by a signal on any group change and by the database."""

import importlib

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent
from staff import services
from staff.roles import INCOMPATIBLE_ROLES, Role, incompatible_pair, incompatible_pairs
from tests.factories import make_staff

pytestmark = pytest.mark.django_db
BUSINESS_POSTS = [Role.CLERK, Role.REVIEWER, Role.APPROVER, Role.TEAM_LEAD]


def _insert_membership_in_sql(user, role: Role) -> None:
    group, _created = Group.objects.get_or_create(name=role.value)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO auth_user_groups (user_id, group_id) VALUES (%s, %s)", [user.pk, group.pk]
        )


def test_the_auditor_is_declared_incompatible_with_every_business_post():
    for post in BUSINESS_POSTS:
        assert frozenset({Role.AUDITOR, post}) in INCOMPATIBLE_ROLES
    assert incompatible_pair({"auditor", "window_lead"}) is None


@pytest.mark.parametrize("post", BUSINESS_POSTS)
def test_the_service_refuses_an_auditor_a_business_post(post):
    auditor = make_staff(Role.AUDITOR)
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    with pytest.raises(ValidationError) as refused:
        services.role_grant(user=auditor, role=post, granted_by=security)
    assert refused.value.code == "incompatible_roles"
    assert not auditor.groups.filter(name=post.value).exists()
    assert not AuditEvent.objects.filter(event_type="role.granted", actor=security).exists()


def test_the_service_refuses_a_reviewer_the_auditor_role():
    reviewer = make_staff(Role.REVIEWER)
    with pytest.raises(ValidationError):
        services.role_grant(
            user=reviewer, role=Role.AUDITOR, granted_by=make_staff(Role.SECURITY_ADMINISTRATOR)
        )


def test_a_signal_refuses_the_pair_however_django_writes_the_membership():
    auditor = make_staff(Role.AUDITOR)
    reviewer = make_staff(Role.REVIEWER)
    with pytest.raises(ValidationError), transaction.atomic():
        auditor.groups.add(Group.objects.get(name=Role.REVIEWER))
    with pytest.raises(ValidationError), transaction.atomic():
        Group.objects.get(name=Role.AUDITOR).user_set.add(reviewer)
    assert not auditor.groups.filter(name=Role.REVIEWER).exists()


def test_the_database_refuses_an_auditor_a_business_post_written_in_sql():
    auditor = make_staff(Role.AUDITOR)
    with pytest.raises(DatabaseError):
        _insert_membership_in_sql(auditor, Role.CLERK)


def test_the_database_refuses_an_integration_account_a_reviewer_role_written_in_sql():
    machine = make_staff([Role.INTEGRATION, Role.CLERK])
    with pytest.raises(DatabaseError):
        _insert_membership_in_sql(machine, Role.REVIEWER)


def test_the_database_lets_compatible_roles_through():
    clerk = make_staff(Role.CLERK)
    _insert_membership_in_sql(clerk, Role.REVIEWER)
    assert clerk.groups.filter(name=Role.REVIEWER).exists()


def test_the_database_refuses_renaming_a_role_group():
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE auth_group SET name = 'auditor' WHERE name = 'reviewer'")


@pytest.mark.postgres
@pytest.mark.parametrize("post", BUSINESS_POSTS)
def test_postgresql_refuses_an_auditor_a_business_post_written_in_sql(post):
    assert connection.vendor == "postgresql"
    auditor = make_staff(Role.AUDITOR)
    with pytest.raises(DatabaseError, match="may not hold these two roles"):
        _insert_membership_in_sql(auditor, post)


@pytest.mark.postgres
def test_postgresql_refuses_renaming_a_role_group():
    assert connection.vendor == "postgresql"
    with (
        pytest.raises(DatabaseError, match="role groups keep their names"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE auth_group SET name = 'auditor' WHERE name = 'reviewer'")


def test_the_databases_table_of_pairs_is_the_declared_one():
    migration = importlib.import_module("staff.migrations.0010_city_viewer_a_role_of_its_own")
    assert sorted(migration.PAIRS) == incompatible_pairs()


def test_the_demo_hall_gives_nobody_an_incompatible_pair():
    from simulation.management.commands.seed_demo import DEMO_SITE_STAFF, DEMO_STAFF

    for username, _name, _number, roles, *_rest in [*DEMO_STAFF, *DEMO_SITE_STAFF]:
        assert incompatible_pair({role.value for role in roles}) is None, username
