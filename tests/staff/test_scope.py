"""staff.scope: who sees which sites — own sites for the counter and back-office posts,
the whole agency for leads, auditors and administrators, everything read-only for the
city-level viewer, nothing for anyone else."""

import pytest
from django.contrib.auth.models import AnonymousUser

from counters.models import Window
from sites.defaults import home_site_id
from sites.models import Agency, Site
from staff.roles import Role
from staff.scope import NOTHING, scope_filter, scope_of
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


def _people(places):
    hall, station, _other = places
    return {
        "station clerk": make_staff(Role.CLERK, sites=[station]),
        "clerk at two sites": make_staff(Role.CLERK, sites=[hall, station]),
        "team lead": make_staff(Role.TEAM_LEAD, sites=[station]),
        "auditor": make_staff(Role.AUDITOR, sites=[hall]),
        "city viewer": make_staff(Role.CITY_VIEWER),
    }


@pytest.mark.postgres  # the account's one statement reads its sites on PostgreSQL only
@pytest.mark.parametrize(
    "person", ["station clerk", "clerk at two sites", "team lead", "auditor", "city viewer"]
)
def test_the_scope_of_an_account_read_for_a_request_is_its_scope_read_apart(places, person):
    from django.contrib.auth import get_user_model

    from staff.selectors import user_with_account_state

    user = _people(places)[person]
    apart = scope_of(get_user_model().objects.get(pk=user.pk))
    assert scope_of(user_with_account_state(user.pk)) == apart


@pytest.mark.postgres
def test_a_person_without_sites_read_for_a_request_sees_nothing(places):
    from staff.models import StaffProfile
    from staff.selectors import user_with_account_state

    clerk = make_staff(Role.CLERK)
    StaffProfile.objects.get(user=clerk).sites.clear()
    assert scope_of(user_with_account_state(clerk.pk)) == scope_of(clerk) == NOTHING


@pytest.mark.postgres
def test_the_scope_of_an_account_read_for_a_request_costs_no_statement(
    places, django_assert_num_queries
):
    from staff.selectors import user_with_account_state

    lead = user_with_account_state(_people(places)["team lead"].pk)
    with django_assert_num_queries(0):
        scope_of(lead)


@pytest.mark.postgres
def test_sites_changed_within_the_request_are_the_scope_that_follows(places):
    from staff.selectors import user_with_account_state
    from staff.services import staff_sites_set

    hall, station, _other = places
    clerk = user_with_account_state(make_staff(Role.CLERK, sites=[station]).pk)
    assert scope_of(clerk).site_ids == {station.pk}
    staff_sites_set(user=clerk, sites=[hall], event=False)
    assert scope_of(clerk).site_ids == {hall.pk}
