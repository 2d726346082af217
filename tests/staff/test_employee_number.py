"""A staff member's 工号 (what receipts print and the provincial platforms know them by)
is unique and changed by the system administrator, each change an audit event with the
old and new numbers."""

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from staff import services
from staff.roles import Role
from tests.factories import make_staff, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def system_admin():
    """wu: the system administrator, allowed to edit staff profiles in the admin."""
    wu = make_staff(Role.SYSTEM_ADMINISTRATOR, name="吴系统")
    wu.is_staff = True
    wu.save(update_fields=["is_staff"])
    wu.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_staffprofile", "change_staffprofile"])
    )
    return wu


def _admin_change(admin_user, profile, number):
    browser = Client()
    sign_in(browser, admin_user)
    return browser.post(
        reverse("admin:staff_staffprofile_change", args=[profile.pk]),
        {
            "display_name": profile.display_name,
            "employee_number": number,
            "window_team": profile.window_team,
            "sites": list(profile.sites.values_list("pk", flat=True)),  # unchanged
        },
    )


def test_the_system_administrator_changes_an_employee_number_with_an_audit_event(system_admin):
    clerk = make_staff(Role.CLERK)
    profile = clerk.staff_profile
    old = profile.employee_number
    response = _admin_change(system_admin, profile, "ＬＺ-0451")  # full-width, as typed
    assert response.status_code == 302, response.content.decode()[:1500]
    profile.refresh_from_db()
    assert profile.employee_number == "LZ-0451"
    event = AuditEvent.objects.get(event_type="staff.employee_number_changed")
    assert (event.actor_id, event.object_id) == (system_admin.pk, str(clerk.pk))
    assert event.data == {"from": old, "to": "LZ-0451"}


def test_an_employee_number_someone_else_holds_is_refused_and_nothing_changes(system_admin):
    first, second = make_staff(Role.CLERK), make_staff(Role.CLERK)
    taken = first.staff_profile.employee_number
    response = _admin_change(system_admin, second.staff_profile, taken)
    assert response.status_code == 200  # the form again, with the error
    second.staff_profile.refresh_from_db()
    assert second.staff_profile.employee_number != taken
    assert not AuditEvent.objects.filter(event_type="staff.employee_number_changed").exists()
    with pytest.raises(ValidationError):
        services.staff_employee_number_set(
            profile=second.staff_profile, number=taken, changed_by=system_admin
        )


def test_only_the_system_administrator_changes_an_employee_number():
    lead, clerk = make_staff(Role.TEAM_LEAD), make_staff(Role.CLERK)
    with pytest.raises(PermissionDenied):
        services.staff_employee_number_set(
            profile=clerk.staff_profile, number="LZ-9", changed_by=lead
        )
    with pytest.raises(ValidationError):
        services.employee_number_clean("工号 1")
