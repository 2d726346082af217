"""A person's sites decide what they see and where they can be drawn: the system
administrator changes them (in the admin or through the service), one agency at a time,
and every change is an audit event naming the sites before and after."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from sites.defaults import home_site_id
from staff.models import StaffProfile
from staff.roles import Role
from staff.scope import scope_of
from staff.services import staff_sites_set
from tests.factories import make_agency, make_site, make_staff, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def sysadmin():
    user = make_staff(Role.SYSTEM_ADMINISTRATOR)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_staffprofile", "change_staffprofile"])
    )
    return user


def _sites_posted_in_the_admin(sysadmin, profile, sites):
    browser = Client()
    sign_in(browser, sysadmin)
    return browser.post(
        reverse("admin:staff_staffprofile_change", args=[profile.pk]),
        {
            "display_name": profile.display_name,
            "employee_number": profile.employee_number,
            "window_team": profile.window_team,
            "sites": [site.pk for site in sites],
        },
    )


def test_a_staff_member_made_with_sites_works_there():
    station = make_site()
    clerk = make_staff(Role.CLERK, sites=[station])
    assert list(clerk.staff_profile.sites.all()) == [station]
    assert scope_of(clerk).site_ids == {station.pk}


def test_changing_a_persons_sites_is_audited_with_before_and_after(sysadmin):
    station = make_site(code="ql")
    clerk = make_staff(Role.CLERK)
    staff_sites_set(user=clerk, sites=[station], changed_by=sysadmin)
    event = AuditEvent.objects.get(event_type="staff.sites_changed")
    assert (event.actor_id, event.object_id) == (sysadmin.pk, str(clerk.pk))
    assert (event.data["before"], event.data["after"]) == (["hall"], ["ql"])
    assert scope_of(clerk).site_ids == {station.pk}


def test_the_same_sites_again_record_nothing(sysadmin):
    clerk = make_staff(Role.CLERK)
    staff_sites_set(user=clerk, sites=[], changed_by=sysadmin)  # the hall, as before
    assert not AuditEvent.objects.filter(event_type="staff.sites_changed").exists()


def test_sites_of_two_agencies_are_refused_and_nothing_changes(sysadmin):
    clerk = make_staff(Role.CLERK)
    elsewhere = make_site(agency=make_agency(), kind="hall")
    with pytest.raises(ValidationError):
        staff_sites_set(user=clerk, sites=[make_site(), elsewhere], changed_by=sysadmin)
    assert list(clerk.staff_profile.sites.values_list("pk", flat=True)) == [home_site_id()]


@pytest.mark.parametrize("role", [Role.TEAM_LEAD, Role.SECURITY_ADMINISTRATOR, Role.CLERK])
def test_only_the_system_administrator_changes_a_persons_sites(role):
    person = make_staff(role)
    clerk = make_staff(Role.CLERK)
    with pytest.raises(PermissionDenied):
        staff_sites_set(user=clerk, sites=[make_site()], changed_by=person)
    assert list(clerk.staff_profile.sites.values_list("pk", flat=True)) == [home_site_id()]


def test_sites_changed_in_the_admin_go_through_the_service(sysadmin):
    station = make_site(code="ql")
    clerk = make_staff(Role.CLERK)
    profile = clerk.staff_profile
    response = _sites_posted_in_the_admin(sysadmin, profile, [station, *profile.sites.all()])
    assert response.status_code == 302, response.content.decode()[:2000]
    assert set(profile.sites.values_list("code", flat=True)) == {"hall", "ql"}
    event = AuditEvent.objects.get(event_type="staff.sites_changed")
    assert (event.actor_id, event.data["after"]) == (sysadmin.pk, ["hall", "ql"])


def test_the_admin_refuses_sites_of_two_agencies_on_the_form(sysadmin):
    clerk = make_staff(Role.CLERK)
    elsewhere = make_site(agency=make_agency(), kind="hall")
    profile = clerk.staff_profile
    response = _sites_posted_in_the_admin(sysadmin, profile, [elsewhere, *profile.sites.all()])
    assert response.status_code == 200
    assert list(profile.sites.values_list("pk", flat=True)) == [home_site_id()]
    assert not AuditEvent.objects.filter(event_type="staff.sites_changed").exists()


def test_the_admins_staff_list_shows_each_persons_sites(sysadmin):
    make_staff(Role.CLERK, sites=[make_site(name="江南镇社保所")])
    browser = Client()
    sign_in(browser, sysadmin)
    page = browser.get(reverse("admin:staff_staffprofile_changelist")).content.decode()
    assert "江南镇社保所" in page


def test_the_account_page_lists_the_sites_a_person_sees_with_address_and_hours(client):
    station = make_site(name="江南镇社保所")
    station.address, station.opening_hours = "阆中市江南镇", "工作日 8:30-17:30"
    station.save()
    other_station = make_site(name="七里街道社保所")
    clerk = make_staff(Role.CLERK, sites=[station])
    lead = make_staff(Role.TEAM_LEAD)
    sign_in(client, clerk)
    page = client.get(reverse("staff:account")).content.decode()
    assert "江南镇社保所" in page and "阆中市江南镇" in page and "工作日 8:30-17:30" in page
    assert other_station.name not in page
    sign_in(client, lead)  # the team lead sees the whole agency
    page = client.get(reverse("staff:account")).content.decode()
    assert "江南镇社保所" in page and other_station.name in page


@pytest.fixture
def other_agency_clerk():
    hall_b = make_site(agency=make_agency(code="511321"), kind="hall")
    return make_staff(Role.CLERK, sites=[hall_b]), hall_b


def test_another_agency_s_administrator_cannot_move_a_person_to_their_agency(
    sysadmin, other_agency_clerk
):
    clerk_b, hall_b = other_agency_clerk
    home_hall = type(hall_b).objects.get(pk=home_site_id())
    with pytest.raises(PermissionDenied):
        staff_sites_set(user=clerk_b, sites=[home_hall], changed_by=sysadmin)
    assert list(clerk_b.staff_profile.sites.all()) == [hall_b]


def test_an_administrator_cannot_put_their_own_agency_s_person_at_another_agency(
    sysadmin, other_agency_clerk
):
    _clerk_b, hall_b = other_agency_clerk
    clerk_a = make_staff(Role.CLERK)
    with pytest.raises(PermissionDenied):
        staff_sites_set(user=clerk_a, sites=[hall_b], changed_by=sysadmin)


def test_the_admin_lists_only_the_administrator_s_agency_s_people(sysadmin, other_agency_clerk):
    clerk_b, _hall_b = other_agency_clerk
    browser = Client()
    sign_in(browser, sysadmin)
    listing = browser.get(reverse("admin:staff_staffprofile_changelist")).content.decode()
    assert clerk_b.staff_profile.display_name not in listing
    page = browser.get(reverse("admin:staff_staffprofile_change", args=[clerk_b.staff_profile.pk]))
    assert page.status_code == 302  # the admin's "no such object", as for any unknown id


def test_an_account_made_in_the_admin_gets_its_profile_and_sites_there(
    sysadmin, other_agency_clerk
):
    """The system administrator's onboarding in the admin: an account, then its profile
    (the account chosen once, among the agency's new accounts), recorded."""
    from staff.services import password_must_change

    clerk_b, hall_b = other_agency_clerk
    sysadmin.user_permissions.add(Permission.objects.get(codename="add_staffprofile"))
    account = get_user_model().objects.create_user(username="new-clerk", password="x")
    password_must_change(user=account, set_by=sysadmin)  # as the admin's add form does
    station = make_site(code="ql")
    browser = Client()
    sign_in(browser, sysadmin)
    form = browser.get(reverse("admin:staff_staffprofile_add")).content.decode()
    assert account.username in form and clerk_b.username not in form
    response = browser.post(
        reverse("admin:staff_staffprofile_add"),
        {"user": account.pk, "display_name": "王新", "employee_number": "G0777",
         "window_team": "", "sites": [station.pk]},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    account.refresh_from_db()
    assert account.staff_profile.employee_number == "G0777"
    assert list(account.staff_profile.sites.all()) == [station]
    event = AuditEvent.objects.get(event_type="staff.created", object_id=str(account.pk))
    assert event.actor_id == sysadmin.pk
    assert event.data == {"employee_number": "G0777", "sites": ["ql"]}


def test_another_agencys_new_account_is_not_offered_for_a_profile(sysadmin, other_agency_clerk):
    """An account at no site is every agency's to manage, but only the agency that made it
    gives it a profile: another would take an account whose first password it never set."""
    from staff.services import password_must_change, staff_profile_give

    _clerk_b, hall_b = other_agency_clerk
    admin_b = make_staff(Role.SYSTEM_ADMINISTRATOR, sites=[hall_b])
    theirs = get_user_model().objects.create_user(username="made-by-b", password="x")
    password_must_change(user=theirs, set_by=admin_b)
    sysadmin.user_permissions.add(Permission.objects.get(codename="add_staffprofile"))
    browser = Client()
    sign_in(browser, sysadmin)
    form = browser.get(reverse("admin:staff_staffprofile_add")).content.decode()
    assert theirs.username not in form
    refused = browser.post(
        reverse("admin:staff_staffprofile_add"),
        {"user": theirs.pk, "display_name": "冒名", "employee_number": "G0778",
         "window_team": "", "sites": [home_site_id()]},
    )  # fmt: skip
    assert refused.status_code == 200  # not a choice
    with pytest.raises(PermissionDenied):
        staff_profile_give(user=theirs, given_by=sysadmin, display_name="冒名",
                           employee_number="G0778")  # fmt: skip
    assert not StaffProfile.objects.filter(user=theirs).exists()


def _offered(sysadmin, account) -> bool:
    from staff.selectors import accounts_to_onboard

    return accounts_to_onboard(sysadmin).filter(pk=account.pk).exists()


def test_an_account_whose_password_another_agency_set_is_never_offered(
    sysadmin, other_agency_clerk
):
    """Agency B resets the password of a new account agency A made, signs in and chooses
    one of its own: A must not give that account a profile (B knows its password)."""
    from staff.models import PasswordRecord
    from staff.services import password_must_change, password_set

    _clerk_b, hall_b = other_agency_clerk
    admin_b = make_staff(Role.SYSTEM_ADMINISTRATOR, sites=[hall_b])
    account = get_user_model().objects.create_user(username="made-by-a", password="x")
    password_must_change(user=account, set_by=sysadmin)
    assert _offered(sysadmin, account)
    password_set(user=account, password="Reset-by-b-2026", set_by=admin_b)
    assert not _offered(sysadmin, account)
    account.set_password("Chosen-by-b-2026")  # its "own" change, as B signed in as it
    account.save()
    PasswordRecord.objects.create(user=account, password_hash=account.password,
                                  set_at=timezone.now())  # fmt: skip
    assert not _offered(sysadmin, account)


def test_a_superuser_an_account_with_a_role_or_a_disabled_one_is_not_offered(sysadmin):
    from staff.services import password_must_change, role_grant

    made = {}
    for name in ("root", "with-role", "disabled", "fine"):
        if name == "root":
            made[name] = get_user_model().objects.create_superuser(name, password="x")
        else:
            made[name] = get_user_model().objects.create_user(name, password="x")
        password_must_change(user=made[name], set_by=sysadmin)
    role_grant(user=made["with-role"], role=Role.CLERK, granted_by=None)
    made["disabled"].is_active = False
    made["disabled"].save(update_fields=["is_active"])
    assert {name for name, account in made.items() if _offered(sysadmin, account)} == {"fine"}
