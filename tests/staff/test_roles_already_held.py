"""Incompatible roles held before the database refused them: migration 0008
stops and names every account and pair, so the operator resolves them first."""

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from staff.roles import incompatible_pairs

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE_TRIGGER = [("staff", "0006_api_tokens_hashed_and_passwords_set_by")]
CHECK = ("staff", "0008_no_incompatible_roles_already_held")
MIGRATION = importlib.import_module("staff.migrations.0008_no_incompatible_roles_already_held")


def _membership(apps, username: str, roles: list[str]) -> None:
    user = apps.get_model("auth", "User").objects.create(username=username)
    groups = apps.get_model("auth", "Group").objects
    user.groups.add(*(groups.get_or_create(name=name)[0] for name in roles))


def test_the_migrations_table_of_pairs_is_the_declared_one():
    # The city-level viewer's group came later (staff 0009), so nobody could hold it then.
    declared_then = [pair for pair in incompatible_pairs() if "city_viewer" not in pair]
    assert sorted(MIGRATION.PAIRS) == declared_then


def test_migrating_over_an_auditor_who_is_also_a_clerk_fails_naming_the_account_and_pair(
    database_at,
):
    executor = database_at(BEFORE_TRIGGER)  # before 0007's trigger: the clash could be written
    old = executor.loader.project_state(BEFORE_TRIGGER).apps
    _membership(old, "wang-both", ["auditor", "clerk"])
    _membership(old, "li-fine", ["reviewer", "approver"])
    executor = MigrationExecutor(connection)
    with pytest.raises(RuntimeError) as refused:
        executor.migrate([CHECK])
    assert "wang-both: auditor + clerk" in str(refused.value)
    assert "li-fine" not in str(refused.value)
    assert CHECK not in MigrationExecutor(connection).loader.applied_migrations
    # The operator's fix: one of the two roles revoked; then the migration passes.
    _revoke(old, "wang-both", "clerk")
    MigrationExecutor(connection).migrate([CHECK])
    assert CHECK in MigrationExecutor(connection).loader.applied_migrations


def _revoke(apps, username: str, role: str) -> None:
    user = apps.get_model("auth", "User").objects.get(username=username)
    user.groups.remove(*apps.get_model("auth", "Group").objects.filter(name=role))
