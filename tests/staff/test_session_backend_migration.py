"""Sessions signed in before the staff backend keep their sign-in across the upgrade."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse

from staff.roles import Role
from tests.factories import make_staff, sign_in

pytestmark = pytest.mark.django_db

migration = importlib.import_module("staff.migrations.0011_sessions_keep_their_sign_in")


def test_a_session_signed_in_before_the_upgrade_is_still_signed_in_after_it():
    client = Client()
    sign_in(client, make_staff(Role.CLERK))
    session = client.session
    session[BACKEND_SESSION_KEY] = migration.OLD  # as Django's ModelBackend signed it in
    session.save()
    workbench = reverse("counters:workbench")
    assert client.get(workbench).status_code == 302  # that backend is no longer listed

    migration.sessions_backend_rename(apps, None)

    stored = SessionStore(session_key=session.session_key).load()
    assert stored[BACKEND_SESSION_KEY] == migration.NEW
    assert client.get(workbench).status_code == 200
