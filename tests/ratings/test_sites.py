"""Ratings by site and agency: a rating belongs to its ticket's site; the public monthly
results show one agency's figures, per site and per item; the handling of bad ratings
and the appeals (申诉) stay within the agency, and each step is reachable over the API."""

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from audit.bulk import bulk_writes_allowed
from counters import services
from counters.models import Ticket
from ratings import services as rating_services
from ratings.models import Appeal, FollowUp, Rating
from sites.defaults import home_site_id
from staff.models import Notification
from staff.roles import Role
from tests.factories import make_agency, make_site, make_staff, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def served(hall):
    """Finish a ticket at li_na's window, at `site` (default: the home hall)."""
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)

    def serve(site=None):
        services.window_declare_ready(clerk=hall.li_na)
        ticket = services.ticket_issue(item=hall.item)
        services.ticket_finish(clerk=hall.li_na)
        if site is not None:
            with bulk_writes_allowed():  # the ticket was issued at that site
                Ticket.objects.filter(pk=ticket.pk).update(site=site, agency=site.agency)
        return ticket

    return serve


@pytest.fixture
def station():
    return make_site(code="xinzheng", name="新政镇社保所")


@pytest.fixture
def other_agency():
    agency = make_agency(code="511321", name="南部县社会保险事业管理局")
    make_site(agency=agency, kind="hall", code="hall", name="南部县社保服务大厅")
    return agency


def _rate(ticket, level):
    return rating_services.rating_submit(
        ticket_id=ticket.pk, level=level, reason="" if level >= 3 else "等候太久"
    )


def _this_month(client, **extra):
    return client.get(
        "/ratings/results/", {"month": timezone.localdate().strftime("%Y-%m"), **extra}
    )


def test_a_rating_belongs_to_its_tickets_site_and_agency(served, station):
    rating = _rate(served(station), 5)
    assert (rating.site_id, rating.agency_id) == (station.pk, station.agency_id)


def test_the_migration_gives_existing_ratings_their_tickets_site(served, station):
    rating = _rate(served(station), 5)
    Rating.objects.filter(pk=rating.pk).update(site_id=home_site_id())
    migration = __import__("ratings.migrations.0003_ratings_at_sites", fromlist=["x"])
    migration.ratings_to_their_tickets_sites(django_apps, None)
    rating.refresh_from_db()
    assert rating.site_id == station.pk


def test_the_results_show_each_sites_figures(client, served, station, settings):
    settings.RATING_RESULTS_MIN_COUNT = 2
    for level in (5, 4, 1):
        _rate(served(station), level)
    _rate(served(), 5)
    response = _this_month(client)
    rows = {row.label: row for row in response.context["sites"]}
    assert (rows["新政镇社保所"].ratings, rows["新政镇社保所"].bad) == (3, 1)
    assert rows["新政镇社保所"].satisfaction_rate == 66.7
    assert rows[station.agency.sites.get(kind="hall").name].suppressed
    assert "新政镇社保所" in response.content.decode()


def test_the_results_of_one_agency_leave_out_another_agencys_ratings(
    client, served, other_agency, settings
):
    settings.RATING_RESULTS_MIN_COUNT = 1
    _rate(served(other_agency.sites.get()), 1)
    _rate(served(), 5)
    home = _this_month(client).context["hall"]
    other = _this_month(client, agency="511321")
    assert (home.ratings, home.bad) == (1, 0)
    assert (other.context["hall"].ratings, other.context["hall"].bad) == (1, 1)
    assert "南部县社会保险事业管理局" in other.content.decode()


def test_the_results_of_an_unknown_agency_are_not_found(client):
    assert _this_month(client, agency="000000").status_code == 404


# --- The loop over the API, within the agency ---------------------------------------------


@pytest.fixture
def bad(served):
    """A bad rating of a service at the home hall, and its follow-up."""
    ticket = served()
    rating = _rate(ticket, 1)
    return ticket, FollowUp.objects.get(rating=rating)


def _replied(follow_up, lead):
    rating_services.follow_up_record(follow_up_id=follow_up.pk, lead=lead, callback_note="已回访")
    rating_services.follow_up_record(follow_up_id=follow_up.pk, lead=lead, reply="已整改")


