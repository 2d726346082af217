"""Hall devices belong to a site: the devices page and the admin show only the sites a
person sees, links are issued only for those, and a pad stands at its own site's window.

Personas: team_lead (home agency: its hall and a station), other_lead (another agency's
team lead), city_viewer (every agency, read-only), sysadmin (home agency, admin)."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError

from devices.models import HallDevice
from sites.defaults import home_site_id
from sites.models import Site
from staff.roles import Role
from tests.factories import WindowFactory, make_agency, make_site, make_staff, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    hall = Site.objects.get(pk=home_site_id())
    station = make_site(kind="station", name="老观镇社保所")
    other = make_site(agency=make_agency(code="511302", name="顺庆区社保局"), kind="hall")
    w = SimpleNamespace(hall=hall, station=station, other=other)
    w.devices = {
        site.pk: HallDevice.objects.create(kind="kiosk", name=f"取号机-{n}号", site=site)
        for n, site in enumerate((hall, station, other), start=1)
    }
    w.team_lead = make_staff(Role.TEAM_LEAD, sites=[hall])
    w.other_lead = make_staff(Role.TEAM_LEAD, sites=[other])
    w.city_viewer = make_staff(Role.CITY_VIEWER)
    return w


def _row(device) -> str:
    return f'name="device" value="{device.pk}"'


def test_the_team_lead_sees_the_devices_of_every_site_of_their_agency(client, world):
    sign_in(client, world.team_lead)
    page = client.get("/lead/devices/").content.decode()
    assert _row(world.devices[world.hall.pk]) in page
    assert _row(world.devices[world.station.pk]) in page
    assert world.devices[world.other.pk].name not in page


def test_another_agencys_team_lead_sees_only_their_own_devices(client, world):
    sign_in(client, world.other_lead)
    page = client.get("/lead/devices/").content.decode()
    assert world.devices[world.other.pk].name in page
    assert world.devices[world.hall.pk].name not in page
    assert world.devices[world.station.pk].name not in page


def test_a_team_lead_cannot_issue_a_link_for_another_agencys_device(client, world):
    sign_in(client, world.team_lead)
    device = world.devices[world.other.pk]
    response = client.post("/lead/devices/", {"device": device.pk, "reason": "换屏"})
    assert response.status_code == 404
    device.refresh_from_db()
    assert device.link_digest == ""


def test_the_city_viewer_sees_every_sites_devices_and_issues_no_link(client, world):
    sign_in(client, world.city_viewer)
    page = client.get("/lead/devices/").content.decode()
    for device in world.devices.values():
        assert device.name in page
    assert 'name="reason"' not in page, "read-only: no link form"
    device = world.devices[world.hall.pk]
    assert client.post("/lead/devices/", {"device": device.pk, "reason": "x"}).status_code == 403
    device.refresh_from_db()
    assert device.link_digest == ""


@pytest.mark.parametrize("role", [Role.CLERK, Role.WINDOW_LEAD])
def test_people_without_a_link_issuing_role_are_refused_the_devices_page(client, world, role):
    sign_in(client, make_staff(role, sites=[world.hall]))
    assert client.get("/lead/devices/").status_code == 403


def test_a_rating_pad_stands_at_a_window_of_its_own_site(world):
    pad = HallDevice(kind="pad", name="评价器", site=world.station, window=WindowFactory())
    with pytest.raises(ValidationError) as refused:
        pad.full_clean()
    assert "window" in refused.value.message_dict


def _admin(client, world, user=None):
    user = user or make_staff(Role.SYSTEM_ADMINISTRATOR, sites=[world.hall])
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_halldevice", "view_window"])
    )
    sign_in(client, user)
    return user


def test_the_device_admin_lists_and_filters_by_site_within_the_agency(client, world):
    _admin(client, world)
    page = client.get("/admin/devices/halldevice/").content.decode()
    assert world.devices[world.hall.pk].name in page
    assert world.devices[world.station.pk].name in page
    assert world.devices[world.other.pk].name not in page
    filtered = client.get(f"/admin/devices/halldevice/?site__id__exact={world.station.pk}")
    assert world.devices[world.hall.pk].name not in filtered.content.decode()
    assert world.devices[world.station.pk].name in filtered.content.decode()


def test_the_window_admin_shows_only_the_agencys_windows(client, world):
    WindowFactory(site=world.station, number=7, zone="老观镇窗口")
    WindowFactory(site=world.other, number=7, zone="顺庆窗口")
    _admin(client, world)
    page = client.get("/admin/counters/window/").content.decode()
    assert "老观镇社保所" in page
    assert world.other.name not in page
