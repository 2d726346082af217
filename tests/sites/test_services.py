"""Agencies and sites change only through their services: checked, kept in the row
history with the reason, and recorded as audit events naming the old and new values."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEvent
from sites import selectors, services
from sites.defaults import home_agency_id, home_site_id
from sites.models import Agency, Site
from staff.roles import Role
from tests.factories import make_agency, make_site, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def home():
    return Agency.objects.get(pk=home_agency_id())


def test_creating_an_agency_records_an_event_and_a_history_row_with_the_reason(sysadmin):
    agency = services.agency_create(
        code="511321", name="南部县社会保险事业管理局", short_name="南部",
        created_by=sysadmin, reason="市级部署接入南部县",
    )  # fmt: skip
    event = AuditEvent.objects.get(event_type="agency.created")
    assert (event.actor_id, event.object_id) == (sysadmin.pk, str(agency.pk))
    assert event.data["code"] == "511321"
    assert agency.history.get().history_change_reason == "市级部署接入南部县"


@pytest.mark.parametrize("code", ["5113", "51138X!", "abcdef", ""])
def test_an_agency_code_that_is_no_division_code_is_refused(code):
    with pytest.raises(ValidationError):
        services.agency_create(code=code, name="某县社保局")
    assert not AuditEvent.objects.filter(event_type="agency.created").exists()


def test_a_second_agency_with_the_same_code_is_refused(home):
    with pytest.raises(ValidationError, match="511381"):
        services.agency_create(code=home.code, name="重复")
    assert Agency.objects.filter(code=home.code).count() == 1


def test_an_agency_keeps_its_code(home, sysadmin):
    with pytest.raises(ValidationError):
        services.agency_update(agency_id=home.pk, changes={"code": "511300"}, changed_by=sysadmin)
    assert Agency.objects.get(pk=home.pk).code == "511381"


def test_changing_an_agency_records_old_and_new_values(home, sysadmin):
    services.agency_update(
        agency_id=home.pk, changes={"short_name": "阆中社保"}, changed_by=sysadmin, reason="更名"
    )
    event = AuditEvent.objects.get(event_type="agency.changed")
    assert event.data["changes"] == {"short_name": {"from": "阆中", "to": "阆中社保"}}


def test_a_new_agency_gets_its_hall_and_stations(sysadmin):
    agency = services.agency_create(code="511321", name="南部县社会保险事业管理局")
    hall = services.site_create(
        agency=agency, code="hall", name="南部县社保服务大厅", kind=Site.Kind.HALL,
        address="南部县滨江大道", opening_hours="工作日 9:00-12:00 13:30-17:00",
        created_by=sysadmin,
    )  # fmt: skip
    station = services.site_create(
        agency=agency, code="dq", name="大桥镇社保所", created_by=sysadmin
    )
    assert list(selectors.agency_sites(agency_id=agency.pk)) == [hall, station]
    assert selectors.agency_hall(agency_id=agency.pk) == hall
    event = AuditEvent.objects.get(event_type="site.created", object_id=str(station.pk))
    assert {"agency": "511321", "kind": "station", "code": "dq"}.items() <= event.data.items()


def test_a_second_hall_is_refused_and_nothing_is_made(home):
    with pytest.raises(ValidationError) as refused:
        services.site_create(agency=home, code="hall2", name="第二大厅", kind=Site.Kind.HALL)
    assert refused.value.code == "second_hall"
    assert Site.objects.filter(agency=home).count() == 1
    assert not AuditEvent.objects.filter(event_type="site.created").exists()


def test_a_site_code_is_unique_within_its_agency_only(home):
    other = make_agency(code="511321")
    services.site_create(agency=other, code="hall", name="南部县大厅", kind=Site.Kind.HALL)
    with pytest.raises(ValidationError) as refused:
        services.site_create(agency=home, code="hall", name="又一个")
    assert refused.value.code == "code_taken"


def test_an_inactive_agency_gets_no_new_site():
    agency = make_agency()
    services.agency_update(agency_id=agency.pk, changes={"active": False}, changed_by=None)
    with pytest.raises(ValidationError):
        services.site_create(agency=agency, code="s1", name="某社保所")


def test_changing_a_site_records_old_and_new_values_and_the_reason(sysadmin):
    station = make_site(name="七里街道社保所")
    services.site_update(
        site_id=station.pk,
        changes={"opening_hours": "工作日 8:30-12:00 14:00-17:30", "name": "七里街道社保所"},
        changed_by=sysadmin,
        reason="夏季作息",
    )
    event = AuditEvent.objects.get(event_type="site.changed")
    assert event.data["changes"] == {
        "opening_hours": {"from": "", "to": "工作日 8:30-12:00 14:00-17:30"}
    }
    assert event.data["reason"] == "夏季作息"
    assert station.history.latest().history_change_reason == "夏季作息"


def test_the_same_values_again_change_nothing_and_record_nothing(sysadmin):
    station = make_site()
    services.site_update(site_id=station.pk, changes={"name": station.name}, changed_by=sysadmin)
    assert not AuditEvent.objects.filter(event_type="site.changed").exists()


def test_moving_a_site_to_another_agency_is_refused(sysadmin):
    station = make_site()
    other = make_agency()
    with pytest.raises(ValidationError) as refused:
        services.site_update(site_id=station.pk, changes={"agency": other}, changed_by=sysadmin)
    assert refused.value.code == "agency_moved"
    assert Site.objects.get(pk=station.pk).agency_id == home_agency_id()


def test_the_model_refuses_moving_a_site_saved_directly_too():
    station = make_site()
    station.agency = make_agency()
    with pytest.raises(ValidationError):
        station.save()


def test_a_station_cannot_become_a_second_hall(sysadmin):
    station = make_site()
    with pytest.raises(ValidationError) as refused:
        services.site_update(
            site_id=station.pk, changes={"kind": Site.Kind.HALL}, changed_by=sysadmin
        )
    assert refused.value.code == "second_hall"
    assert Site.objects.get(pk=station.pk).kind == Site.Kind.STATION


def test_a_station_of_an_agency_without_a_hall_may_become_its_hall(sysadmin):
    agency = make_agency()
    station = make_site(agency=agency)
    services.site_update(site_id=station.pk, changes={"kind": Site.Kind.HALL}, changed_by=sysadmin)
    assert selectors.agency_hall(agency_id=agency.pk) == station


@pytest.mark.parametrize("changes", [{"kind": Site.Kind.STATION}, {"active": False}])
def test_the_hall_stays_a_hall_and_stays_open(sysadmin, changes):
    with pytest.raises(ValidationError) as refused:
        services.site_update(site_id=home_site_id(), changes=changes, changed_by=sysadmin)
    assert refused.value.code == "hall_kept"


def test_a_site_keeps_its_code(sysadmin):
    station = make_site(code="ql")
    with pytest.raises(ValidationError):
        services.site_update(site_id=station.pk, changes={"code": "qili"}, changed_by=sysadmin)


@pytest.mark.parametrize("role", [Role.TEAM_LEAD, Role.SECURITY_ADMINISTRATOR, Role.CLERK])
def test_only_the_system_administrator_keeps_sites(role, home):
    person = make_staff(role)
    station = make_site()
    with pytest.raises(PermissionDenied):
        services.site_create(agency=home, code="x1", name="某社保所", created_by=person)
    with pytest.raises(PermissionDenied):
        services.site_update(site_id=station.pk, changes={"name": "改名"}, changed_by=person)
    with pytest.raises(PermissionDenied):
        services.agency_create(code="511322", name="某县", created_by=person)
    assert not AuditEvent.objects.filter(event_type__startswith="site.").exists()


def test_a_telephone_number_of_letters_is_refused(home):
    with pytest.raises(ValidationError):
        services.site_create(agency=home, code="x1", name="某社保所", phone="call me")


def test_the_sites_listed_for_a_scope_are_grouped_by_agency_hall_first():
    other = make_agency(code="511321")
    other_hall = make_site(agency=other, kind="hall")
    station = make_site()
    listed = list(selectors.sites_listed(site_ids=[station.pk, other_hall.pk, home_site_id()]))
    # 511321 (南部) before 511381 (阆中)
    assert [site.pk for site in listed] == [other_hall.pk, home_site_id(), station.pk]
