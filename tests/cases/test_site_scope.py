"""Issue 17, point 1: the case file (search, case page, papers, scans, the full ID number)
is scoped to the person's sites through staff.scope. A case outside is a 404 — its
existence is not revealed — on every screen and API.

Personas (tests.test_agency_isolation's agency A): A's hall clerk accepted a level-2 case
with a scan; a clerk of A's station, and people of agency B, try to reach it."""

import pytest

from audit.bulk import bulk_writes_allowed
from audit.models import AuditEvent
from counters.models import Case
from staff.roles import Role
from tests.factories import make_staff, sign_in
from tests.test_agency_isolation import _agency_a

pytestmark = pytest.mark.django_db


@pytest.fixture
def a(django_capture_on_commit_callbacks, two_agencies):
    return _agency_a(django_capture_on_commit_callbacks, two_agencies)


def _station_clerk(a):
    return make_staff(Role.CLERK, name="甲镇王五", sites=[a.station])


def test_a_clerk_of_the_hall_opens_the_hall_s_case(client, a):
    sign_in(client, make_staff(Role.CLERK, sites=[a.hall]))
    assert client.get(f"/counter/cases/{a.case.pk}/").status_code == 200
    assert client.get(f"/api/counter/cases/{a.case.pk}/").json()["number"] == a.case.number


@pytest.mark.parametrize(
    "url",
    [
        "/counter/cases/{pk}/",
        "/counter/cases/{pk}/receipt/",
        "/api/counter/cases/{pk}/",
    ],
)
def test_a_station_clerk_gets_404_for_the_hall_s_case(client, a, url):
    sign_in(client, _station_clerk(a))
    response = client.get(url.format(pk=a.case.pk))
    assert response.status_code == 404
    assert a.case.number not in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/counter/cases/{pk}/supply/",
        "/counter/cases/{pk}/correct/",
        "/counter/cases/{pk}/resubmit/",
        "/counter/cases/{pk}/signature/",
        "/api/counter/cases/{pk}/supply/",
        "/api/counter/cases/{pk}/resubmit/",
    ],
)
def test_a_clerk_of_another_agency_cannot_act_on_the_case(client, a, hall_b, url):
    sign_in(client, make_staff(Role.CLERK, sites=[hall_b]))
    status = Case.objects.get(pk=a.case.pk).status
    assert client.post(url.format(pk=a.case.pk), {"material_ids": [1]}).status_code == 404
    assert Case.objects.get(pk=a.case.pk).status == status


def test_a_station_clerk_opens_a_case_of_their_station(client, a):
    with bulk_writes_allowed():
        Case.objects.filter(pk=a.case.pk).update(site=a.station)
    sign_in(client, _station_clerk(a))
    assert client.get(f"/counter/cases/{a.case.pk}/").status_code == 200


def test_a_window_lead_of_another_agency_gets_404_for_the_case(client, a, hall_b):
    sign_in(client, make_staff(Role.WINDOW_LEAD, sites=[hall_b]))
    assert client.get(f"/counter/cases/{a.case.pk}/").status_code == 404


@pytest.mark.parametrize("typed", ["number", "name"])
def test_the_case_search_finds_only_the_clerk_s_sites_cases(client, a, typed):
    query = a.case.number if typed == "number" else a.case.applicant_name
    sign_in(client, make_staff(Role.CLERK, sites=[a.hall]))
    assert (
        f"/counter/cases/{a.case.pk}/"
        in client.get("/counter/cases/", {"q": query}).content.decode()
    )
    client.logout()
    sign_in(client, _station_clerk(a))
    page = client.get("/counter/cases/", {"q": query}).content.decode()
    assert f"/counter/cases/{a.case.pk}/" not in page and a.case.applicant_id_masked not in page


def test_a_scan_opens_for_the_hall_s_clerk_and_the_drawn_reviewer(client, a):
    for person in (make_staff(Role.CLERK, sites=[a.hall]), a.task.assignee):
        sign_in(client, person)
        assert client.get(f"/files/{a.document.pk}/").status_code == 200
        client.logout()


def test_a_scan_is_404_for_a_station_clerk_and_another_agency_s_reviewer(client, a, hall_b):
    people = [_station_clerk(a), make_staff(Role.REVIEWER, review_level=3, sites=[hall_b])]
    for person in people:
        sign_in(client, person)
        assert client.get(f"/files/{a.document.pk}/").status_code == 404
        client.logout()


def test_a_drawn_reviewer_of_another_agency_still_cannot_open_the_scan(client, a, hall_b):
    """Even a task wrongly assigned across agencies opens nothing of the other agency."""
    from risk.models import ReviewTask

    outsider = make_staff(Role.REVIEWER, review_level=3, sites=[hall_b])
    with bulk_writes_allowed():
        ReviewTask.objects.filter(pk=a.task.pk).update(assignee=outsider)
    sign_in(client, outsider)
    assert client.get(f"/files/{a.document.pk}/").status_code == 404


@pytest.mark.parametrize("url", ["/cases/{pk}/reveal-id/", "/api/cases/{pk}/reveal-id/"])
def test_the_id_number_is_revealed_to_the_agency_s_auditor_only(client, a, hall_b, url):
    url = url.format(pk=a.case.pk)
    json = {"content_type": "application/json"} if url.startswith("/api/") else {}
    reason = {"reason": "稽核核对"}
    sign_in(client, make_staff(Role.AUDITOR, sites=[hall_b]))
    assert client.post(url, reason, **json).status_code == 404
    client.logout()
    sign_in(client, make_staff(Role.AUDITOR, sites=[a.hall]))
    assert client.post(url, reason, **json).status_code == 200
    assert not AuditEvent.objects.filter(
        event_type="personal_data.id_revealed", actor__staff_profile__sites__agency__code="511302"
    ).exists()


@pytest.mark.parametrize(
    "url",
    [
        "/counter/cases/{case}/resubmit/",
        "/counter/cases/{case}/supply/",
        "/counter/cases/{case}/signature/",
        "/cases/{case}/reveal-id/",
        "/inbox/tasks/{task}/decide/",
        "/api/counter/cases/{case}/resubmit/",
        "/api/cases/{case}/reveal-id/",
        "/api/inbox/tasks/{task}/decision/",
    ],
)
def test_a_city_viewer_is_refused_every_write_with_a_message(client, a, url):
    """A city-level view is read-only (and no account holds it with another role:
    staff.roles.INCOMPATIBLE_ROLES); it is told so."""
    sign_in(client, make_staff(Role.CITY_VIEWER))
    url = url.format(case=a.case.pk, task=a.task.pk)
    if url.startswith("/api/"):
        response = client.post(url, {"reason": "查看"}, content_type="application/json")
        message = response.json()["error"]["message"]
    else:
        response = client.post(url, {"reason": "查看", "decision": "approve"})
        message = response.content.decode()
    assert response.status_code == 403 and "只读" in message
    assert not AuditEvent.objects.filter(event_type="personal_data.id_revealed").exists()
