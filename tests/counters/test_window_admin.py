"""The window admin: a site's windows kept (number, zone, queue), their state never."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from counters import services
from counters.models import Window
from staff.roles import Role
from tests.factories import WindowFactory, make_staff

pytestmark = pytest.mark.django_db


def _admin_request():
    request = RequestFactory().post("/admin/")
    request.user = get_user_model().objects.create_superuser("root", password="Root-pass-123")
    return request


def _window_form(window, request, **changes):
    """The admin's change form for `window` as its page posts it, with `changes`, and the
    unsaved window it makes (as the admin's change view holds it before save_model)."""
    model_admin = admin.site._registry[Window]
    form_class = model_admin.get_form(request, window, change=True)
    data = {"number": window.number, "zone": window.zone, "queue": window.queue} | changes
    form = form_class(data, instance=window)
    assert form.is_valid(), form.errors
    return model_admin, form, form.save(commit=False)


def test_the_window_admin_leaves_the_state_and_what_goes_with_it_read_only():
    window = WindowFactory(number=7)
    request = _admin_request()
    model_admin = admin.site._registry[Window]
    assert {"state", "state_since", "pause_reason", "clerk", "current_ticket"} <= set(
        model_admin.get_readonly_fields(request, window)
    )
    _model_admin, form, _unsaved = _window_form(
        window, request, state="serving", pause_reason="a long lunch", state_since="2026-01-01"
    )
    assert not {"state", "pause_reason", "state_since"} & set(form.fields)


def test_a_window_saved_in_the_admin_keeps_a_sign_on_made_while_it_was_saved():
    clerk = make_staff(Role.CLERK)
    window = WindowFactory(number=8, site=clerk.staff_profile.sites.first())
    request = _admin_request()
    model_admin, form, unsaved = _window_form(Window.objects.get(pk=window.pk), request, zone="B")
    services.window_sign_on(clerk=clerk, window_id=window.pk)  # between its read and save
    model_admin.save_model(request, unsaved, form, change=True)
    stored = Window.objects.get(pk=window.pk)
    assert (stored.zone, stored.clerk_id, stored.state) == ("B", clerk.pk, Window.State.PAUSED)
    version = stored.history.latest("history_date", "history_id")  # the row as it now is
    assert (version.zone, version.clerk_id, version.state) == ("B", clerk.pk, "paused")


def test_a_window_with_a_clerk_signed_on_is_not_deleted_in_the_admin():
    from django.test import Client
    from django.urls import reverse

    from tests.factories import sign_in

    clerk = make_staff(Role.CLERK)
    staffed = WindowFactory(number=9, site=clerk.staff_profile.sites.first())
    empty = WindowFactory(number=10, site=staffed.site)
    services.window_sign_on(clerk=clerk, window_id=staffed.pk)
    browser = Client()
    sign_in(browser, _admin_request().user)
    delete = lambda window: reverse("admin:counters_window_delete", args=[window.pk])  # noqa: E731
    assert browser.post(delete(staffed), {"post": "yes"}).status_code == 403
    assert Window.objects.get(pk=staffed.pk).clerk_id == clerk.pk
    assert browser.get(delete(empty)).status_code == 200  # an empty window still can be
