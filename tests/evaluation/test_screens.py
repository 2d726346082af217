"""The dashboard, reports and evaluation through HTTP: permissions, exports, query counts."""

from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from audit.models import AuditEvent
from evaluation.exports import report_summary_lines
from evaluation.models import EvaluationWeights
from evaluation.selectors import period_report
from staff.roles import Role
from tests.evaluation.conftest import WEEK
from tests.factories import make_staff, sign_in

pytestmark = pytest.mark.django_db

WEEK_QUERY = {"from": "2026-03-02", "to": "2026-03-06"}


@pytest.fixture
def lead(client):
    user = make_staff(Role.TEAM_LEAD, name="何志明")
    sign_in(client, user)
    return user


def test_the_team_lead_lands_on_the_live_hall(client, lead):
    response = client.get("/")
    assert response.status_code == 302 and response.url == reverse("evaluation:dashboard")


def test_the_city_viewer_lands_on_the_reports_with_a_menu_to_them(client):
    sign_in(client, make_staff(Role.CITY_VIEWER, name="苟建华"))
    response = client.get("/")
    assert response.status_code == 302 and response.url == reverse("evaluation:report")
    html = client.get(response.url).content.decode()
    assert f'href="{reverse("counters:lead_queue")}"' in html


def test_the_live_view_names_each_windows_site(client, lead, week):
    html = client.get(reverse("evaluation:dashboard_live")).content.decode()
    assert 'data-testid="window-site">' in html


