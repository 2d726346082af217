"""The system administrator keeps agencies and sites in the admin: every save asks a
reason and goes through sites.services (its audit event and the admin's own); a second
hall, a move to another agency and deletions are refused; other roles get no access."""

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from sites.defaults import home_agency_id, home_site_id
from sites.models import Agency, Site
from staff.roles import Role
from tests.factories import make_agency, make_site, make_staff, sign_in

pytestmark = pytest.mark.django_db


def _site_form(**values) -> dict:
    data = {
        "agency": home_agency_id(),
        "code": "ql",
        "name": "七里街道社保所",
        "kind": "station",
        "address": "阆中市七里大道",
        "opening_hours": "工作日 8:30-12:00 14:00-17:30",
        "phone": "0817-6221234",
        "active": "on",
        "change_reason": "新设社保所",
    }
    data.update(values)
    return {key: value for key, value in data.items() if value is not None}


def test_adding_a_station_in_the_admin_goes_through_the_service_and_is_audited(
    sysadmin_client, sysadmin
):
    response = sysadmin_client.post(reverse("admin:sites_site_add"), _site_form())
    assert response.status_code == 302, response.content.decode()[:2000]
    station = Site.objects.get(code="ql")
    assert station.agency_id == home_agency_id()
    created = AuditEvent.objects.get(event_type="site.created", object_id=str(station.pk))
    assert created.actor_id == sysadmin.pk
    assert created.data["reason"] == "新设社保所"
    assert AuditEvent.objects.filter(
        event_type="admin.added", object_type="sites.site", object_id=str(station.pk)
    ).exists()


def test_changing_a_site_in_the_admin_records_what_changed(sysadmin_client):
    station = make_site(code="ql", name="七里街道社保所")
    response = sysadmin_client.post(
        reverse("admin:sites_site_change", args=[station.pk]),
        _site_form(agency=None, code=None, opening_hours="工作日 9:00-17:00", change_reason="调整"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.get(event_type="site.changed")
    assert event.data["changes"]["opening_hours"]["to"] == "工作日 9:00-17:00"


def test_the_admin_cannot_move_a_site_to_another_agency(sysadmin_client):
    station = make_site(code="ql", name="七里街道社保所")
    other = make_agency(code="511321")
    sysadmin_client.post(
        reverse("admin:sites_site_change", args=[station.pk]),
        _site_form(agency=other.pk, code="moved", change_reason="试图迁移"),
    )
    station.refresh_from_db()
    assert (station.agency_id, station.code) == (home_agency_id(), "ql")


def test_a_second_hall_is_refused_on_the_admin_form_and_nothing_is_made(sysadmin_client):
    response = sysadmin_client.post(
        reverse("admin:sites_site_add"), _site_form(code="hall2", kind="hall")
    )
    assert response.status_code == 200
    assert Site.objects.filter(agency_id=home_agency_id()).count() == 1
    assert not AuditEvent.objects.filter(event_type="site.created").exists()


def test_closing_the_hall_is_refused_on_the_admin_form(sysadmin_client):
    hall = Site.objects.get(pk=home_site_id())
    response = sysadmin_client.post(
        reverse("admin:sites_site_change", args=[hall.pk]),
        _site_form(agency=None, code=None, name=hall.name, kind="hall", active=None),
    )
    assert response.status_code == 200
    assert "服务大厅不能改为社保所，也不能停用" in response.content.decode()
    assert Site.objects.get(pk=hall.pk).active


def test_an_agency_s_system_administrator_cannot_add_another_agency(sysadmin_client):
    # Another agency in the deployment is the installation's act (the superuser's).
    response = sysadmin_client.post(
        reverse("admin:sites_agency_add"),
        {
            "code": "511321",
            "name": "南部县社会保险事业管理局",
            "short_name": "南部",
            "reporting_sender_id": "",
            "active": "on",
            "change_reason": "市级部署接入南部县",
        },
    )
    assert response.status_code == 403
    assert not Agency.objects.filter(code="511321").exists()


def test_the_admin_deletes_no_site(sysadmin_client):
    station = make_site()
    response = sysadmin_client.post(
        reverse("admin:sites_site_delete", args=[station.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert Site.objects.filter(pk=station.pk).exists()


@pytest.mark.parametrize("role", [Role.TEAM_LEAD, Role.SECURITY_ADMINISTRATOR])
def test_other_roles_cannot_add_a_site_in_the_admin(role):
    person = make_staff(role)
    person.is_staff = True
    person.save(update_fields=["is_staff"])
    browser = Client()
    sign_in(browser, person)
    response = browser.post(reverse("admin:sites_site_add"), _site_form())
    assert response.status_code == 403
    assert not Site.objects.filter(code="ql").exists()


def test_a_system_administrator_sees_and_keeps_only_their_agency_s_sites(sysadmin_client):
    other = make_site(agency=make_agency(code="511321"), kind="hall")
    assert (
        sysadmin_client.get(reverse("admin:sites_site_change", args=[other.pk])).status_code == 302
    )
    listing = sysadmin_client.get(reverse("admin:sites_site_changelist")).content.decode()
    assert other.name not in listing
    assert (
        sysadmin_client.get(
            reverse("admin:sites_agency_change", args=[other.agency_id])
        ).status_code
        == 302
    )
