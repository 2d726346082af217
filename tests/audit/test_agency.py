"""Issue 17: one chain for the deployment whose events carry their agency (the key a
partitioned log is split by), found from the event's object, its site or its actor;
the agency is part of the hash, so altering it breaks verification."""

import pytest

from audit.chain import audit_chain_all
from audit.models import AuditEvent
from audit.selectors import audit_events_of_agencies, audit_log_page
from audit.services import audit_event_hash, audit_event_record, audit_log_verify
from sites.defaults import home_agency_id, home_site_id
from sites.models import Site
from staff.roles import Role
from tests.audit.test_chain import _as_database_administrator
from tests.factories import WindowFactory, make_agency, make_site, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def other():
    """Another agency of the deployment, with its hall and a clerk working there."""
    agency = make_agency(code="511302", name="顺庆区社会保险事业管理局")
    hall = make_site(agency=agency, kind="hall")
    return agency, hall, make_staff(Role.CLERK, sites=[hall])


def _recorded(**kwargs) -> AuditEvent:
    event = audit_event_record(event_type="test.event", **kwargs)
    audit_chain_all()
    return AuditEvent.objects.get(pk=event.pk)


def test_an_event_about_an_object_with_an_agency_carries_that_agency(other):
    agency, hall, _clerk = other
    assert _recorded(obj=hall).agency_id == agency.pk  # a site's own agency
    assert _recorded(obj=agency).agency_id == agency.pk


def test_an_event_about_an_object_at_a_site_carries_the_sites_agency(other):
    agency, hall, _clerk = other
    window = WindowFactory(site=hall)
    assert _recorded(obj=window).agency_id == agency.pk


def test_an_event_about_a_person_carries_their_agency_not_the_actors(other):
    agency, _hall, clerk = other
    lead = make_staff(Role.TEAM_LEAD)  # of the home agency
    assert _recorded(obj=clerk, actor=lead).agency_id == agency.pk


def test_an_event_with_nothing_but_its_actor_carries_the_actors_agency(other):
    agency, _hall, clerk = other
    assert _recorded(actor=clerk).agency_id == agency.pk


def test_a_deployment_wide_event_carries_no_agency():
    assert _recorded().agency_id is None


def test_a_ticket_or_case_event_carries_its_agency(hall, submitted_case):
    case, _number = submitted_case
    events = AuditEvent.objects.filter(object_type="counters.case", object_id=str(case.pk))
    assert events.exists()
    assert set(events.values_list("agency_id", flat=True)) == {home_agency_id()}


def test_altering_an_events_agency_breaks_verification(other):
    agency, hall, _clerk = other
    for _ in range(3):
        _recorded(obj=hall)
    assert audit_log_verify() is None
    _as_database_administrator(
        "UPDATE audit_auditevent SET agency_id = %s WHERE position = 2", [home_agency_id()]
    )
    broken = audit_log_verify()
    assert (broken.position, broken.reason) == (2, "content changed")


def test_giving_an_agency_to_an_event_that_had_none_breaks_verification():
    for _ in range(3):
        _recorded()
    _as_database_administrator(
        "UPDATE audit_auditevent SET agency_id = %s WHERE position = 3", [home_agency_id()]
    )
    assert audit_log_verify().position == 3


def test_an_event_without_an_agency_hashes_as_events_did_before_they_carried_one():
    """Events chained before the agency column keep verifying: with no agency the hashed
    content is exactly the old one (no "agency" key)."""
    event = _recorded()
    event.agency_id = None
    unchanged = audit_event_hash(event)
    event.agency_id = home_agency_id()
    assert audit_event_hash(event) != unchanged == event.hash


def test_the_selector_keeps_only_the_given_agencies_events(other):
    agency, hall, _clerk = other
    home = _recorded(obj=Site.objects.get(pk=home_site_id()))
    theirs = _recorded(obj=hall)
    wide = _recorded()
    tests = AuditEvent.objects.filter(event_type="test.event")
    assert list(audit_events_of_agencies(tests, agency_ids=[agency.pk])) == [theirs]
    assert set(audit_events_of_agencies(tests, agency_ids=[agency.pk], deployment_wide=True)) == {
        theirs,
        wide,
    }
    page = audit_log_page(event_type="test.event", agency_ids=[home_agency_id()])
    assert page == [home]
    assert len(audit_log_page(event_type="test.event")) == 3
