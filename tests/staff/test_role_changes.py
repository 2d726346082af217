"""Role grants and revocations, whatever path makes them (the security page's service,
the admin's groups field, `user.groups.add` in code), are each one `role.granted` or
`role.revoked` event naming actor, target and role, and only the security administrator
changes someone else's roles. The admin's password page sets a password only through
the system administrator's service."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from audit.refusals import refusals_recorded_after
from staff import services
from staff.models import PasswordRecord
from staff.roles import Role
from staff.selectors import user_roles
from staff.signals import roles_changed_by
from tests.factories import make_staff, sign_in

pytestmark = pytest.mark.django_db
NEW = "Reset-pass-456"


def _in_admin(role: Role):
    """Someone with the admin's account permissions (view, change and add users)."""
    person = make_staff(role)
    person.is_staff = True
    person.save(update_fields=["is_staff"])
    person.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "change_user", "add_user"])
    )
    browser = Client()
    sign_in(browser, person)
    return person, browser


def _user_form(user, groups: list[Group]) -> dict:
    return {
        "username": user.username,
        "is_active": "on",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "groups": [group.pk for group in groups],
    }


def _role_events(user) -> list[tuple]:
    return list(
        AuditEvent.objects.filter(object_id=str(user.pk), event_type__startswith="role.")
        .order_by("id")
        .values_list("event_type", "actor_id", "data__role")
    )


def _group(role: Role) -> Group:
    return Group.objects.get_or_create(name=role.value)[0]


# --- One event per grant or revocation, whatever the path ------------------------------------


