"""Every date or month a person types is checked against one accepted range
(langzhong_si.dates): refused with a message on the screens, a 400 in the API's error
shape, never a 500."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from langzhong_si.dates import EARLIEST_DATE, date_latest
from staff.roles import Role
from tests.factories import make_staff, sign_in

pytestmark = pytest.mark.django_db

FAR_FUTURE = {"from": "9999-12-31", "to": "9999-12-31"}
ANCIENT = {"from": "0001-01-01", "to": "0001-01-02"}
RANGE_MESSAGE = f"{EARLIEST_DATE:%Y-%m-%d}"


@pytest.fixture
def lead(client):
    user = make_staff(Role.TEAM_LEAD, name="何志明")
    sign_in(client, user)
    return user


@pytest.fixture
def clerk(client):
    user = make_staff(Role.CLERK, name="李娜")
    sign_in(client, user)
    return user


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.mark.parametrize("query", [FAR_FUTURE, ANCIENT], ids=["9999", "0001"])
def test_the_report_refuses_a_period_outside_the_accepted_range_with_a_message(client, lead, query):
    response = client.get(reverse("evaluation:report"), query)
    assert response.status_code == 200
    assert any(RANGE_MESSAGE in message for message in _messages(response))
    # and shows this month instead
    assert response.context["period"].first == timezone.localdate().replace(day=1)


@pytest.mark.parametrize("query", [FAR_FUTURE, ANCIENT], ids=["9999", "0001"])
def test_the_report_export_refuses_an_out_of_range_period_and_returns_to_the_form(
    client, lead, query
):
    response = client.get(reverse("evaluation:report_export"), query)
    assert response.status_code == 302 and response.url == reverse("evaluation:report")
    page = client.get(response.url)
    assert any(RANGE_MESSAGE in message for message in _messages(page))


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "1999-12"])
def test_the_evaluation_refuses_an_out_of_range_month_for_a_clerk_with_a_message(
    client, clerk, month
):
    response = client.get(reverse("evaluation:evaluation_list"), {"month": month}, follow=True)
    assert response.status_code == 200
    assert any(RANGE_MESSAGE in message for message in _messages(response))


@pytest.mark.parametrize("month", ["9999-12", "0001-01"])
def test_the_evaluation_export_refuses_an_out_of_range_month(client, lead, month):
    response = client.get(reverse("evaluation:evaluation_export"), {"month": month})
    assert response.status_code == 302 and response.url == reverse("evaluation:evaluation_list")


@pytest.mark.parametrize("query", [FAR_FUTURE, ANCIENT], ids=["9999", "0001"])
def test_the_report_api_answers_400_in_the_error_shape_for_an_out_of_range_period(
    client, lead, query
):
    response = client.get("/api/reports/", query)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "date_range"
    assert RANGE_MESSAGE in response.json()["error"]["message"]


@pytest.mark.parametrize("month", ["9999-12", "0001-01"])
def test_the_evaluation_api_answers_400_for_an_out_of_range_month(client, clerk, month):
    response = client.get("/api/evaluation/", {"month": month})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "date_range"


def test_the_evaluation_api_answers_400_for_a_month_that_is_not_a_month(client, clerk):
    response = client.get("/api/evaluation/", {"month": "2024-13"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "month"


def test_a_report_up_to_the_last_accepted_day_is_served(client, lead):
    last = date_latest()
    first = last - datetime.timedelta(days=6)
    response = client.get("/api/reports/", {"from": f"{first:%Y-%m-%d}", "to": f"{last:%Y-%m-%d}"})
    assert response.status_code == 200


def test_the_draws_bundle_refuses_an_out_of_range_day_with_400(client):
    sign_in(client, make_staff(Role.AUDITOR))
    response = client.get(reverse("draws:draw_bundle"), {"day": "9999-12-31"})
    assert response.status_code == 400
