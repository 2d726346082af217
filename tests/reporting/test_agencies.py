"""Reports upward per agency: each agency's own sender id (the deployment's setting when it
has none) in the body and the header, the agency's and the site's codes in every export,
the dead letters counted per agency for the metrics, and each team lead seeing and
resending only their own agency's reports."""

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from counters import services as counter_services
from counters.models import Window
from operations.metrics import metrics_exposition
from ratings import services as rating_services
from reporting import selectors, services
from reporting.models import Delivery
from sites.models import Agency
from staff.roles import Role
from tests.factories import make_agency, make_site, make_staff, sign_in
from tests.reporting.test_delivery import _finished_case, _rated

pytestmark = pytest.mark.django_db


@pytest.fixture
def home_sender(db):
    agency = Agency.objects.get(code="511381")
    agency.reporting_sender_id = "SC-511381-SBJ"
    agency.save()


def _sent_bodies(platform) -> list[dict]:
    return [json.loads(request["body"]) for request in platform.requests]


def test_a_rating_goes_out_with_its_agencys_sender_id_and_codes(
    reporting_http, home_sender, hall, coded_item, django_capture_on_commit_callbacks
):
    _rated(hall, coded_item, django_capture_on_commit_callbacks)
    (body,) = _sent_bodies(reporting_http)
    assert (body["sender"], body["agency_code"], body["site_code"]) == (
        "SC-511381-SBJ", "511381", "hall",
    )  # fmt: skip
    assert reporting_http.requests[0]["headers"]["X-Report-Sender"] == "SC-511381-SBJ"


def test_an_agency_without_a_sender_id_sends_the_deployments(
    reporting_http, hall, coded_item, django_capture_on_commit_callbacks
):
    _rated(hall, coded_item, django_capture_on_commit_callbacks)
    (body,) = _sent_bodies(reporting_http)
    assert body["sender"] == "511381-TEST"  # the setting (tests/reporting/conftest.py)


def test_a_case_goes_out_with_its_sites_and_agencys_codes(
    reporting_http, home_sender, hall, coded_item, django_capture_on_commit_callbacks
):
    _finished_case(hall, coded_item, django_capture_on_commit_callbacks)
    bodies = _sent_bodies(reporting_http)
    assert {body["kind"] for body in bodies} == {"case_accepted", "case_completed"}
    assert {(b["sender"], b["agency_code"], b["site_code"]) for b in bodies} == {
        ("SC-511381-SBJ", "511381", "hall")
    }


def test_a_station_rating_goes_out_with_the_stations_code(
    reporting_http, coded_item, django_capture_on_commit_callbacks
):
    station = make_site(code="xinzheng", name="新政镇社保所")
    clerk = make_staff(Role.CLERK, sites=[station])
    window = Window.objects.create(site=station, number=1, queue="A")
    counter_services.window_sign_on(clerk=clerk, window_id=window.pk)
    counter_services.window_declare_ready(clerk=clerk)
    ticket = counter_services.ticket_issue(item=coded_item, site_id=station.pk)
    counter_services.ticket_finish(clerk=clerk)
    with django_capture_on_commit_callbacks(execute=True):
        rating_services.rating_submit(ticket_id=ticket.pk, level=5, reason="")
    (body,) = _sent_bodies(reporting_http)
    assert (body["agency_code"], body["site_code"]) == ("511381", "xinzheng")


def test_a_delivery_records_its_agency(
    reporting_http, hall, coded_item, django_capture_on_commit_callbacks
):
    rating = _rated(hall, coded_item, django_capture_on_commit_callbacks)
    assert Delivery.objects.get().agency_id == rating.agency_id


@pytest.fixture
def dead_letter(reporting_http, hall, coded_item, django_capture_on_commit_callbacks):
    reporting_http.mode = "refuse"
    _rated(hall, coded_item, django_capture_on_commit_callbacks)
    reporting_http.mode = "accept"
    return Delivery.objects.get(status=Delivery.Status.DEAD)


@pytest.fixture
def other_agency():
    agency = make_agency(code="511321", name="南部县社会保险事业管理局")
    make_site(agency=agency, kind="hall", code="hall", name="南部县社保服务大厅")
    return agency


def test_the_dead_letters_are_counted_per_agency(dead_letter, other_agency):
    assert selectors.dead_letter_counts() == {"511381": 1}


def test_the_metrics_show_the_dead_letters_per_agency(dead_letter):
    text = metrics_exposition().decode()
    assert 'langzhong_report_dead_letters{agency="511381"} 1.0' in text


def test_a_team_lead_of_another_agency_does_not_see_the_dead_letter(
    client, dead_letter, other_agency
):
    sign_in(client, make_staff(Role.TEAM_LEAD, sites=[other_agency.sites.get()]))
    html = client.get(reverse("reporting:overview")).content.decode()
    assert dead_letter.key not in html


def test_a_team_lead_of_another_agency_cannot_resend_the_dead_letter(
    client, dead_letter, other_agency
):
    sign_in(client, make_staff(Role.TEAM_LEAD, sites=[other_agency.sites.get()]))
    client.post(reverse("reporting:resend"), {"delivery": dead_letter.pk, "reason": "平台已修复"})
    dead_letter.refresh_from_db()
    assert (dead_letter.status, dead_letter.resends) == (Delivery.Status.DEAD, 0)


def test_the_city_viewer_cannot_resend(dead_letter):
    with pytest.raises(PermissionDenied):
        services.delivery_resend(
            delivery_id=dead_letter.pk, lead=make_staff(Role.CITY_VIEWER), reason="平台已修复"
        )


def test_the_home_team_lead_resends_their_agencys_dead_letter(client, lead, dead_letter):
    sign_in(client, lead)
    client.post(reverse("reporting:resend"), {"delivery": dead_letter.pk, "reason": "平台已修复"})
    dead_letter.refresh_from_db()
    assert dead_letter.resends == 1
