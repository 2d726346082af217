"""The REST API: the same services and checks as the screens, one error shape, device and
token rules, throttled public look-ups, and masked personal data in JSON."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from counters.models import Case, Ticket
from devices.models import HallDevice
from risk.models import ReviewTask
from staff.roles import Role
from tests.factories import (
    integration_token,
    make_id_number,
    make_staff,
    registered_device,
    sign_in,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def kiosk(db):
    """A registered kiosk: (device, credential)."""
    return registered_device(HallDevice.Kind.KIOSK, name="api kiosk")


def _device(api, registration):
    api.credentials(HTTP_AUTHORIZATION=f"Device {registration.credential}")
    return api


def test_a_kiosk_issues_a_ticket_with_its_device_token(api, kiosk, hall):
    response = _device(api, kiosk).post(
        "/api/kiosk/tickets/", {"item": hall.item.pk}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["number"] == "A001" and response.json()["ahead"] == 0


def test_a_display_token_cannot_issue_tickets_and_no_token_is_refused(api, hall):
    display = registered_device(HallDevice.Kind.DISPLAY, name="display")
    assert _device(api, display).post("/api/kiosk/tickets/", {}, format="json").status_code == 403
    api.credentials()
    assert api.post("/api/kiosk/tickets/", {}, format="json").status_code in (401, 403)
    assert Ticket.objects.count() == 0


def test_errors_have_one_shape(api, kiosk, hall):
    bad_id = _device(api, kiosk).post(
        "/api/kiosk/tickets/",
        {"item": hall.item.pk, "id_number": "110105194912310021"},
        format="json",
    )
    assert bad_id.status_code == 400
    assert set(bad_id.json()["error"]) >= {"code", "message"}
    missing = _device(api, kiosk).post("/api/kiosk/tickets/", {"item": 99999}, format="json")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    invalid = _device(api, kiosk).post("/api/kiosk/tickets/", {"item": "x"}, format="json")
    assert invalid.status_code == 400 and "item" in invalid.json()["error"]["fields"]


def test_a_kiosk_asking_for_a_disabled_item_is_answered_not_found_and_issues_nothing(
    api, kiosk, hall
):
    hall.item.enabled = False
    hall.item.save(update_fields=["enabled"])
    response = _device(api, kiosk).post(
        "/api/kiosk/tickets/", {"item": hall.item.pk}, format="json"
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert Ticket.objects.count() == 0


def test_a_clerk_serves_a_ticket_end_to_end_through_the_api(
    api, hall, kiosk, django_capture_on_commit_callbacks
):
    sign_in(api, hall.li_na)
    assert api.post("/api/counter/sign-on/", {"window": 1}, format="json").status_code == 200
    api.post("/api/counter/ready/")
    kiosk_client = _device(APIClient(), kiosk)
    kiosk_client.post("/api/kiosk/tickets/", {"item": hall.item.pk}, format="json")
    state = api.get("/api/counter/").json()
    assert state["window"]["state"] == "serving"
    id_number = make_id_number()
    with django_capture_on_commit_callbacks(execute=True):
        intake = api.post(
            "/api/counter/intake/",
            {
                "item": hall.item.pk,
                "applicant_name": "王大山",
                "id_number": id_number,
                "received_material_ids": [hall.material.pk],
            },
            format="json",
        )
    assert intake.status_code == 201, intake.json()
    body = intake.json()
    assert body["status"] == "in_review" and id_number not in intake.content.decode()
    assert body["applicant_id_masked"].startswith(id_number[:6])
    assert api.post("/api/counter/finish/").status_code == 200
    assert api.post("/api/counter/finish/").status_code == 409  # nothing being served now
    detail = api.get(f"/api/counter/cases/{body['id']}/").json()
    assert detail["awaiting_qualified"] is False
    task = ReviewTask.objects.get(case_id=body["id"])
    assert hall.zhou.username not in str(detail) and task.assignee.username not in str(detail)


def test_a_clerk_cannot_read_another_clerks_case_by_its_id(api, hall):
    other = make_staff(Role.CLERK)
    sign_in(api, other)
    case_id = 1
    assert api.get(f"/api/counter/cases/{case_id}/").status_code == 404


def test_the_citizens_progress_needs_the_id_suffix_and_is_throttled(api, hall, settings):
    from django.core.cache import cache

    from cases import services as case_services
    from counters import services

    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    services.ticket_issue(item=hall.item)
    number = make_id_number()
    case = case_services.case_accept(
        clerk=hall.li_na,
        item_id=hall.item.pk,
        applicant_name="王大山",
        id_number=number,
        received_material_ids=set(),
    )
    wrong = api.get("/api/progress/", {"number": case.number, "id_suffix": "0000"})
    assert wrong.status_code == 404
    right = api.get("/api/progress/", {"number": case.number, "id_suffix": number[-4:]})
    assert right.status_code == 200 and right.json()["applicant"] == "王**"
    assert right.json()["missing"] == [hall.material.name]
    cache.clear()
    settings.PROGRESS_FAILURES_PER_CLIENT = 3
    codes = [
        api.get("/api/progress/", {"number": case.number, "id_suffix": "1111"}).status_code
        for _ in range(4)
    ]
    assert codes[-1] == 429 and Case.objects.count() == 1


def test_a_token_works_for_an_integration_account_acting_as_a_clerk(api, hall):
    api.credentials(HTTP_AUTHORIZATION=f"Token {integration_token()}")
    assert api.get("/api/counter/").status_code == 200


def test_a_clerk_cannot_use_the_team_leads_or_the_auditors_operations(api, hall):
    sign_in(api, hall.li_na)
    for path in ("/api/lead/hall/", "/api/reports/", "/api/audit/findings/", "/api/audit/log/"):
        response = api.get(path)
        assert response.status_code == 403 and response.json()["error"]["code"]


def test_the_docs_page_lists_every_operation_the_screens_can_do(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operations = {
        f"{method.upper()} {path}" for path, item in schema["paths"].items() for method in item
    }
    for expected in [
        "POST /api/kiosk/tickets/",
        "GET /api/display/",
        "GET /api/progress/",
        "POST /api/rating-pad/",
        "GET /api/tickets/{token}/",
        "POST /api/tickets/{token}/cancel/",
        "POST /api/tickets/{token}/rating/",
        "POST /api/counter/sign-on/",
        "POST /api/counter/ready/",
        "POST /api/counter/pause/",
        "POST /api/counter/recall/",
        "POST /api/counter/no-show/",
        "POST /api/counter/finish/",
        "POST /api/counter/intake/",
        "POST /api/counter/cases/{case_id}/supply/",
        "POST /api/counter/cases/{case_id}/resubmit/",
        "POST /api/cases/{case_id}/reveal-id/",
        "POST /api/inbox/tasks/{task_id}/decision/",
        "POST /api/lead/tickets/{ticket_id}/confirm-priority/",
        "POST /api/lead/tickets/{ticket_id}/requeue/",
        "POST /api/lead/follow-ups/{follow_up_id}/",
        "GET /api/lead/hall/",
        "GET /api/reports/",
        "GET /api/evaluation/",
        "POST /api/evaluation/weights/",
        "POST /api/audit/findings/{finding_id}/inspection/",
        "GET /api/audit/log/",
        "POST /api/security/roles/",
        "POST /api/security/unlock/",
    ]:
        assert expected in operations, expected
    docs = client.get(reverse("api-docs"))
    assert docs.status_code == 200 and "<script>" not in docs.content.decode()


def test_a_citizen_follows_cancels_and_cannot_rate_an_unfinished_ticket(api, kiosk, hall):
    issued = _device(api, kiosk).post("/api/kiosk/tickets/", {"item": hall.item.pk}, format="json")
    issued = issued.json()
    citizen, url = APIClient(), f"/api/tickets/{issued['page_token']}/"
    page = citizen.get(url)
    assert page.status_code == 200 and page.json()["status"] == "waiting"
    assert page.json()["cases"] == []
    rating = citizen.post(f"{url}rating/", {"level": 5}, format="json")
    assert rating.status_code == 409 and rating.json()["error"]["code"] == "not_done"
    assert citizen.post(f"{url}cancel/").json()["status"] == "cancelled"
    assert citizen.post(f"{url}cancel/").status_code == 409
    assert citizen.get("/api/tickets/not-a-token/").status_code == 404


def test_an_employer_case_through_an_agent_is_opened_through_the_api(
    api, hall, django_capture_on_commit_callbacks
):
    from tests.factories import ItemFactory, MaterialFactory

    item = ItemFactory(name="单位参保登记", risk_level=1)
    MaterialFactory(item=item)
    sign_in(api, hall.li_na)
    api.post("/api/counter/sign-on/", {"window": 1}, format="json")
    api.post("/api/counter/ready/")
    from counters import services as counter_services

    counter_services.ticket_issue(item=item)
    agent_number = make_id_number()
    payload = {
        "item": item.pk,
        "applicant_name": "王经办",
        "id_number": make_id_number(),
        "received_material_ids": list(item.materials.values_list("pk", flat=True)),
        "employer": {"credit_code": "91110108551385082R", "name": "阆中市某某有限公司"},
        "agent": {"name": "张代办", "id_number": agent_number, "relation": "employee"},
        "authorisation_received": True,
    }
    refused = api.post("/api/counter/intake/", payload, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "credit_code_checksum"
    payload["employer"]["credit_code"] = "91110108551385082Q"
    with django_capture_on_commit_callbacks(execute=True):
        intake = api.post("/api/counter/intake/", payload, format="json")
    assert intake.status_code == 201, intake.json()
    body = intake.json()
    assert (body["applicant_kind"], body["status"]) == ("employer", "in_review")
    assert agent_number not in intake.content.decode()
    assert body["agent_id_masked"].startswith(agent_number[:6])
