"""staff.scope: who sees which sites — own sites for the counter and back-office posts,
the whole agency for leads, auditors and administrators, everything read-only for the
city-level viewer, nothing for anyone else."""

import pytest
from django.contrib.auth.models import AnonymousUser

from counters.models import Window
from sites.defaults import home_site_id
from sites.models import Agency, Site
from staff.roles import Role
from staff.scope import scope_filter, scope_of
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def places():
    hall = Site.objects.get(pk=home_site_id())
    station = Site.objects.create(
        agency=hall.agency, code="qlj", name="七里街道社保所", kind="station"
    )
    other = Agency.objects.create(code="511321", name="南部县社会保险事业管理局")
    other_hall = Site.objects.create(agency=other, code="hall", name="南部县服务大厅", kind="hall")
    return hall, station, other_hall


def test_a_station_clerk_sees_only_the_station(places):
    hall, station, _other = places
    clerk = make_staff(Role.CLERK, sites=[station])
    scope = scope_of(clerk)
    assert scope.site_ids == {station.pk}
    assert not scope.allows_site(hall.pk)


def test_a_team_lead_sees_every_site_of_their_agency_and_no_other(places):
    hall, station, other_hall = places
    lead = make_staff(Role.TEAM_LEAD, sites=[hall])
    scope = scope_of(lead)
    assert scope.site_ids == {hall.pk, station.pk}
    assert not scope.allows_site(other_hall.pk)
    assert not scope.allows_agency(other_hall.agency_id)


def test_the_city_viewer_sees_every_agency_read_only(places):
    _hall, _station, other_hall = places
    viewer = make_staff(Role.CITY_VIEWER)
    scope = scope_of(viewer)
    assert scope.everything and scope.read_only
    assert scope.allows_site(other_hall.pk)


def test_an_anonymous_user_sees_nothing(places):
    hall, _station, _other = places
    assert not scope_of(AnonymousUser()).allows_site(hall.pk)


def test_scope_filter_narrows_a_queryset_to_the_persons_sites(places):
    hall, station, other_hall = places
    for number, site in enumerate((hall, station, other_hall), start=1):
        Window.objects.create(number=number, site=site, queue="A")
    clerk = make_staff(Role.CLERK, sites=[station])
    assert list(scope_filter(Window.objects.all(), clerk).values_list("site", flat=True)) == [
        station.pk
    ]


def test_staff_cannot_work_at_sites_of_two_agencies(places):
    from django.core.exceptions import ValidationError

    hall, _station, other_hall = places
    with pytest.raises(ValidationError):
        make_staff(Role.CLERK, sites=[hall, other_hall])
