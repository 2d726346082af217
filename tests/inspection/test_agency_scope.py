"""Issue 17, point 1: inspection (continuous audit findings, the e-archive) is scoped to
the agency: its auditor and team lead see their agency's; another agency's auditor sees
nothing of it (404 by id); the city-level viewer reads everything and is refused every
write with a message saying the view is read-only.

Personas (tests.test_agency_isolation's agency A): a sampled finding on A's case; A's
auditor and team lead; B's auditor and team lead; the city viewer."""

import pytest

from audit.findings import finding_raise
from audit.models import Finding
from staff.roles import Role
from tests.factories import make_staff, sign_in
from tests.test_agency_isolation import _agency_a

pytestmark = pytest.mark.django_db


@pytest.fixture
def a(django_capture_on_commit_callbacks, two_agencies):
    return _agency_a(django_capture_on_commit_callbacks, two_agencies)


def test_the_agency_s_auditor_sees_its_finding_on_the_screen_and_the_api(client, a):
    sign_in(client, make_staff(Role.AUDITOR, sites=[a.hall]))
    assert a.case.number in client.get("/audit/findings/").content.decode()
    assert client.get(f"/audit/findings/{a.finding.pk}/").status_code == 200
    assert [row["id"] for row in client.get("/api/audit/findings/").json()] == [a.finding.pk]


def test_another_agency_s_auditor_sees_none_of_its_findings(client, a, hall_b):
    sign_in(client, make_staff(Role.AUDITOR, sites=[hall_b]))
    assert a.case.number not in client.get("/audit/findings/").content.decode()
    assert client.get("/api/audit/findings/").json() == []
    assert client.get(f"/audit/findings/{a.finding.pk}/").status_code == 404


@pytest.mark.parametrize("api", [False, True])
def test_another_agency_s_auditor_cannot_inspect_the_finding(client, a, hall_b, api):
    sign_in(client, make_staff(Role.AUDITOR, sites=[hall_b]))
    if api:
        url = f"/api/audit/findings/{a.finding.pk}/inspection/"
        response = client.post(url, {"result": "no_issue"}, content_type="application/json")
    else:
        response = client.post(f"/audit/findings/{a.finding.pk}/", {"result": "no_issue"})
    assert response.status_code == 404
    assert Finding.objects.get(pk=a.finding.pk).result == Finding.Result.OPEN


def test_a_finding_about_a_person_belongs_to_the_person_s_agency(client, a, hall_b):
    finding_raise(rule="no_show_rate", severity="medium", key="p", evidence={}, subject=a.clerk)
    sign_in(client, make_staff(Role.AUDITOR, sites=[hall_b]))
    assert client.get("/api/audit/findings/").json() == []
    client.logout()
    sign_in(client, make_staff(Role.AUDITOR, sites=[a.station]))  # agency-wide
    assert len(client.get("/api/audit/findings/").json()) == 2


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.TEAM_LEAD])
def test_the_e_archive_is_the_agency_s_own(client, a, hall_b, role):
    url = f"/audit/cases/{a.case.pk}/archive.zip"
    sign_in(client, make_staff(role, sites=[hall_b]))
    assert client.get(url).status_code == 404
    client.logout()
    sign_in(client, make_staff(role, sites=[a.hall]))
    assert client.get(url)["Content-Type"] == "application/zip"


def test_the_city_viewer_reads_every_agency_s_findings_but_no_case_file(client, a, hall_b):
    finding_raise(rule="sample", severity="low", key="b", evidence={}, subject=make_staff(
        Role.CLERK, sites=[hall_b]))  # fmt: skip
    sign_in(client, make_staff(Role.CITY_VIEWER))
    assert len(client.get("/api/audit/findings/").json()) == 2
    page = client.get(f"/audit/findings/{a.finding.pk}/").content.decode()
    assert a.case.number in page and 'name="result"' not in page  # no form to act
    # A roll-up of figures and findings, not citizens' files: no e-archive.
    assert client.get(f"/audit/cases/{a.case.pk}/archive.zip").status_code == 403


@pytest.mark.parametrize("api", [False, True])
def test_the_city_viewer_is_refused_an_inspection_with_a_message(client, a, api):
    sign_in(client, make_staff(Role.CITY_VIEWER))
    if api:
        url = f"/api/audit/findings/{a.finding.pk}/inspection/"
        response = client.post(url, {"result": "no_issue"}, content_type="application/json")
        message = response.json()["error"]["message"]
    else:
        response = client.post(f"/audit/findings/{a.finding.pk}/", {"result": "no_issue"})
        message = response.content.decode()
    assert response.status_code == 403 and "只读" in message
    assert Finding.objects.get(pk=a.finding.pk).result == Finding.Result.OPEN
