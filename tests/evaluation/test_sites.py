"""Reports and evaluation by site and agency (staff.scope): the team lead sees their
agency, broken down by site; the city viewer sees every agency, by agency and site, and
changes nothing; ratings found unjust on appeal count nowhere."""

import pytest

from audit.bulk import bulk_writes_allowed
from counters.models import Ticket
from evaluation.selectors import Kind, evaluation_scope, staff_evaluation
from ratings.models import FollowUp, Rating
from staff.roles import Role
from tests.evaluation.conftest import WEEK
from tests.factories import make_agency, make_site, make_staff, sign_in

pytestmark = pytest.mark.django_db

REPORT = "/api/reports/"
WEEK_QUERY = {"from": "2026-03-02", "to": "2026-03-06"}


@pytest.fixture
def other_agency():
    agency = make_agency(code="511321", name="南部县社会保险事业管理局")
    make_site(agency=agency, kind="hall", code="hall", name="南部县社保服务大厅")
    return agency


def _report(client, person):
    sign_in(client, person)
    response = client.get(REPORT, WEEK_QUERY)
    assert response.status_code == 200
    return response.json()["figures"]


def test_the_team_leads_report_has_a_row_per_site_of_the_agency(client, week):
    station = make_site(code="xinzheng", name="新政镇社保所")
    rated = Rating.objects.order_by("pk").first()
    with bulk_writes_allowed():  # one service of the week was given at the station
        Ticket.objects.filter(pk=rated.ticket_id).update(site=station)
    Rating.objects.filter(pk=rated.pk).update(site=station)
    figures = _report(client, make_staff(Role.TEAM_LEAD))
    rows = {row["site"]: row for row in figures["by_site"]}
    assert set(rows) == {"新政镇社保所", station.agency.sites.get(kind="hall").name}
    assert (rows["新政镇社保所"]["tickets"], rows["新政镇社保所"]["ratings"]) == (1, 1)
    assert sum(row["accepted"] for row in rows.values()) == figures["cases"]["accepted"]


def test_a_team_lead_of_another_agency_sees_none_of_this_agencys_figures(
    client, week, other_agency
):
    lead = make_staff(Role.TEAM_LEAD, sites=[other_agency.sites.get()])
    figures = _report(client, lead)
    assert (figures["cases"]["received"], figures["tickets"]["issued"]) == (0, 0)
    assert figures["ratings"]["total"] == 0
    assert [row["agency_code"] for row in figures["by_site"]] == ["511321"]


def test_the_city_viewer_sees_every_agency_by_agency_and_site(client, week, other_agency):
    figures = _report(client, make_staff(Role.CITY_VIEWER))
    assert {row["agency_code"] for row in figures["by_site"]} == {"511381", "511321"}
    assert figures["cases"]["received"] > 0


def test_the_city_viewer_sees_the_report_screen_broken_down_by_site(client, week, other_agency):
    sign_in(client, make_staff(Role.CITY_VIEWER))
    page = client.get("/reports/", WEEK_QUERY).content.decode()
    assert 'data-testid="report-by-site"' in page and "南部县社保服务大厅" in page


def test_the_city_viewer_cannot_set_the_evaluation_weights(client):
    sign_in(client, make_staff(Role.CITY_VIEWER))
    assert client.post("/evaluation/weights/", {"reason": "x"}).status_code == 403


def test_a_team_lead_evaluates_only_their_agencys_staff(week, hall, other_agency):
    home_lead = make_staff(Role.TEAM_LEAD)
    other_lead = make_staff(Role.TEAM_LEAD, sites=[other_agency.sites.get()])
    assert hall.li_na.pk in evaluation_scope(home_lead, WEEK)
    assert hall.li_na.pk not in evaluation_scope(other_lead, WEEK)


def test_the_city_viewer_evaluates_everyone(week):
    assert evaluation_scope(make_staff(Role.CITY_VIEWER), WEEK) is None