def test_the_team_lead_reviews_a_handling_over_the_api(client, bad):
    _ticket, follow_up = bad
    _replied(follow_up, make_staff(Role.TEAM_LEAD))
    sign_in(client, make_staff(Role.TEAM_LEAD))
    response = client.post(
        f"/api/lead/follow-ups/{follow_up.pk}/review/",
        {"accept": False, "note": "回复未说明整改措施"},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["status"] == "verified"


def test_a_return_without_a_note_is_refused_over_the_api(client, bad):
    _ticket, follow_up = bad
    _replied(follow_up, make_staff(Role.TEAM_LEAD))
    sign_in(client, make_staff(Role.TEAM_LEAD))
    response = client.post(
        f"/api/lead/follow-ups/{follow_up.pk}/review/",
        {"accept": False},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert FollowUp.objects.get(pk=follow_up.pk).status == FollowUp.Status.REPLIED


def test_the_team_lead_assigns_a_follow_up_over_the_api(client, bad):
    _ticket, follow_up = bad
    window_lead = make_staff(Role.WINDOW_LEAD)
    sign_in(client, make_staff(Role.TEAM_LEAD))
    response = client.post(
        f"/api/lead/follow-ups/{follow_up.pk}/assign/",
        {"assignee": window_lead.pk},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert FollowUp.objects.get(pk=follow_up.pk).assignee_id == window_lead.pk


def test_the_citizen_appeals_the_handling_over_the_api(client, bad):
    ticket, follow_up = bad
    _replied(follow_up, make_staff(Role.TEAM_LEAD))
    response = client.post(
        f"/api/tickets/{ticket.public_token}/follow-ups/{follow_up.pk}/appeal/",
        {"statement": "回复没有解决问题"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert Appeal.objects.get().kind == Appeal.Kind.HANDLING


def test_the_handling_of_another_tickets_rating_cannot_be_appealed_over_the_api(
    client, bad, served
):
    _ticket, follow_up = bad
    _replied(follow_up, make_staff(Role.TEAM_LEAD))
    stranger = served()
    response = client.post(
        f"/api/tickets/{stranger.public_token}/follow-ups/{follow_up.pk}/appeal/",
        {"statement": "回复没有解决问题"},
        content_type="application/json",
    )
    assert response.status_code == 404 and not Appeal.objects.exists()


def test_the_rated_clerk_appeals_and_a_team_lead_decides_over_the_api(client, bad, hall):
    _ticket, follow_up = bad
    sign_in(client, hall.li_na)
    filed = client.post(
        f"/api/counter/my-ratings/{follow_up.pk}/appeal/",
        {"statement": "当天系统故障，非本人原因"},
        content_type="application/json",
    )
    assert filed.status_code == 201
    client.logout()
    sign_in(client, make_staff(Role.TEAM_LEAD))
    pending = client.get("/api/lead/appeals/").json()
    assert [row["id"] for row in pending] == [filed.json()["id"]]
    decided = client.post(
        f"/api/lead/appeals/{filed.json()['id']}/decision/",
        {"uphold": True, "reason": "经核实为系统故障"},
        content_type="application/json",
    )
    assert decided.status_code == 200 and decided.json()["status"] == "upheld"
    assert FollowUp.objects.get(pk=follow_up.pk).status == FollowUp.Status.ANNULLED


def test_a_team_lead_of_another_agency_cannot_touch_the_follow_up(client, bad, other_agency):
    _ticket, follow_up = bad
    sign_in(client, make_staff(Role.TEAM_LEAD, sites=[other_agency.sites.get()]))
    assert client.get("/api/lead/follow-ups/").json() == []
    response = client.post(
        f"/api/lead/follow-ups/{follow_up.pk}/",
        {"callback_note": "已回访"},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert FollowUp.objects.get(pk=follow_up.pk).status == FollowUp.Status.OPEN


def test_another_agencys_appeals_are_not_in_a_deciders_list(client, bad, hall, other_agency):
    _ticket, follow_up = bad
    rating_services.rating_appeal_file(
        follow_up_id=follow_up.pk, clerk=hall.li_na, statement="非本人原因"
    )
    sign_in(client, make_staff(Role.AUDITOR, sites=[other_agency.sites.get()]))
    assert client.get("/api/lead/appeals/").json() == []


def test_a_bad_rating_notifies_only_its_agencys_team_leads(served, other_agency):
    home_lead = make_staff(Role.TEAM_LEAD)
    other_lead = make_staff(Role.TEAM_LEAD, sites=[other_agency.sites.get()])
    _rate(served(), 1)
    notified = set(Notification.objects.values_list("recipient_id", flat=True))
    assert home_lead.pk in notified and other_lead.pk not in notified


def test_the_results_page_offers_each_agency_when_there_are_several(client, other_agency):
    page = _this_month(client).content.decode()
    assert "?agency=511321" in page and "?agency=511381" in page
