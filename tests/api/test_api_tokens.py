"""API tokens: integration accounts only, shown once, stored as a digest,
expiring, revocable, refused for disabled accounts and expired passwords; issuing and
revoking are audit events; neither the admin nor its log ever holds a key."""

import datetime
import pickle

import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from staff import services
from staff.api_access import StaffTokenAuthentication
from staff.models import ApiToken, PasswordRecord
from staff.roles import Role
from staff.selectors import api_token_for_key
from tests.factories import make_staff, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def system():
    return make_staff(Role.SYSTEM_ADMINISTRATOR)


@pytest.fixture
def machine():
    """An integration account acting as an intake channel."""
    return make_staff([Role.INTEGRATION, Role.CLERK])


def _get(key, path="/api/counter/"):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api.get(path)


def _refused(response) -> bool:
    # 403, not 401: session authentication comes first and sends no challenge.
    return (
        response.status_code in (401, 403)
        and response.json()["error"]["code"] == "authentication_failed"
    )


def test_a_key_is_stored_only_as_a_digest_and_works_once_issued(system, machine):
    token, key = services.api_token_issue(user=machine, issued_by=system)
    assert len(key) >= 40 and token.prefix == key[:8]
    assert key not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    assert _get(key).status_code == 200


def test_an_account_at_no_site_gets_no_key_until_it_has_its_agencys_site(system):
    """An account made in the admin has no site: every agency's administrator may manage
    it, so none may key it (it would act as an intake channel of any agency)."""
    from django.contrib.auth import get_user_model

    from staff.models import StaffProfile
    from staff.services import role_grant, staff_sites_set

    bare = get_user_model().objects.create_user(username="channel-new", password="x")
    role_grant(user=bare, role=Role.INTEGRATION, granted_by=None)
    StaffProfile.objects.create(user=bare, display_name="受理通道", employee_number="I0001")
    with pytest.raises(ValidationError) as refused:
        services.api_token_issue(user=bare, issued_by=system)
    assert refused.value.code == "no_site"
    assert not ApiToken.objects.filter(user=bare).exists()
    staff_sites_set(user=bare, sites=None, changed_by=None, event=False)  # the home hall
    token, _key = services.api_token_issue(user=bare, issued_by=system)
    assert token.user_id == bare.pk


def test_a_key_stops_working_at_once_when_its_account_no_longer_works_at_a_site(system, machine):
    from staff.models import StaffProfile

    _token, key = services.api_token_issue(user=machine, issued_by=system)
    assert _get(key).status_code == 200  # and remembered
    StaffProfile.objects.get(user=machine).sites.clear()
    assert _refused(_get(key))


def test_the_system_administrator_cannot_issue_a_token_for_the_auditor(system):
    auditor = make_staff(Role.AUDITOR)
    with pytest.raises(ValidationError) as refused:
        services.api_token_issue(user=auditor, issued_by=system)
    assert refused.value.code == "not_integration"
    assert not ApiToken.objects.exists()


def test_a_token_written_straight_into_the_database_for_the_auditor_is_refused(system):
    from langzhong_si.credentials import credential_digest

    auditor = make_staff(Role.AUDITOR)
    now = timezone.now()
    ApiToken.objects.create(
        user=auditor,
        prefix="planted0",
        digest=credential_digest("planted-key"),
        created_at=now,
        expires_at=now + datetime.timedelta(days=1),
        created_by=system,
    )
    assert _refused(_get("planted-key", "/api/audit/findings/"))


def test_a_person_in_a_business_role_gets_no_token(system):
    with pytest.raises(ValidationError):
        services.api_token_issue(user=make_staff(Role.CLERK), issued_by=system)


def test_an_integration_account_cannot_be_given_a_role_a_person_must_hold(machine):
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    for role in (Role.REVIEWER, Role.APPROVER, Role.AUDITOR, Role.TEAM_LEAD):
        with pytest.raises(ValidationError):
            services.role_grant(user=machine, role=role, granted_by=security)


def test_a_second_factor_role_never_gets_or_uses_a_token(system, machine, settings):
    token, key = services.api_token_issue(user=machine, issued_by=system)
    settings.TWO_FACTOR_ROLES = [*settings.TWO_FACTOR_ROLES, "clerk"]
    with pytest.raises(ValidationError):
        services.api_token_issue(user=machine, issued_by=system)
    refused = _get(key)
    assert refused.status_code in (401, 403)
    assert refused.json()["error"]["code"] == "authentication_failed"


def test_only_the_system_administrator_issues_and_revokes_tokens(system, machine):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", password="Root-pass-123")
    for actor in (make_staff(Role.SECURITY_ADMINISTRATOR), root, machine):
        with pytest.raises(PermissionDenied):
            services.api_token_issue(user=machine, issued_by=actor)
    token, _key = services.api_token_issue(user=machine, issued_by=system)
    with pytest.raises(PermissionDenied):
        services.api_token_revoke(token_id=token.pk, revoked_by=root)


