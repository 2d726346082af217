"""Each report and evaluation figure against the hand-built week (see conftest)."""

import datetime

import pytest

from counters.models import Case
from evaluation.selectors import Kind, period_report, staff_evaluation
from tests.evaluation.conftest import WEEK

pytestmark = pytest.mark.django_db

LATE = datetime.date(2026, 4, 30)  # "today" long after every promised date


@pytest.fixture
def report(week):
    return period_report(WEEK, today=LATE)


def test_the_week_was_built_as_described(week):
    statuses = [case.status for case in week.cases]
    assert statuses == [
        Case.Status.FINISHED,
        Case.Status.NOTIFIED,
        Case.Status.APPROVED,
        Case.Status.REJECTED,
        Case.Status.FORWARDED,
        Case.Status.IN_REVIEW,
    ]


def test_tickets_are_counted_by_outcome(report):
    tickets = report["tickets"]
    assert (tickets["issued"], tickets["served"], tickets["no_show"]) == (7, 6, 1)
    assert tickets["average_wait"] == 0.0  # each was called the moment it was issued


def test_cases_received_notified_and_accepted(report):
    cases = report["cases"]
    assert (cases["received"], cases["notified"], cases["accepted"]) == (6, 1, 5)


def test_cases_finished_on_the_spot_within_the_limit_and_overdue(report):
    cases = report["cases"]
    assert cases["on_the_spot"] == 1
    assert cases["within_limit"] == 2
    assert cases["final_in_time"] == 3
    assert cases["forwarded"] == 1
    assert (cases["open_overdue"], cases["finished_late"], cases["overdue"]) == (1, 0, 1)
    assert (cases["approved"], cases["rejected"]) == (1, 1)
    assert cases["in_time_rate"] == 100.0


def test_an_open_case_is_in_progress_until_its_promised_date(week):
    report = period_report(WEEK, today=datetime.date(2026, 3, 4))
    assert (report["cases"]["in_progress"], report["cases"]["open_overdue"]) == (1, 0)


def test_a_case_after_a_one_time_notice_is_not_a_one_visit_case(report):
    assert report["one_visit"] == {"accepted": 5, "one_visit": 4, "rate": 80.0}


def test_cases_by_risk_level_and_category(report, week):
    assert {row["key"]: row["n"] for row in report["by_level"]} == {0: 1, 2: 4}
    assert sum(row["n"] for row in report["by_category"]) == 5


def test_daily_series_covers_every_day_of_the_period(report):
    assert [row["day"].day for row in report["daily"]] == [2, 3, 4, 5, 6]
    assert [row["accepted"] for row in report["daily"]] == [4, 1, 0, 0, 0]
    assert [row["tickets"] for row in report["daily"]] == [6, 1, 0, 0, 0]


def test_ratings_share_rated_satisfaction_and_follow_ups(report):
    ratings = report["ratings"]
    assert (ratings["total"], ratings["satisfied"], ratings["satisfaction_rate"]) == (2, 1, 50.0)
    assert (ratings["served"], ratings["rated"], ratings["rated_rate"]) == (6, 2, 33.3)
    assert ratings["follow_ups"]["opened"] == 1
    assert ratings["follow_ups"]["overdue"] == 1  # never answered; reply date long past


def test_draws_are_counted_by_purpose(report):
    by_purpose = {row["purpose"]: row["n"] for row in report["draws"]["by_purpose"]}
    # 7 tickets dispatched; reviewer for C3, C4, C6; approver for C3.
    assert by_purpose == {
        "ticket_dispatch": 7,
        "review": 3,
        "approval": 1,
        "second_approval": 0,
    }
    assert report["draws"]["redrawn"] == 0


def test_clerk_evaluation_counts_her_work(week):
    rows = {(row.user_id, row.kind): row for row in staff_evaluation(WEEK)}
    li_na = rows[(week.hall.li_na.pk, Kind.CLERK)]
    assert (li_na.volume, li_na.cases_accepted, li_na.notices) == (5, 4, 1)
    assert (li_na.final, li_na.on_time, li_na.on_time_rate) == (3, 3, 100.0)
    assert (li_na.ratings, li_na.satisfaction_rate) == (2, 50.0)
    assert (li_na.submitted, li_na.returns, li_na.rejections) == (3, 0, 1)
    assert li_na.components["quality"] == pytest.approx(66.7)


def test_reviewer_and_approver_evaluation_counts_their_decisions(week):
    rows = {(row.user_id, row.kind): row for row in staff_evaluation(WEEK)}
    zhou = rows[(week.hall.zhou.pk, Kind.DECIDER)]
    ma = rows[(week.hall.ma.pk, Kind.DECIDER)]
    # C3 reviewed in 60 minutes; C4 rejected 29 hours after assignment, past its limit.
    assert (zhou.volume, zhou.on_time_rate, zhou.average_minutes) == (2, 50.0, 900.0)
    assert (ma.volume, ma.average_minutes) == (1, 60.0)


def test_the_score_is_the_weighted_mean_of_the_components_that_apply(week):
    rows = {(row.user_id, row.kind): row for row in staff_evaluation(WEEK)}
    ma = rows[(week.hall.ma.pk, Kind.DECIDER)]
    # volume 50 (1 of zhou's 2), speed 100 (fastest), on time 100, audit 100; no
    # ratings or returns for a decider: weights 20, 15, 25, 10 apply.
    assert ma.components["volume"] == 50.0
    assert ma.score == pytest.approx((20 * 50 + 15 * 100 + 25 * 100 + 10 * 100) / 70, abs=0.05)


def test_someone_with_no_work_in_the_period_is_not_scored(week):
    rows = {(row.user_id, row.kind): row for row in staff_evaluation(WEEK)}
    assert rows[(week.hall.sun.pk, Kind.DECIDER)].score is None
