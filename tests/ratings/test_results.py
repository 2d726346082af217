"""The public monthly results (好差评 结果公开): no sign-in, the hall's and each item's
satisfaction, bad ratings and how many were resolved in time; small counts hidden,
ratings found unjust on appeal left out, no personal data."""

import datetime

import pytest
from django.utils import timezone

from counters import services
from ratings import services as rating_services
from ratings.models import FollowUp
from staff.roles import Role
from tests.factories import ItemFactory, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def served(hall):
    """Serve and finish `n` tickets of `item` at li_na's window; return them."""
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)

    def serve(n, item=hall.item):
        tickets = []
        for _ in range(n):
            services.window_declare_ready(clerk=hall.li_na)
            tickets.append(services.ticket_issue(item=item))
            services.ticket_finish(clerk=hall.li_na)
        return tickets

    return serve


def _rate(ticket, level):
    return rating_services.rating_submit(
        ticket_id=ticket.pk, level=level, reason="" if level >= 3 else "等候太久"
    )


def _this_month(client):
    month = timezone.localdate().strftime("%Y-%m")
    return client.get("/ratings/results/", {"month": month})


def _close_in_time(follow_up):
    first, second = make_staff(Role.TEAM_LEAD), make_staff(Role.TEAM_LEAD)
    rating_services.follow_up_record(follow_up_id=follow_up.pk, lead=first, callback_note="已回访")
    rating_services.follow_up_record(follow_up_id=follow_up.pk, lead=first, reply="已整改")
    rating_services.follow_up_review(follow_up_id=follow_up.pk, lead=second, accept=True)


def test_the_hall_and_item_figures_need_no_sign_in(client, served, hall):
    tickets = served(6)
    for ticket, level in zip(tickets, [5, 5, 4, 3, 2, 1], strict=True):
        _rate(ticket, level)
    _close_in_time(FollowUp.objects.order_by("pk").first())
    response = _this_month(client)
    assert response.status_code == 200
    hall_row, item_row = response.context["hall"], response.context["items"][0]
    for row in (hall_row, item_row):
        assert (row.ratings, row.satisfaction_rate, row.bad, row.resolved_in_time) == (
            6, 66.7, 2, 1,
        )  # fmt: skip
    assert item_row.label == hall.item.name
    assert "66.7%" in response.content.decode()


def test_a_row_of_fewer_ratings_than_the_minimum_shows_no_figures(client, served, settings):
    settings.RATING_RESULTS_MIN_COUNT = 5
    rare = ItemFactory(name="遗属待遇申领")
    for ticket in served(5):
        _rate(ticket, 5)
    (lone,) = served(1, item=rare)
    _rate(lone, 1)
    response = _this_month(client)
    rows = {row.label: row for row in response.context["items"]}
    assert rows[rare.name].suppressed
    assert (rows[rare.name].bad, rows[rare.name].satisfaction_rate) == (0, None)
    assert not response.context["hall"].suppressed and response.context["hall"].bad == 1
    assert "少于 5 条" in response.content.decode()


def test_a_rating_found_unjust_on_appeal_is_not_counted(client, served, hall):
    tickets = served(6)
    for ticket in tickets[:5]:
        _rate(ticket, 5)
    bad = _rate(tickets[5], 1)
    auditor = make_staff(Role.AUDITOR)
    appeal = rating_services.rating_appeal_file(
        follow_up_id=bad.follow_up.pk, clerk=hall.li_na, statement="误评"
    )
    rating_services.appeal_decide(appeal_id=appeal.pk, decider=auditor, uphold=True, reason="误评")
    row = _this_month(client).context["hall"]
    assert (row.ratings, row.bad, row.satisfaction_rate) == (5, 0, 100.0)


def test_the_page_carries_no_personal_data(client, served, hall):
    tickets = served(5)
    for ticket in tickets:
        _rate(ticket, 2)
    page = _this_month(client).content.decode()
    for secret in [hall.li_na.username, "李娜", "等候太久", *(t.display_number for t in tickets)]:
        assert secret not in page


def test_another_month_has_its_own_figures(client, served):
    for ticket in served(5):
        _rate(ticket, 5)
    last_year = timezone.localdate() - datetime.timedelta(days=370)
    response = client.get("/ratings/results/", {"month": last_year.strftime("%Y-%m")})
    assert response.context["hall"].ratings == 0 and response.context["items"] == []


def test_a_badly_written_month_is_refused(client):
    assert client.get("/ratings/results/", {"month": "2026-13"}).status_code == 400


def test_the_page_is_in_chinese_by_default_and_in_english_on_request(client, served):
    for ticket in served(5):
        _rate(ticket, 5)
    assert "满意率" in _this_month(client).content.decode()
    client.cookies["django_language"] = "en"
    english = _this_month(client).content.decode()
    assert "Satisfaction rate" in english


def test_another_agency_s_results_are_headed_with_that_agency(client, two_agencies):
    agency_b = two_agencies.agency_b
    page = client.get("/ratings/results/", {"agency": agency_b.code}).content.decode()
    brand = page.split('data-testid="brand">')[1].split("</span>")[0]
    assert brand == agency_b.name
