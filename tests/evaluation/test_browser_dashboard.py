"""The team lead's screens in Debian's chromium: live hall, report with charts, evaluation
and a printed sheet. Screenshots go to test-artifacts/ for a person to judge."""

import pytest

from staff.roles import Role
from tests.conftest import ARTIFACTS, browser_sign_in
from tests.factories import make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_team_lead_reads_the_hall_the_report_and_the_evaluation(browser, live_server, week):
    lead = make_staff(Role.TEAM_LEAD, name="何志明")
    page = browser_sign_in(browser, live_server, lead)
    page.wait_for_selector("[data-testid=window-1]")
    assert "李娜" in page.inner_text("[data-testid=window-1]")
    page.screenshot(path=ARTIFACTS / "lead-live-hall.png", full_page=True)

    page.goto(f"{live_server.url}/reports/?from=2026-03-02&to=2026-03-06")
    page.wait_for_function("window.Chart && Object.keys(Chart.instances).length === 4")
    assert page.inner_text("[data-testid=headline-accepted]") == "5"
    assert page.inner_text("[data-testid=headline-one-visit]") == "80.0%"
    page.screenshot(path=ARTIFACTS / "lead-report.png", full_page=True)
    page.emulate_media(media="print")
    page.pdf(path=str(ARTIFACTS / "lead-report.pdf"), format="A4")
    page.emulate_media(media="screen")

    page.goto(f"{live_server.url}/evaluation/?month=2026-03")
    assert "李娜" in page.inner_text("[data-testid=evaluation-table]")
    page.screenshot(path=ARTIFACTS / "lead-evaluation.png", full_page=True)
    page.goto(f"{live_server.url}/evaluation/{week.hall.li_na.pk}/?month=2026-03")
    page.pdf(path=str(ARTIFACTS / "evaluation-sheet.pdf"), format="A4")
    page.screenshot(path=ARTIFACTS / "evaluation-sheet.png", full_page=True)