def test_issue_and_revoke_are_audit_events_naming_actor_and_target(system, machine):
    token, key = services.api_token_issue(user=machine, issued_by=system)
    services.api_token_revoke(token_id=token.pk, revoked_by=system)
    events = AuditEvent.objects.filter(event_type__startswith="api_token.").order_by("id")
    assert [(e.event_type, e.actor_id, e.object_id) for e in events] == [
        ("api_token.issued", system.pk, str(machine.pk)),
        ("api_token.revoked", system.pk, str(machine.pk)),
    ]
    assert all(key not in str(e.data) for e in events)


def test_a_revoked_token_is_refused(system, machine):
    token, key = services.api_token_issue(user=machine, issued_by=system)
    services.api_token_revoke(token_id=token.pk, revoked_by=system)
    assert _refused(_get(key))


def test_a_token_expires_after_the_configured_days(system, machine, settings):
    assert settings.API_TOKEN_DAYS == 90
    token, key = services.api_token_issue(user=machine, issued_by=system)
    assert token.expires_at - token.created_at == datetime.timedelta(days=90)
    ApiToken.objects.filter(pk=token.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=91),
        expires_at=timezone.now() - datetime.timedelta(days=1),
    )
    assert _refused(_get(key))


def test_a_token_of_a_disabled_account_is_refused(system, machine):
    _token, key = services.api_token_issue(user=machine, issued_by=system)
    services.account_active_set(user=machine, active=False, changed_by=system)
    assert _refused(_get(key))


def test_a_token_is_refused_once_the_accounts_password_has_expired(system, machine, settings):
    _token, key = services.api_token_issue(user=machine, issued_by=system)
    PasswordRecord.objects.filter(user=machine).update(
        set_at=timezone.now() - datetime.timedelta(days=settings.PASSWORD_MAX_AGE_DAYS + 1)
    )
    assert _refused(_get(key))


def test_a_token_is_refused_after_someone_else_set_the_accounts_password(system, machine):
    _token, key = services.api_token_issue(user=machine, issued_by=system)
    services.password_set(user=machine, password="Reset-pass-456", set_by=system)
    assert _refused(_get(key))


def test_an_unknown_key_is_refused(system, machine):
    _token, key = services.api_token_issue(user=machine, issued_by=system)
    assert _refused(_get(key[:-1] + ("A" if key[-1] != "A" else "B")))


def test_authenticating_a_token_takes_one_query(system, machine, django_assert_num_queries):
    _token, key = services.api_token_issue(user=machine, issued_by=system)
    machine._role_cache = None
    authentication = StaffTokenAuthentication()
    # One for the token, its account and password state; one for the account's roles
    # (kept for the view's permission checks, which then ask nothing more).
    with django_assert_num_queries(2):
        user, _token = authentication.authenticate_credentials(key)
    with django_assert_num_queries(0):
        from staff.selectors import user_roles

        user_roles(user)


def test_a_token_accepted_once_is_remembered_and_costs_no_query(
    system, machine, django_assert_num_queries
):
    _token, key = services.api_token_issue(user=machine, issued_by=system)
    authentication = StaffTokenAuthentication()
    authentication.authenticate_credentials(key)
    with django_assert_num_queries(0):
        user, _token = authentication.authenticate_credentials(key)
        from staff.selectors import user_roles

        assert Role.INTEGRATION.value in user_roles(user)


def _remembered(key):
    from django.core.cache import cache

    from langzhong_si.credentials import credential_digest
    from staff.api_access import api_token_cache_key

    return cache, api_token_cache_key(credential_digest(key))


def test_a_remembered_token_keeps_its_accounts_password_hash_only_encrypted(system, machine):
    _token, key = services.api_token_issue(user=machine, issued_by=system)
    StaffTokenAuthentication().authenticate_credentials(key)
    cache, cache_key = _remembered(key)
    kept = cache.get(cache_key)
    assert kept is not None and kept.user.pk == machine.pk
    assert machine.password.encode() not in pickle.dumps(kept)
    user, _token = StaffTokenAuthentication().authenticate_credentials(key)
    assert user.password == machine.password  # taken back decrypted


@pytest.mark.parametrize("kept_how", ["in the clear", "under another key"])
def test_a_remembered_token_that_does_not_decrypt_is_read_again(
    system, machine, settings, django_assert_num_queries, kept_how
):
    token, key = services.api_token_issue(user=machine, issued_by=system)
    cache, cache_key = _remembered(key)
    if kept_how == "in the clear":  # as an older release kept it
        cache.set(cache_key, api_token_for_key(key), 30)
    else:
        StaffTokenAuthentication().authenticate_credentials(key)
        settings.PERSONAL_DATA_KEY = "another personal data key, since rotated"
    machine._role_cache = None
    with django_assert_num_queries(2):  # the token and its account, then its roles
        user, _token = StaffTokenAuthentication().authenticate_credentials(key)
    assert user.pk == machine.pk and user.password == machine.password


def test_a_remembered_token_of_a_deactivated_account_is_refused_at_once(system, machine):
    _token, key = services.api_token_issue(user=machine, issued_by=system)
    assert _get(key).status_code != 401
    services.account_active_set(user=machine, active=False, changed_by=system)
    assert _refused(_get(key))


