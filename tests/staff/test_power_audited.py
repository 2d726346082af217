"""Every use of power is an event in the hash chain: admin actions by anyone,
password resets (which force a change), (de)activation, unlock, second-factor reset, and
the superuser, who cannot read second-factor secrets and can be retired."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from audit.refusals import refusals_recorded_after
from audit.services import audit_log_verify
from security_desk.services import sign_in_code_issue
from staff import services
from staff.models import PasswordRecord
from staff.roles import Role
from tests.factories import make_staff, sign_in, totp_code

pytestmark = pytest.mark.django_db
PASSWORD = "Demo-pass-123"
NEW = "Reset-pass-456"


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", password="Root-pass-123")


@pytest.fixture
def root_client(root):
    return _signed_in(root)


def _signed_in(user):
    browser = Client()
    sign_in(browser, user)
    return browser


def _sysadmin_in_admin():
    """A system administrator with the account permissions the demo hall gives them."""
    system = make_staff(Role.SYSTEM_ADMINISTRATOR)
    system.is_staff = True
    system.save(update_fields=["is_staff"])
    system.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "change_user", "add_user"])
    )
    browser = Client()
    sign_in(browser, system)
    return system, browser


def _user_form(user, **changes) -> dict:
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


# --- Admin actions ---------------------------------------------------------------------------


def test_an_admin_change_by_the_superuser_is_an_event_naming_actor_model_and_object(
    root_client, root
):
    clerk = make_staff(Role.CLERK)
    response = root_client.post(
        reverse("admin:auth_user_change", args=[clerk.pk]), _user_form(clerk, first_name="Li")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.get(event_type="admin.changed")
    assert (event.actor_id, event.object_type, event.object_id) == (
        root.pk,
        "auth.user",
        str(clerk.pk),
    )
    assert event.data["change"] == [{"changed": {"fields": ["First name"]}}]
    assert audit_log_verify() is None


def test_an_admin_addition_and_deletion_are_events(root_client, root):
    from devices.models import HallDevice

    device = HallDevice.objects.create(kind=HallDevice.Kind.KIOSK, name="old kiosk")
    deleted = root_client.post(
        reverse("admin:devices_halldevice_delete", args=[device.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 302 and not HallDevice.objects.filter(pk=device.pk).exists()
    assert AuditEvent.objects.filter(
        event_type="admin.deleted",
        actor=root,
        object_type="devices.halldevice",
        object_id=str(device.pk),
    ).exists()
    added = root_client.post(
        reverse("admin:auth_user_add"),
        {"username": "newbie", "password1": NEW, "password2": NEW, "usable_password": "true"},
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    newbie = get_user_model().objects.get(username="newbie")
    assert AuditEvent.objects.filter(
        event_type="admin.added", actor=root, object_type="auth.user", object_id=str(newbie.pk)
    ).exists()
    # Created with a password someone else chose: its owner must change it.
    assert AuditEvent.objects.filter(
        event_type="auth.password_set", actor=root, object_id=str(newbie.pk)
    ).exists()


def test_the_admin_has_no_bulk_delete_so_every_deletion_is_logged_one_by_one(root):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = root
    for model, model_admin in admin.site._registry.items():
        assert "delete_selected" not in model_admin.get_actions(request), model


def test_acting_on_an_administrator_in_the_admin_is_an_event_naming_actor_and_target(
    root_client, root
):
    for role in (
        Role.SYSTEM_ADMINISTRATOR,
        Role.SECURITY_ADMINISTRATOR,
        Role.AUDIT_ADMINISTRATOR,
    ):
        target = make_staff(role)
        root_client.post(
            reverse("admin:auth_user_change", args=[target.pk]),
            _user_form(target, email=f"{role.value}@example.org"),
        )
        assert AuditEvent.objects.filter(
            event_type="admin.changed", actor=root, object_id=str(target.pk)
        ).exists(), role


# --- Passwords set by someone else -----------------------------------------------------------


def test_a_password_set_in_the_admin_is_audited_and_forces_a_change_at_next_sign_in(client):
    system, browser = _sysadmin_in_admin()
    clerk = make_staff(Role.CLERK)
    response = browser.post(
        reverse("admin:auth_user_password_change", args=[clerk.pk]),
        {"password1": NEW, "password2": NEW, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.get(event_type="auth.password_set")
    assert (event.actor_id, event.object_id) == (system.pk, str(clerk.pk))
    client.post(reverse("login"), {"username": clerk.username, "password": NEW})
    # Nothing before the sign-in code the security administrator gives the clerk in hand.
    page = client.get(reverse("counters:workbench"))
    assert page.status_code == 302 and page.url.startswith(reverse("security_desk:sign_in_code"))
    code, _expires = sign_in_code_issue(
        user=clerk, issued_by=make_staff(Role.SECURITY_ADMINISTRATOR)
    )
    client.post(reverse("security_desk:sign_in_code"), {"code": code})
    page = client.get(reverse("counters:workbench"))
    assert page.status_code == 302 and page.url.startswith(reverse("staff:password_change"))
    client.post(
        reverse("staff:password_change"),
        {"old_password": NEW, "new_password1": "Own-choice-789", "new_password2": "Own-choice-789"},
    )
    assert client.get(reverse("counters:workbench")).status_code == 200


def test_the_superuser_setting_an_administrators_password_cannot_sign_in_as_them(
    root_client, root, client
):
    audit_admin = make_staff(Role.AUDIT_ADMINISTRATOR)
    root_client.post(
        reverse("admin:auth_user_password_change", args=[audit_admin.pk]),
        {"password1": NEW, "password2": NEW, "usable_password": "true"},
    )
    assert AuditEvent.objects.filter(
        event_type="auth.password_set", actor=root, object_id=str(audit_admin.pk)
    ).exists()
    client.post(reverse("login"), {"username": audit_admin.username, "password": NEW})
    # The sign-in code first (which only the security administrator gives), then the
    # second factor (which only the administrator has), then a forced change.
    for page in ("audit:audit_log", "staff:two_factor", "staff:password_change"):
        answer = client.get(reverse(page))
        assert answer.status_code == 302
        assert answer.url.startswith(reverse("security_desk:sign_in_code"))
    with pytest.raises(PermissionDenied):  # the password's setter gives no code for it
        sign_in_code_issue(user=audit_admin, issued_by=root)


def test_the_password_service_refuses_anyone_but_the_system_administrator_and_oneself():
    clerk = make_staff(Role.CLERK)
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    system = make_staff(Role.SYSTEM_ADMINISTRATOR)
    with pytest.raises(PermissionDenied):
        services.password_set(user=clerk, password=NEW, set_by=security)
    with pytest.raises(PermissionDenied):
        services.password_set(user=system, password=NEW, set_by=system)
    services.password_set(user=clerk, password=NEW, set_by=system)
    latest = PasswordRecord.objects.filter(user=clerk).order_by("-set_at", "-pk").first()
    assert latest.set_by == system


# --- The second factor before the password ---------------------------------------------------


def test_the_password_cannot_be_changed_before_the_second_factor(client):
    lead = make_staff(Role.TEAM_LEAD)
    client.post(reverse("login"), {"username": lead.username, "password": PASSWORD})
    page = client.get(reverse("staff:password_change"))
    assert page.status_code == 302 and page.url.startswith(reverse("staff:two_factor"))
    client.post(
        reverse("staff:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )
    lead.refresh_from_db()
    assert lead.check_password(PASSWORD)


def test_after_the_second_factor_the_password_can_be_changed(client, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    lead = make_staff(Role.TEAM_LEAD)
    client.post(reverse("login"), {"username": lead.username, "password": PASSWORD})
    client.get(reverse("staff:two_factor"))
    client.post(reverse("staff:two_factor"), {"code": totp_code(lead)})
    client.post(
        reverse("staff:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )
    lead.refresh_from_db()
    assert lead.check_password(NEW)


# --- Activation, unlock, second factor -------------------------------------------------------


def test_deactivating_the_audit_administrator_in_the_admin_is_an_audit_event():
    system, browser = _sysadmin_in_admin()
    audit_admin = make_staff(Role.AUDIT_ADMINISTRATOR)
    form = _user_form(audit_admin)
    form.pop("is_active")
    response = browser.post(reverse("admin:auth_user_change", args=[audit_admin.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    audit_admin.refresh_from_db()
    assert not audit_admin.is_active
    event = AuditEvent.objects.get(event_type="account.deactivated")
    assert (event.actor_id, event.object_id) == (system.pk, str(audit_admin.pk))


def test_reactivation_is_an_audit_event_and_nobody_changes_their_own():
    system = make_staff(Role.SYSTEM_ADMINISTRATOR)
    clerk = make_staff(Role.CLERK)
    services.account_active_set(user=clerk, active=False, changed_by=system)
    services.account_active_set(user=clerk, active=True, changed_by=system)
    assert list(
        AuditEvent.objects.filter(object_id=str(clerk.pk), event_type__startswith="account.")
        .order_by("id")
        .values_list("event_type", flat=True)
    ) == ["account.deactivated", "account.activated"]
    with pytest.raises(PermissionDenied):
        services.account_active_set(user=system, active=False, changed_by=system)


def _locked_out(client, user):
    for _ in range(5):
        client.post(reverse("login"), {"username": user.username, "password": "Wrong-pass-1"})


@pytest.mark.parametrize("username", ["", "   ", "nobody-such"])
def test_unlock_with_an_empty_or_unknown_username_is_refused_and_clears_nothing(client, username):
    from axes.models import AccessAttempt

    clerk = make_staff(Role.CLERK)
    _locked_out(client, clerk)
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    with pytest.raises(ValidationError):
        services.account_unlock(username=username, unlocked_by=security)
    assert AccessAttempt.objects.filter(username=clerk.username).exists()
    assert not AuditEvent.objects.filter(event_type="auth.unlocked").exists()


def test_the_security_page_says_why_an_empty_unlock_is_refused(client):
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    sign_in(client, security)
    page = client.post(
        reverse("security_desk:security"), {"action": "unlock", "username": ""}, follow=True
    )
    assert "请填写要解锁的账号。" in page.content.decode()


def test_an_unlock_names_the_unlocked_account():
    clerk = make_staff(Role.CLERK)
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    services.account_unlock(username=clerk.username, unlocked_by=security)
    event = AuditEvent.objects.get(event_type="auth.unlocked")
    assert (event.actor_id, event.object_id) == (security.pk, str(clerk.pk))


def test_another_agencys_security_administrator_cannot_unlock_an_account(client, hall_b):
    from axes.models import AccessAttempt

    clerk = make_staff(Role.CLERK)
    _locked_out(client, clerk)
    elsewhere = make_staff(Role.SECURITY_ADMINISTRATOR, sites=[hall_b])
    with pytest.raises(ValidationError) as refused:  # as if it did not exist
        services.account_unlock(username=clerk.username, unlocked_by=elsewhere)
    assert refused.value.code == "username"
    assert AccessAttempt.objects.filter(username=clerk.username).exists()
    assert not AuditEvent.objects.filter(event_type="auth.unlocked").exists()


def _refusals() -> list[tuple]:
    return list(
        AuditEvent.objects.filter(event_type="power.refused")
        .order_by("id")
        .values_list("actor_id", "object_id", "outcome", "data", "agency_id")
    )


def test_an_unlock_tried_on_another_agencys_account_is_a_refused_event_of_the_actors_agency(
    client, hall_b
):
    clerk = make_staff(Role.CLERK)
    _locked_out(client, clerk)
    elsewhere = make_staff(Role.SECURITY_ADMINISTRATOR, sites=[hall_b])
    sign_in(client, elsewhere)
    page = client.post(
        reverse("security_desk:security"),
        {"action": "unlock", "username": clerk.username},
        follow=True,
    )
    assert "无此用户。" in page.content.decode()
    # Named by the name typed only: the other agency's record is not linked to this one.
    refused = {"tried": "account_unlock", "reason": "another_agency", "username": clerk.username}
    assert _refusals() == [(elsewhere.pk, "", "refused", refused, hall_b.agency_id)]


def test_a_role_grant_on_another_agencys_account_is_recorded_though_its_transaction_rolled_back(
    client, hall_b
):
    """The grant runs in a transaction that the refusal rolls back: the event is written
    after it; the page answers as if the account did not exist."""
    clerk = make_staff(Role.CLERK)
    elsewhere = make_staff(Role.SECURITY_ADMINISTRATOR, sites=[hall_b])
    sign_in(client, elsewhere)
    form = {"action": "grant", "username": clerk.username, "role": Role.WINDOW_LEAD.value}
    page = client.post(reverse("security_desk:security"), form, follow=True)
    assert "无此用户。" in page.content.decode()
    assert Role.WINDOW_LEAD.value not in services.user_roles(type(clerk).objects.get(pk=clerk.pk))
    refused = {"tried": "role_grant", "reason": "another_agency", "username": clerk.username}
    assert _refusals() == [(elsewhere.pk, "", "refused", refused, hall_b.agency_id)]


def test_a_role_change_by_someone_without_the_role_is_a_refused_event():
    lead = make_staff(Role.TEAM_LEAD)
    clerk = make_staff(Role.CLERK)
    with refusals_recorded_after(), pytest.raises(PermissionDenied):  # as in a request
        services.role_grant(user=clerk, role=Role.WINDOW_LEAD, granted_by=lead)
    refused = {"tried": "role_grant", "reason": "role_not_held"}
    assert [row[:4] for row in _refusals()] == [(lead.pk, str(clerk.pk), "refused", refused)]


def test_a_refused_event_waits_for_the_request_and_survives_its_rolled_back_transaction():
    from django.db import transaction

    from staff.scope import power_refused

    lead = make_staff(Role.TEAM_LEAD)
    with refusals_recorded_after():
        with pytest.raises(PermissionDenied), transaction.atomic():
            raise power_refused(lead, "no", reason="role_not_held", action="tried")
        assert _refusals() == []  # not yet: written once the request is done
    assert len(_refusals()) == 1


def test_the_security_page_lists_only_the_agencys_locked_accounts(client, hall_b):
    ours, theirs = make_staff(Role.CLERK), make_staff(Role.CLERK, sites=[hall_b])
    new = get_user_model().objects.create_user(username="just-made", password="x")  # no site
    for user in (ours, theirs, new):
        _locked_out(client, user)
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    sign_in(client, security)
    page = client.get(reverse("security_desk:security"))
    listed = {attempt.username for attempt in page.context["locked"]}
    assert listed == {ours.username, new.username}


def test_the_admins_lockouts_are_the_agencys_only_and_never_deleted_there(client, hall_b):
    """django-axes' own admin: deleting a lockout's record would lift it with no event and
    past the agency; it lists the agency's accounts only and deletes nothing."""
    from axes.models import AccessAttempt

    ours, theirs = make_staff(Role.CLERK), make_staff(Role.CLERK, sites=[hall_b])
    for user in (ours, theirs):
        _locked_out(client, user)
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    security.is_staff = True
    security.save(update_fields=["is_staff"])
    codenames = ["view_accessattempt", "delete_accessattempt"]
    security.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    browser = Client()
    sign_in(browser, security)
    listed = browser.get("/admin/axes/accessattempt/")
    assert ours.username in listed.content.decode()
    assert theirs.username not in listed.content.decode()
    attempt = AccessAttempt.objects.get(username=ours.username)
    url = f"/admin/axes/accessattempt/{attempt.pk}/delete/"
    assert browser.post(url, {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [attempt.pk]}
    browser.post("/admin/axes/accessattempt/", bulk)
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()


def test_a_second_factor_reset_is_an_event_naming_actor_and_target():
    lead = make_staff(Role.TEAM_LEAD)
    TOTPDevice.objects.create(user=lead, name="authenticator", confirmed=True)
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    services.second_factor_reset(user=lead, reset_by=security)
    event = AuditEvent.objects.get(event_type="auth.second_factor_reset")
    assert (event.actor_id, event.object_id) == (security.pk, str(lead.pk))
    assert not TOTPDevice.objects.filter(user=lead).exists()


# --- The superuser ---------------------------------------------------------------------------


def test_a_superuser_needs_the_second_factor_before_the_admin(client, root):
    client.post(reverse("login"), {"username": "root", "password": "Root-pass-123"})
    page = client.get(reverse("admin:index"))
    assert page.status_code == 302 and page.url.startswith(reverse("staff:two_factor"))


def test_a_superuser_cannot_read_second_factor_secrets_in_the_admin(root_client):
    audit_admin = make_staff(Role.AUDIT_ADMINISTRATOR)
    device = TOTPDevice.objects.create(user=audit_admin, name="authenticator", confirmed=True)
    assert TOTPDevice not in admin.site._registry
    index = root_client.get(reverse("admin:index")).content.decode()
    assert "otp_totp" not in index
    assert root_client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/").status_code == 404
    assert device.key not in index


def test_retire_superuser_disables_the_account_and_records_an_event(root):
    call_command("retire_superuser", username="root", stdout=open("/dev/null", "w"))  # noqa: SIM115
    root.refresh_from_db()
    assert not root.is_superuser and not root.is_active and not root.has_usable_password()
    assert AuditEvent.objects.filter(
        event_type="auth.superuser_retired", object_id=str(root.pk)
    ).exists()


def test_retire_superuser_refuses_an_ordinary_account():
    clerk = make_staff(Role.CLERK)
    with pytest.raises(CommandError):
        call_command("retire_superuser", username=clerk.username)
    clerk.refresh_from_db()
    assert clerk.is_active


def test_the_unlock_api_refuses_an_unknown_username_with_a_clear_400():
    from rest_framework.test import APIClient

    api = APIClient()
    sign_in(api, make_staff(Role.SECURITY_ADMINISTRATOR))
    response = api.post("/api/security/unlock/", {"username": "nobody-such"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["message"]


def test_retire_superuser_asks_for_the_username(root, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda prompt: "root")
    call_command("retire_superuser", stdout=open("/dev/null", "w"))  # noqa: SIM115
    root.refresh_from_db()
    assert not root.is_superuser


def test_a_grant_with_no_role_says_the_same_whether_or_not_the_account_exists(client, hall_b):
    """The role is checked before the account is looked for: an answer tells nothing of
    another agency's accounts."""
    theirs = make_staff(Role.CLERK, sites=[hall_b])
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    sign_in(client, security)
    answers = [
        client.post(
            reverse("security_desk:security"), {"action": "grant", "username": name, "role": ""},
            follow=True,
        ).context["messages"]
        for name in (theirs.username, "nobody-such")
    ]  # fmt: skip
    assert [[str(m) for m in answer] for answer in answers] == [["请选择角色。"]] * 2


def test_the_role_api_answers_another_agencys_account_as_not_found_and_records_it(hall_b):
    from rest_framework.test import APIClient

    theirs = make_staff(Role.CLERK, sites=[hall_b])
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    api = APIClient()
    sign_in(api, security)
    body = {"username": theirs.username, "role": Role.WINDOW_LEAD.value, "action": "grant"}
    answer = api.post("/api/security/roles/", body, format="json")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    assert [row[3]["reason"] for row in _refusals()] == ["another_agency"]


def test_the_security_page_lists_no_superusers_lockout(client):
    root = get_user_model().objects.create_superuser("root-admin", password="Root-pass-123")
    _locked_out(client, root)
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    sign_in(client, security)
    page = client.get(reverse("security_desk:security"))
    assert root.username not in {attempt.username for attempt in page.context["locked"]}