def test_a_role_granted_in_the_admin_groups_field_is_a_role_granted_event_naming_the_role():
    security, browser = _in_admin(Role.SECURITY_ADMINISTRATOR)
    clerk = make_staff(Role.CLERK)
    response = browser.post(
        reverse("admin:auth_user_change", args=[clerk.pk]),
        _user_form(clerk, [_group(Role.CLERK), _group(Role.WINDOW_LEAD)]),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _role_events(clerk)[1:] == [("role.granted", security.pk, "window_lead")]


def test_a_role_removed_in_the_admin_groups_field_is_a_role_revoked_event():
    security, browser = _in_admin(Role.SECURITY_ADMINISTRATOR)
    lead = make_staff([Role.CLERK, Role.WINDOW_LEAD])
    response = browser.post(
        reverse("admin:auth_user_change", args=[lead.pk]), _user_form(lead, [_group(Role.CLERK)])
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _role_events(lead)[2:] == [("role.revoked", security.pk, "window_lead")]
    assert user_roles(type(lead).objects.get(pk=lead.pk)) == {"clerk"}


def test_the_role_services_record_exactly_one_event_per_grant_and_revocation():
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    clerk = make_staff(Role.CLERK)
    services.role_grant(user=clerk, role=Role.WINDOW_LEAD, granted_by=security)
    services.role_revoke(user=clerk, role=Role.WINDOW_LEAD, revoked_by=security)
    assert _role_events(clerk)[1:] == [
        ("role.granted", security.pk, "window_lead"),
        ("role.revoked", security.pk, "window_lead"),
    ]


def test_granting_a_role_already_held_or_revoking_one_not_held_records_nothing():
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    clerk = make_staff(Role.CLERK)
    events = AuditEvent.objects.count()
    services.role_grant(user=clerk, role=Role.CLERK, granted_by=security)
    services.role_revoke(user=clerk, role=Role.WINDOW_LEAD, revoked_by=security)
    assert AuditEvent.objects.count() == events


def test_a_role_added_in_code_is_recorded_even_without_the_service():
    clerk = make_staff(Role.CLERK)
    clerk.groups.add(_group(Role.WINDOW_LEAD))
    _group(Role.REVIEWER).user_set.add(clerk)
    clerk.groups.clear()
    assert _role_events(clerk)[1:] == [
        ("role.granted", None, "window_lead"),
        ("role.granted", None, "reviewer"),
        *[("role.revoked", None, name) for name in ("clerk", "reviewer", "window_lead")],
    ]


# --- Only the security administrator, never on their own account -----------------------------


@pytest.mark.parametrize("role", [Role.SYSTEM_ADMINISTRATOR, Role.TEAM_LEAD])
def test_a_group_edit_in_the_name_of_anyone_but_the_security_administrator_is_refused(role):
    someone = make_staff(role)
    clerk = make_staff(Role.CLERK)
    with pytest.raises(PermissionDenied), roles_changed_by(someone), transaction.atomic():
        clerk.groups.add(_group(Role.WINDOW_LEAD))
    with pytest.raises(PermissionDenied), roles_changed_by(someone), transaction.atomic():
        clerk.groups.clear()
    assert user_roles(type(clerk).objects.get(pk=clerk.pk)) == {"clerk"}


def test_the_security_administrator_cannot_edit_their_own_groups_in_code():
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    with pytest.raises(PermissionDenied), roles_changed_by(security), transaction.atomic():
        security.groups.add(_group(Role.WINDOW_LEAD))


def test_the_system_administrator_cannot_grant_a_role_in_the_admin_groups_field():
    system, browser = _in_admin(Role.SYSTEM_ADMINISTRATOR)
    clerk = make_staff(Role.CLERK)
    browser.post(
        reverse("admin:auth_user_change", args=[clerk.pk]),
        _user_form(clerk, [_group(Role.CLERK), _group(Role.WINDOW_LEAD)]),
    )
    assert user_roles(type(clerk).objects.get(pk=clerk.pk)) == {"clerk"}
    assert len(_role_events(clerk)) == 1  # the grant at creation


def test_the_security_administrator_cannot_make_an_account_superuser_in_the_admin():
    _security, browser = _in_admin(Role.SECURITY_ADMINISTRATOR)
    clerk = make_staff(Role.CLERK)
    form = {**_user_form(clerk, [_group(Role.CLERK)]), "is_superuser": "on"}
    response = browser.post(reverse("admin:auth_user_change", args=[clerk.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not type(clerk).objects.get(pk=clerk.pk).is_superuser


def test_the_security_administrator_cannot_give_a_permission_past_the_roles_in_the_admin():
    _security, browser = _in_admin(Role.SECURITY_ADMINISTRATOR)
    clerk = make_staff(Role.CLERK)
    permission = Permission.objects.get(codename="change_user")
    form = {**_user_form(clerk, [_group(Role.CLERK)]), "user_permissions": [permission.pk]}
    response = browser.post(reverse("admin:auth_user_change", args=[clerk.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not type(clerk).objects.get(pk=clerk.pk).user_permissions.exists()


def test_the_admin_lists_no_superuser_to_a_system_administrator():
    _system, browser = _in_admin(Role.SYSTEM_ADMINISTRATOR)
    root = type(_system).objects.create_superuser("root-admin", password="Root-pass-123")
    assert "root-admin" not in browser.get(reverse("admin:auth_user_changelist")).content.decode()
    assert browser.get(reverse("admin:auth_user_change", args=[root.pk])).status_code == 302


# A superuser works at no site, so every agency's administrators could reach it: a
# password set by one and an authenticator reset by another would take it over.


def test_nobody_but_a_superuser_sets_a_superusers_password():
    system = make_staff(Role.SYSTEM_ADMINISTRATOR)
    root = type(system).objects.create_superuser("root-admin", password="Root-pass-123")
    with refusals_recorded_after(), pytest.raises(PermissionDenied):
        services.password_set(user=root, password="Taken-over-9x", set_by=system)
    assert type(root).objects.get(pk=root.pk).check_password("Root-pass-123")
    assert _refused_reasons() == ["superuser"]


def test_nobody_but_a_superuser_resets_a_superusers_second_factor():
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    root = type(security).objects.create_superuser("root-admin", password="Root-pass-123")
    TOTPDevice.objects.create(user=root, name="authenticator", confirmed=True)
    with refusals_recorded_after(), pytest.raises(PermissionDenied):
        services.second_factor_reset(user=root, reset_by=security)
    assert TOTPDevice.objects.filter(user=root, confirmed=True).exists()
    assert _refused_reasons() == ["superuser"]


def test_nobody_but_a_superuser_unlocks_a_superuser_it_is_as_if_absent():
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    root = type(security).objects.create_superuser("root-admin", password="Root-pass-123")
    with pytest.raises(ValidationError) as refused:
        services.account_unlock(username=root.username, unlocked_by=security)
    assert refused.value.code == "username"


def _refused_reasons() -> list[str]:
    events = AuditEvent.objects.filter(event_type="power.refused").order_by("id")
    return [event.data["reason"] for event in events]


def test_an_account_is_not_renamed_in_the_admin_so_a_lockout_by_its_name_stays():
    _system, browser = _in_admin(Role.SYSTEM_ADMINISTRATOR)
    clerk = make_staff(Role.CLERK)
    form = {**_user_form(clerk, [_group(Role.CLERK)]), "username": "renamed"}
    response = browser.post(reverse("admin:auth_user_change", args=[clerk.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert type(clerk).objects.get(pk=clerk.pk).username == clerk.username


# --- The admin's password page ---------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SECURITY_ADMINISTRATOR, Role.TEAM_LEAD])
def test_change_user_permission_alone_cannot_set_a_password_in_the_admin(role):
    _someone, browser = _in_admin(role)
    clerk = make_staff(Role.CLERK)
    events = AuditEvent.objects.count()
    url = reverse("admin:auth_user_password_change", args=[clerk.pk])
    assert browser.get(url).status_code == 403
    response = browser.post(url, {"password1": NEW, "password2": NEW, "usable_password": "true"})
    assert response.status_code == 403
    clerk.refresh_from_db()
    assert not clerk.check_password(NEW)
    # Each attempt (the page, then the form) is recorded as refused, and nothing else.
    tried = AuditEvent.objects.order_by("id")[events:].values_list("event_type", "data")
    refused = {"tried": "password_set", "reason": "role_not_held"}
    assert list(tried) == [("power.refused", refused)] * 2


def test_a_password_set_in_the_admin_is_one_event_and_one_forced_change():
    system, browser = _in_admin(Role.SYSTEM_ADMINISTRATOR)
    clerk = make_staff(Role.CLERK)
    response = browser.post(
        reverse("admin:auth_user_password_change", args=[clerk.pk]),
        {"password1": NEW, "password2": NEW, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    clerk.refresh_from_db()
    assert clerk.check_password(NEW)
    events = AuditEvent.objects.filter(event_type="auth.password_set", object_id=str(clerk.pk))
    assert list(events.values_list("actor_id", flat=True)) == [system.pk]
    latest = PasswordRecord.objects.filter(user=clerk).order_by("-set_at", "-pk").first()
    assert (latest.set_by, latest.password_hash) == (system, clerk.password)


def test_the_admin_password_page_cannot_disable_password_sign_in():
    _system, browser = _in_admin(Role.SYSTEM_ADMINISTRATOR)
    clerk = make_staff(Role.CLERK)
    response = browser.post(
        reverse("admin:auth_user_password_change", args=[clerk.pk]),
        {"usable_password": "false", "unset-password": "1"},
    )
    assert response.status_code == 200  # the form again, asking for the new password
    clerk.refresh_from_db()
    assert clerk.has_usable_password() and clerk.check_password("Demo-pass-123")


def test_the_system_administrator_cannot_set_their_own_password_in_the_admin():
    system, browser = _in_admin(Role.SYSTEM_ADMINISTRATOR)
    url = reverse("admin:auth_user_password_change", args=[system.pk])
    assert browser.post(url, {"password1": NEW, "password2": NEW}).status_code == 403


def test_a_roles_permissions_are_not_changed_in_the_admin_by_anyone_but_the_superuser():
    security, browser = _in_admin(Role.SECURITY_ADMINISTRATOR)
    security.user_permissions.add(*Permission.objects.filter(codename__in=["change_group"]))
    group = _group(Role.CLERK)
    before = set(group.permissions.values_list("pk", flat=True))
    extra = Permission.objects.get(codename="change_user")
    form = {"name": group.name, "permissions": [*before, extra.pk]}
    answer = browser.post(reverse("admin:auth_group_change", args=[group.pk]), form)
    assert answer.status_code == 403
    assert set(group.permissions.values_list("pk", flat=True)) == before


def test_no_group_is_made_in_the_admin_by_anyone_but_the_superuser():
    """Any other group would give permissions past the roles (whose changes are events)."""
    security, browser = _in_admin(Role.SECURITY_ADMINISTRATOR)
    security.user_permissions.add(*Permission.objects.filter(codename__in=["add_group"]))
    extra = Permission.objects.get(codename="change_user")
    answer = browser.post(reverse("admin:auth_group_add"), {"name": "x", "permissions": [extra.pk]})
    assert answer.status_code == 403 and not Group.objects.filter(name="x").exists()