def test_the_live_view_shows_queues_windows_and_follow_ups(client, lead, week):
    response = client.get(reverse("evaluation:dashboard_live"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="window-1"' in html and 'data-testid="window-6"' in html
    assert "等太久" not in html  # the reason is for the follow-up page, not the wall
    assert 'data-testid="waiting-A">0<' in html


def test_the_live_view_runs_a_fixed_number_of_queries(
    client, lead, week, django_assert_max_num_queries
):
    client.get(reverse("evaluation:dashboard_live"))  # warm the session and role caches
    # 18 for the hall, 6 for the draw pools (per role: people and levels; open tasks, leave),
    # 2 for the lead's scope (their sites, their agency's sites).
    with django_assert_max_num_queries(26):
        client.get(reverse("evaluation:dashboard_live"))


def test_the_report_page_runs_a_fixed_number_of_queries(
    client, lead, week, django_assert_max_num_queries
):
    client.get(reverse("evaluation:report"), WEEK_QUERY)
    # 30 for the figures, 2 for the lead's scope (their sites, their agency's sites), 4 for
    # the figures per site (sites, tickets, cases, ratings).
    with django_assert_max_num_queries(36):
        response = client.get(reverse("evaluation:report"), WEEK_QUERY)
    assert 'data-testid="headline-accepted">5<' in response.content.decode()


def test_the_report_exports_to_excel_with_the_same_figures(client, lead, week):
    response = client.get(reverse("evaluation:report_export"), WEEK_QUERY)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(BytesIO(response.content))
    summary = workbook.worksheets[0]
    exported = [(row[0].value, row[1].value) for row in summary.iter_rows(min_row=2)]
    expected = report_summary_lines(period_report(WEEK))
    assert exported == [(str(label), value) for label, value in expected]
    daily = workbook.worksheets[1]
    assert [row[2].value for row in daily.iter_rows(min_row=2)] == [4, 1, 0, 0, 0]


def test_a_bad_date_gives_a_message_and_this_month(client, lead):
    response = client.get(reverse("evaluation:report"), {"from": "2026-13-40"})
    assert response.status_code == 200
    assert "YYYY-MM-DD" in response.content.decode()


def test_a_clerk_cannot_open_the_dashboard_or_the_reports(client, week):
    sign_in(client, week.hall.li_na)
    for name in ("evaluation:dashboard", "evaluation:report", "evaluation:report_export"):
        assert client.get(reverse(name)).status_code == 403


def test_a_clerk_sees_only_her_own_evaluation_sheet(client, week):
    sign_in(client, week.hall.li_na)
    response = client.get(reverse("evaluation:evaluation_list"), {"month": "2026-03"})
    own = reverse("evaluation:evaluation_sheet", args=[week.hall.li_na.pk])
    assert response.status_code == 302 and response.url.startswith(own)
    sheet = client.get(own, {"month": "2026-03"}).content.decode()
    assert "李娜" in sheet and "王磊" not in sheet
    peer = reverse("evaluation:evaluation_sheet", args=[week.wang.pk])
    assert client.get(peer, {"month": "2026-03"}).status_code == 403
    export = client.get(reverse("evaluation:evaluation_export"), {"month": "2026-03"})
    names = [row[1].value for row in load_workbook(BytesIO(export.content)).active.iter_rows(2)]
    assert names == ["李娜"]


def test_a_window_lead_sees_the_clerks_of_her_zone_only(client, week):
    lead = make_staff(Role.WINDOW_LEAD, window_team="综合受理区")
    sign_in(client, lead)
    html = client.get(reverse("evaluation:evaluation_list"), {"month": "2026-03"}).content
    assert "李娜" in html.decode() and "王磊" not in html.decode()
    peer = reverse("evaluation:evaluation_sheet", args=[week.wang.pk])
    assert client.get(peer, {"month": "2026-03"}).status_code == 403


def test_the_team_lead_sees_everyone_and_prints_a_sheet_for_signature(client, lead, week):
    html = client.get(reverse("evaluation:evaluation_list"), {"month": "2026-03"}).content
    for name in ("李娜", "王磊", "周建国", "马玉兰"):
        assert name in html.decode()
    sheet = client.get(
        reverse("evaluation:evaluation_sheet", args=[week.hall.zhou.pk]), {"month": "2026-03"}
    ).content.decode()
    assert "signature-line" in sheet and 'data-testid="sheet-score"' in sheet


def test_the_team_lead_sets_weights_that_add_up_to_100_with_a_reason(client, lead):
    url = reverse("evaluation:evaluation_weights")
    fields = {"volume": 30, "speed": 10, "on_time": 25, "satisfaction": 15, "quality": 10}
    response = client.post(url, {**fields, "audit": 20, "reason": "加大质量权重"}, follow=True)
    assert "100" in response.content.decode()  # 110: refused with the total
    assert EvaluationWeights.objects.count() == 0
    client.post(url, {**fields, "audit": 10, "reason": ""})
    assert EvaluationWeights.objects.count() == 0
    client.post(url, {**fields, "audit": 10, "reason": "年度考评方案调整"})
    weights = EvaluationWeights.objects.get()
    assert (weights.volume, weights.set_by, weights.reason) == (30, lead, "年度考评方案调整")
    assert AuditEvent.objects.filter(event_type="evaluation.weights_set").count() == 1


def test_only_the_team_lead_sets_weights(client, week):
    sign_in(client, week.hall.li_na)
    assert client.get(reverse("evaluation:evaluation_weights")).status_code == 403


def test_new_weights_change_the_score(week):
    from evaluation.selectors import Kind, staff_evaluation

    lead = make_staff(Role.TEAM_LEAD)
    from evaluation.services import evaluation_weights_set

    before = {row.user_id: row.score for row in staff_evaluation(WEEK) if row.kind == Kind.DECIDER}
    evaluation_weights_set(
        lead=lead,
        weights={
            "volume": 100,
            "speed": 0,
            "on_time": 0,
            "satisfaction": 0,
            "quality": 0,
            "audit": 0,
        },
        reason="只看工作量",
    )
    after = {row.user_id: row.score for row in staff_evaluation(WEEK) if row.kind == Kind.DECIDER}
    assert after[week.hall.ma.pk] == 50.0 != before[week.hall.ma.pk]


def test_weights_not_adding_to_100_are_refused_by_the_database(lead):
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    with pytest.raises(IntegrityError), transaction.atomic():
        EvaluationWeights.objects.create(volume=90, set_at=timezone.now(), reason="x")


def test_a_period_longer_than_the_limit_is_refused(client, lead):
    response = client.get(reverse("evaluation:report"), {"from": "2020-01-01", "to": "2026-01-01"})
    assert response.status_code == 200
    assert "400" in response.content.decode()  # the limit, named in the message


def test_the_evaluation_sheet_is_headed_with_the_person_s_agency(client, lead, week):
    from sites.defaults import home_agency_id
    from sites.models import Agency

    sheet = client.get(
        reverse("evaluation:evaluation_sheet", args=[week.hall.zhou.pk]), {"month": "2026-03"}
    ).content.decode()
    heading = sheet.split('data-testid="sheet-agency">')[1].split("<")[0]
    assert heading == Agency.objects.get(pk=home_agency_id()).name


def test_a_person_s_agency_is_the_one_they_work_for(two_agencies):
    from sites.selectors import person_agency

    person = make_staff(Role.CLERK, sites=[two_agencies.hall_b])
    assert person_agency(person) == two_agencies.agency_b