def test_a_remembered_revoked_token_is_refused_at_once(system, machine):
    token, key = services.api_token_issue(user=machine, issued_by=system)
    assert _get(key).status_code != 401
    services.api_token_revoke(token_id=token.pk, revoked_by=system)
    assert _refused(_get(key))


def test_a_remembered_token_is_refused_once_it_expires(system, machine, time_passes):
    token, key = services.api_token_issue(user=machine, issued_by=system)
    ApiToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() + datetime.timedelta(seconds=20)
    )
    assert _get(key).status_code != 401  # remembered for API_TOKEN_CACHE_SECONDS (30)
    time_passes(seconds=21)
    assert _refused(_get(key))


def test_the_token_page_shows_a_new_key_once_and_then_only_its_prefix(client, system, machine):
    sign_in(client, system)
    issued = client.post(
        reverse("staff:api_tokens"), {"action": "issue", "username": machine.username}
    )
    key = issued.context["issued_key"]
    assert key and key in issued.content.decode()
    assert issued["Cache-Control"] == "no-store"
    listed = client.get(reverse("staff:api_tokens")).content.decode()
    assert key[:8] in listed and key not in listed
    token = ApiToken.objects.get()
    client.post(reverse("staff:api_tokens"), {"action": "revoke", "token": token.pk})
    token.refresh_from_db()
    assert token.revoked_by == system


def test_the_admin_and_its_log_never_hold_a_key(client, system, machine):
    from django.contrib.auth import get_user_model

    _token, key = services.api_token_issue(user=machine, issued_by=system)
    root = get_user_model().objects.create_superuser("root", password="Root-pass-123")
    sign_in(client, root)
    listing = client.get(reverse("admin:staff_apitoken_changelist")).content.decode()
    assert key[:8] in listing and key not in listing
    assert client.get(reverse("admin:staff_apitoken_add")).status_code == 403
    assert not any(
        key in (entry.object_repr + entry.change_message) for entry in LogEntry.objects.all()
    )


def test_the_plain_text_token_table_is_gone():
    assert "authtoken_token" not in connection.introspection.table_names()


# --- Another agency's integration accounts: kept within that agency ----------------------


@pytest.fixture
def system_elsewhere():
    from tests.factories import make_agency, make_site

    return make_staff(Role.SYSTEM_ADMINISTRATOR, sites=[make_site(make_agency())])


def test_another_agencys_system_administrator_gets_no_key_to_an_integration_account(
    system_elsewhere, machine
):
    with pytest.raises(PermissionDenied):
        services.api_token_issue(user=machine, issued_by=system_elsewhere)
    assert not ApiToken.objects.filter(user=machine).exists()


def test_another_agencys_system_administrator_cannot_revoke_its_key(
    system, system_elsewhere, machine
):
    token, key = services.api_token_issue(user=machine, issued_by=system)
    with pytest.raises(PermissionDenied):
        services.api_token_revoke(token_id=token.pk, revoked_by=system_elsewhere)
    token.refresh_from_db()
    assert token.revoked_at is None and _get(key).status_code == 200


def test_revoking_another_agencys_key_on_the_page_is_refused_and_recorded_by_its_number(
    client, system, system_elsewhere, machine
):
    """The actor named a key's number, not its account: the event names no more."""
    token, _key = services.api_token_issue(user=machine, issued_by=system)
    sign_in(client, system_elsewhere)
    page = client.post(
        reverse("staff:api_tokens"), {"action": "revoke", "token": token.pk}, follow=True
    )
    assert "没有这个令牌。" in page.content.decode()
    event = AuditEvent.objects.get(event_type="power.refused")
    assert (event.actor_id, event.object_id) == (system_elsewhere.pk, "")
    assert event.data == {
        "tried": "api_token_revoke", "reason": "another_agency",
        "object": f"staff.apitoken #{token.pk}",
    }  # fmt: skip
    assert machine.username not in str(event.data)


def test_the_token_page_lists_only_the_agencys_own_accounts_keys(
    client, system, system_elsewhere, machine
):
    token, _key = services.api_token_issue(user=machine, issued_by=system)
    sign_in(client, system_elsewhere)
    listed = client.get(reverse("staff:api_tokens")).content.decode()
    assert token.prefix not in listed and machine.username not in listed
    sign_in(client, system)
    assert token.prefix in client.get(reverse("staff:api_tokens")).content.decode()


def test_the_admins_token_list_holds_only_the_agencys_own_accounts_keys(
    client, system, system_elsewhere, machine
):
    from django.contrib.auth.models import Permission

    token, _key = services.api_token_issue(user=machine, issued_by=system)
    for person in (system, system_elsewhere):
        person.is_staff = True
        person.save(update_fields=["is_staff"])
        person.user_permissions.add(Permission.objects.get(codename="view_apitoken"))

    def listed(person) -> str:
        sign_in(client, person)
        page = client.get(reverse("admin:staff_apitoken_changelist"))
        assert page.status_code == 200
        return page.content.decode()

    assert token.prefix in listed(system)
    assert token.prefix not in listed(system_elsewhere)
