"""langzhong_si.versions: a transaction's poll-version bumps reach the cache once it
commits, together in one round trip, and never those of a savepoint rolled back."""

import pytest
from django.db import transaction

from langzhong_si import versions

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(versions, "_bump", lambda keys: calls.append(list(keys)))
    return calls


def test_a_transactions_bumps_are_sent_together_once_it_commits(
    sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        versions.versions_bump("tickets")
        versions.versions_bump("user:1", "tickets")
        versions.versions_bump("user:2")
        assert sent == []
    assert sent == [["tickets", "user:1", "user:2"]]


def _rolled_back(*bumps):
    """Each of `bumps` (its keys) made in one savepoint, which then rolls back."""
    try:
        with transaction.atomic():
            for keys in bumps:
                versions.versions_bump(*keys)
            raise RuntimeError
    except RuntimeError:
        pass


def test_a_bump_inside_a_savepoint_rolled_back_is_not_sent(
    sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        versions.versions_bump("tickets")
        _rolled_back(["user:1"])
        versions.versions_bump("user:2")
    assert sent == [["tickets", "user:2"]]


def test_bumps_sent_together_within_a_savepoint_rolled_back_are_all_dropped(
    sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        _rolled_back(["user:1"], ["user:2", "tickets"])
        versions.versions_bump("tickets")
    assert sent == [["tickets"]]


@pytest.mark.django_db(transaction=True)
def test_a_bump_outside_a_transaction_is_sent_at_once(sent):
    versions.versions_bump("tickets", "", "tickets")
    assert sent == [["tickets"]]


def test_a_transactions_bumps_go_together_past_another_commit_hook(
    sent, django_capture_on_commit_callbacks
):
    ran = []
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        versions.versions_bump("tickets")
        transaction.on_commit(lambda: ran.append("nudge"))
        versions.versions_bump("user:1")
    assert sent == [["tickets", "user:1"]]
    assert ran == ["nudge"]


def test_a_bump_in_a_savepoint_is_not_sent_with_those_made_outside_it(
    sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        versions.versions_bump("tickets")
        _rolled_back(["user:1"])
        versions.versions_bump("user:2")
        with transaction.atomic():
            versions.versions_bump("user:3")
    assert sent == [["tickets", "user:2"], ["user:3"]]
