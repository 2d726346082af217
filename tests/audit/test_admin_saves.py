"""An admin's change form saves only the fields it changed: what a service or transition
wrote between the page's read of the row and its save stands (a whole-row save would
write back every field as the page read it)."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from devices.models import HallDevice
from devices.services import hall_device_link_issue, hall_device_register
from risk import services as risk_services
from staff import services as staff_services
from staff.models import StaffProfile
from staff.roles import Role
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


def _admin_form(model, instance, **changes):
    """The admin's change form for `instance`, posted with `changes` over what it shows,
    the unsaved row it makes (as the change view holds it before save_model), its admin
    and request."""
    request = RequestFactory().post("/admin/")
    request.user = get_user_model().objects.create_superuser("root", password="Root-pass-123")
    model_admin = admin.site._registry[model]
    form_class = model_admin.get_form(request, instance, change=True)
    shown = form_class(instance=instance)
    data = {name: shown[name].value() for name in shown.fields} | changes
    form = form_class({key: "" if value is None else value for key, value in data.items()},
                      instance=instance)  # fmt: skip
    assert form.is_valid(), form.errors
    return model_admin, request, form, form.save(commit=False)


def test_a_device_renamed_in_the_admin_keeps_a_registration_made_meanwhile():
    device = HallDevice.objects.create(kind="display", name="大厅屏")
    model_admin, request, form, unsaved = _admin_form(
        HallDevice, HallDevice.objects.get(pk=device.pk), name="大厅一号屏"
    )
    secret = hall_device_link_issue(device_id=device.pk, actor=None, reason="新屏")
    registration = hall_device_register(secret=secret)  # between the page's read and save
    model_admin.save_model(request, unsaved, form, change=True)
    stored = HallDevice.objects.get(pk=device.pk)
    assert stored.name == "大厅一号屏"
    assert stored.credential_digest == registration.device.credential_digest
    assert stored.link_used_at is not None  # the link stays spent


def test_a_profile_saved_in_the_admin_keeps_an_availability_set_meanwhile():
    lead = make_staff(Role.TEAM_LEAD)
    reviewer = make_staff(Role.REVIEWER, review_level=2)
    profile = StaffProfile.objects.get(user=reviewer)
    model_admin, request, form, unsaved = _admin_form(StaffProfile, profile, window_team="二组")
    risk_services.availability_set(
        user=reviewer, availability=StaffProfile.Availability.ON_LEAVE, reason="病假", actor=lead
    )
    model_admin.save_model(request, unsaved, form, change=True)
    profile.refresh_from_db()
    assert (profile.window_team, profile.availability) == ("二组", "on_leave")


def test_an_account_saved_in_the_admin_keeps_a_deactivation_made_meanwhile():
    system = make_staff(Role.SYSTEM_ADMINISTRATOR)
    clerk = make_staff(Role.CLERK)
    model_admin, request, form, unsaved = _admin_form(
        get_user_model(), get_user_model().objects.get(pk=clerk.pk), email="clerk@example.org"
    )
    staff_services.account_active_set(user=clerk, active=False, changed_by=system)
    model_admin.save_model(request, unsaved, form, change=True)
    clerk.refresh_from_db()
    assert (clerk.email, clerk.is_active) == ("clerk@example.org", False)


def test_an_employee_number_typed_in_the_admin_as_someone_just_set_it_is_not_put_back():
    """Its service owns it: typed as another administrator just set it, the service
    changes nothing, and the admin's save does not write the number its page read."""
    system = make_staff(Role.SYSTEM_ADMINISTRATOR)
    profile = StaffProfile.objects.get(user=make_staff(Role.CLERK))
    model_admin, request, form, unsaved = _admin_form(
        StaffProfile, StaffProfile.objects.get(pk=profile.pk), employee_number="E-NEW-1"
    )
    staff_services.staff_employee_number_set(profile=profile, number="E-NEW-1", changed_by=system)
    request.user = system
    model_admin.save_model(request, unsaved, form, change=True)
    profile.refresh_from_db()
    assert profile.employee_number == "E-NEW-1"
