"""The admin's row history: past versions are shown to whoever may see the row, and are
never saved back (simple-history's "revert" would write every field of one, the
read-only and hidden ones too, past the services that keep them)."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client, RequestFactory
from django.urls import reverse

from risk import services as risk_services
from staff.models import StaffProfile
from staff.roles import Role
from tests.factories import make_agency, make_site, make_staff, sign_in

pytestmark = pytest.mark.django_db
ON_LEAVE = StaffProfile.Availability.ON_LEAVE


def _browser(user) -> Client:
    browser = Client()
    sign_in(browser, user)
    return browser


def _root():
    return get_user_model().objects.create_superuser("root", password="Root-pass-123")


def _reviewer_sent_on_leave():
    """A reviewer the team lead put on leave (through the service, recorded): their
    profile's version from before, and its history page's address."""
    lead = make_staff(Role.TEAM_LEAD)
    reviewer = make_staff(Role.REVIEWER, review_level=2)
    risk_services.availability_set(user=reviewer, availability=ON_LEAVE, reason="年假", actor=lead)
    profile = StaffProfile.objects.get(user=reviewer)
    before = profile.history.exclude(availability=ON_LEAVE).latest("history_date", "history_id")
    url = reverse("admin:staff_staffprofile_simple_history", args=[profile.pk, before.history_id])
    return profile, before, url


def _form_data(model_admin, instance, user) -> dict:
    """What the version's page would post: its form as filled with that version."""
    request = RequestFactory().get("/admin/")
    request.user = user
    form = model_admin.get_form(request, instance)(instance=instance)
    data = {}
    for name in form.fields:
        value = form[name].value()
        data[name] = "" if value is None else value
    return data


def test_a_past_version_is_shown_as_text_without_a_revert_button():
    profile, _before, url = _reviewer_sent_on_leave()
    page = _browser(_root()).get(url)
    assert page.status_code == 200
    shown = page.content.decode()
    assert 'name="_save"' not in shown and 'name="display_name"' not in shown
    assert profile.display_name in shown and str(StaffProfile.Availability.ON_DUTY.label) in shown


def test_a_past_version_posted_back_changes_nothing_not_even_for_the_superuser():
    profile, before, url = _reviewer_sent_on_leave()
    root = _root()
    data = _form_data(admin.site._registry[StaffProfile], before.instance, root)
    assert _browser(root).post(url, data).status_code == 403
    profile.refresh_from_db()
    assert profile.availability == ON_LEAVE  # the pool as the team lead's service left it


def test_the_view_permission_alone_posts_no_past_version_back():
    profile, before, url = _reviewer_sent_on_leave()
    viewer = make_staff(Role.CLERK)
    viewer.is_staff = True
    viewer.save(update_fields=["is_staff"])
    viewer.user_permissions.add(Permission.objects.get(codename="view_staffprofile"))
    browser = _browser(viewer)
    assert browser.get(url).status_code == 200
    data = _form_data(admin.site._registry[StaffProfile], before.instance, viewer)
    assert browser.post(url, data).status_code == 403
    profile.refresh_from_db()
    assert profile.availability == ON_LEAVE


def test_a_past_version_of_a_row_the_admin_does_not_list_is_not_shown():
    _profile, _before, url = _reviewer_sent_on_leave()  # at the home agency's hall
    elsewhere = make_staff(Role.SYSTEM_ADMINISTRATOR, sites=[make_site(make_agency())])
    elsewhere.is_staff = True
    elsewhere.save(update_fields=["is_staff"])
    elsewhere.user_permissions.add(Permission.objects.get(codename="view_staffprofile"))
    assert _browser(elsewhere).get(url).status_code == 404


def test_a_deleted_rows_history_is_shown_only_to_the_superuser():
    profile, before, version_url = _reviewer_sent_on_leave()
    viewer = make_staff(Role.SYSTEM_ADMINISTRATOR)  # the same agency's
    viewer.is_staff = True
    viewer.save(update_fields=["is_staff"])
    viewer.user_permissions.add(Permission.objects.get(codename="view_staffprofile"))
    history_url = reverse("admin:staff_staffprofile_history", args=[profile.pk])
    browser = _browser(viewer)
    assert browser.get(history_url).status_code == 200  # while the row is there
    profile.delete()
    assert browser.get(history_url).status_code == 404
    assert browser.get(version_url).status_code == 404
    root = _browser(_root())
    assert root.get(history_url).status_code == 200
    assert root.get(version_url).status_code == 200


def test_a_deleted_catalog_items_history_stays_shown_to_its_viewers():
    """The catalog is every agency's: its deleted rows are nobody's to hide."""
    from audit.services import audited_record_delete
    from tests.factories import ItemFactory

    item = ItemFactory()
    viewer = make_staff(Role.TEAM_LEAD)
    viewer.is_staff = True
    viewer.save(update_fields=["is_staff"])
    viewer.user_permissions.add(Permission.objects.get(codename="view_serviceitem"))
    history_url = reverse("admin:catalog_serviceitem_history", args=[item.pk])
    audited_record_delete(instance=item, reason="撤销事项", actor=_root())
    assert _browser(viewer).get(history_url).status_code == 200
