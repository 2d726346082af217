"""Sign-in costs one password hash (Argon2id) and nothing in proportion to the password
history: the seconds a sign-in took were Django's default PBKDF2 rounds, not the pages."""

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password

from langzhong_si import settings as project_settings
from staff.models import PasswordRecord
from staff.passwords import Argon2idHasher
from staff.roles import Role
from tests.factories import make_staff

pytestmark = pytest.mark.django_db

PASSWORD = "Demo-pass-123"


@pytest.fixture
def real_hashers(settings):
    # The production hashers, not the tests' fast MD5 (tests/conftest.py).
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS


@pytest.fixture
def hash_calls(monkeypatch):
    """Counts every verification and every new hash, whichever hasher does it."""
    calls = {"verify": 0, "encode": 0}
    for hasher in (Argon2idHasher, PBKDF2PasswordHasher):
        for name in calls:
            original = getattr(hasher, name)

            def counted(self, *args, _original=original, _name=name, **kwargs):
                calls[_name] += 1
                return _original(self, *args, **kwargs)

            monkeypatch.setattr(hasher, name, counted)
    return calls


def _clerk_with_history(count: int = 5):
    """A clerk who has set `count` passwords before the current one."""
    clerk = make_staff(Role.CLERK)
    for n in range(count):
        clerk.set_password(f"Older-pass-{n}")
        clerk.save()
    clerk.set_password(PASSWORD)
    clerk.save()
    assert PasswordRecord.objects.filter(user=clerk).count() >= count
    return clerk


def test_passwords_are_hashed_with_argon2id_at_owasp_strength(real_hashers):
    clerk = make_staff(Role.CLERK)
    assert clerk.password.startswith("argon2$argon2id$v=19$m=47104,t=1,p=1$")


def test_a_sign_in_verifies_one_password_hash_whatever_the_history(
    client, real_hashers, hash_calls
):
    clerk = _clerk_with_history(5)
    hash_calls.update(verify=0, encode=0)
    response = client.post("/login/", {"username": clerk.username, "password": PASSWORD})
    assert response.status_code == 302
    client.get(response.url, follow=True)  # the first page too
    assert hash_calls == {"verify": 1, "encode": 0}


def test_a_failed_sign_in_also_costs_one_hash(client, real_hashers, hash_calls):
    clerk = _clerk_with_history(3)
    hash_calls.update(verify=0, encode=0)
    response = client.post("/login/", {"username": clerk.username, "password": "Wrong-pass-1"})
    assert response.status_code == 200
    assert hash_calls["verify"] == 1 and hash_calls["encode"] == 0


def test_an_older_pbkdf2_hash_is_rehashed_once_and_not_counted_as_a_password_change(
    client, real_hashers, hash_calls
):
    clerk = make_staff(Role.CLERK)
    clerk.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    clerk.save(update_fields=["password"])
    records = PasswordRecord.objects.filter(user=clerk).count()

    client.post("/login/", {"username": clerk.username, "password": PASSWORD})
    clerk.refresh_from_db()
    assert clerk.password.startswith("argon2$argon2id$")
    assert PasswordRecord.objects.filter(user=clerk).count() == records  # age unchanged

    client.post("/logout/")
    hash_calls.update(verify=0, encode=0)
    client.post("/login/", {"username": clerk.username, "password": PASSWORD})
    assert hash_calls == {"verify": 1, "encode": 0}