def test_a_rating_annulled_on_appeal_counts_neither_in_the_report_nor_the_evaluation(
    client, week, hall
):
    def clerk_ratings():
        rows = staff_evaluation(WEEK, scope={hall.li_na.pk})
        return next(row for row in rows if row.kind == Kind.CLERK).ratings

    before, total = clerk_ratings(), _report(client, make_staff(Role.TEAM_LEAD))
    with bulk_writes_allowed():  # as an upheld appeal of the rating leaves it
        FollowUp.objects.update(status=FollowUp.Status.ANNULLED)
    after = _report(client, make_staff(Role.TEAM_LEAD))
    assert clerk_ratings() == before - 1
    assert after["ratings"]["total"] == total["ratings"]["total"] - 1


def test_the_live_hall_of_a_team_lead_shows_only_their_agencys_windows_and_queues(
    client, week, hall, other_agency
):
    sign_in(client, make_staff(Role.TEAM_LEAD, sites=[other_agency.sites.get()]))
    other = client.get("/api/lead/hall/").json()
    client.logout()
    sign_in(client, make_staff(Role.TEAM_LEAD))
    home = client.get("/api/lead/hall/").json()
    assert other["windows"] == [] and home["windows"] != []


def test_the_report_workbook_has_a_sheet_per_site_with_the_codes(client, week):
    from io import BytesIO

    from openpyxl import load_workbook

    sign_in(client, make_staff(Role.TEAM_LEAD))
    response = client.get("/reports/export.xlsx", WEEK_QUERY)
    sheet = load_workbook(BytesIO(response.content)).worksheets[-1]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [(row[0], row[2], row[5]) for row in rows] == [("511381", "hall", 5)]


def test_the_city_viewers_evaluation_rows_name_each_persons_agency(client, week, other_agency):
    make_staff(Role.CLERK, sites=[other_agency.sites.get()])
    sign_in(client, make_staff(Role.CITY_VIEWER))
    rows = client.get("/api/evaluation/", {"month": "2026-03"}).json()
    assert {row["agency"] for row in rows} == {"511381", "511321"}


def test_the_city_viewers_evaluation_screen_shows_each_persons_agency(client, week, other_agency):
    make_staff(Role.CLERK, sites=[other_agency.sites.get()])
    sign_in(client, make_staff(Role.CITY_VIEWER))
    page = client.get("/evaluation/", {"month": "2026-03"}).content.decode()
    assert ">511321<" in page and ">511381<" in page


def test_the_live_hall_counts_only_the_agencys_own_drawable_people(other_agency):
    from evaluation.selectors import hall_live

    make_staff(Role.REVIEWER, review_level=3)  # the home agency's
    lead_b = make_staff(Role.TEAM_LEAD, sites=[other_agency.sites.get()])
    sizes = {(row["role"], row["level"]): row["size"] for row in hall_live(viewer=lead_b)["sizes"]}
    assert sizes[("review", 3)] == 0
    lead_home = make_staff(Role.TEAM_LEAD)
    home = {
        (row["role"], row["level"]): row["size"] for row in hall_live(viewer=lead_home)["sizes"]
    }
    assert home[("review", 3)] >= 1


def test_another_agencys_team_lead_cannot_set_the_deployments_evaluation_weights(other_agency):
    from django.core.exceptions import PermissionDenied

    from evaluation.models import COMPONENTS, EvaluationWeights
    from evaluation.services import evaluation_weights_set

    other_lead = make_staff(Role.TEAM_LEAD, sites=[other_agency.sites.get()])
    before = EvaluationWeights.objects.count()
    weights = dict(zip(COMPONENTS, (20, 20, 20, 20, 10, 10), strict=True))  # a valid set
    with pytest.raises(PermissionDenied):
        evaluation_weights_set(lead=other_lead, weights=weights, reason="乙县自定")
    assert EvaluationWeights.objects.count() == before


def test_another_agencys_team_lead_is_told_why_the_weights_stay(client, other_agency):
    from evaluation.models import COMPONENTS

    sign_in(client, make_staff(Role.TEAM_LEAD, sites=[other_agency.sites.get()]))
    form = dict(zip(COMPONENTS, (20, 20, 20, 20, 10, 10), strict=True)) | {"reason": "乙县"}
    page = client.post("/evaluation/weights/", form, follow=True).content.decode()
    assert "各经办机构共用的记录由主办经办机构维护。" in page
