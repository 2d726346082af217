"""Every free-text field has a maximum length: a huge text is refused with a
clear 400 on every API surface that takes one, and nothing changes; the screens refuse
it through the same service checks."""

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent, Finding
from cases import services as case_services
from counters import services
from counters.models import Case, Ticket, Window
from devices.models import HallDevice
from evaluation.models import EvaluationWeights
from ratings import services as rating_services
from ratings.models import FollowUp, Rating
from risk.models import ReviewTask
from scans import services as scan_services
from staff.roles import Role
from tests.factories import make_id_number, make_staff, registered_device, sign_in

pytestmark = pytest.mark.django_db

HUGE = "长" * 100_000


@pytest.fixture
def world(hall, django_capture_on_commit_callbacks, settings, time_passes):
    """A case in review (zhou drawn), a finished ticket rated badly (its follow-up open),
    a finished ticket not yet rated, a no-show, a finding, and li_na's window free."""
    clerk = hall.li_na
    services.window_sign_on(clerk=clerk, window_id=hall.window.pk)
    services.window_declare_ready(clerk=clerk)
    rated = services.ticket_issue(item=hall.item)
    with django_capture_on_commit_callbacks(execute=True):
        case = case_services.case_accept(
            clerk=clerk,
            item_id=hall.item.pk,
            applicant_name="王大山",
            id_number=make_id_number(),
            received_material_ids={hall.material.pk},
        )
    services.ticket_finish(clerk=clerk)
    rating = rating_services.rating_submit(
        ticket_id=rated.pk, level=1, reason="太慢", window=hall.window
    )
    services.window_declare_ready(clerk=clerk)
    unrated = services.ticket_issue(item=hall.item)
    services.ticket_finish(clerk=clerk)
    services.window_declare_ready(clerk=clerk)
    absent = services.ticket_issue(item=hall.item)
    for _call in range(2):  # called again before a no-show
        services.ticket_recall(clerk=clerk)
    time_passes(seconds=settings.NO_SHOW_MIN_WAIT_SECONDS)
    services.ticket_no_show(clerk=clerk)
    services.window_declare_ready(clerk=clerk)
    finding = Finding.objects.create(rule="sample", severity="low", case=case, dedupe_key="t:1")
    return {
        "hall": hall,
        "case": case,
        "task": case.tasks.get(),
        "unrated": Ticket.objects.get(pk=unrated.pk),
        "absent": absent,
        "follow_up": FollowUp.objects.get(rating=rating),
        "finding": finding,
        "window_lead": make_staff(Role.WINDOW_LEAD, window_team=hall.window.zone),
        "team_lead": make_staff(Role.TEAM_LEAD),
        "auditor": make_staff(Role.AUDITOR),
    }


def _serving(world):
    services.ticket_issue(item=world["hall"].item)  # handed to the ready clerk at once
    return world["hall"].li_na


def _state(world) -> tuple:
    """Everything the requests below could change."""
    task, follow_up, finding = (
        ReviewTask.objects.get(pk=world["task"].pk),
        FollowUp.objects.get(pk=world["follow_up"].pk),
        Finding.objects.get(pk=world["finding"].pk),
    )
    window = Window.objects.get(pk=world["hall"].window.pk)
    return (
        Case.objects.count(),
        Rating.objects.count(),
        EvaluationWeights.objects.count(),
        AuditEvent.objects.filter(event_type="personal_data.id_revealed").count(),
        (window.state, window.pause_reason),
        Ticket.objects.get(pk=world["absent"].pk).status,
        (task.status, task.comment),
        (follow_up.callback_at, follow_up.callback_note, follow_up.reply),
        (finding.result, finding.comment),
    )


WEIGHTS = {"volume": 20, "speed": 20, "on_time": 20, "satisfaction": 20, "quality": 10,
           "audit": 10}  # fmt: skip

SURFACES = {
    "pause reason": lambda w: (
        w["hall"].li_na, "/api/counter/pause/", {"reason": HUGE}),
    "applicant name": lambda w: (
        _serving(w), "/api/counter/intake/",
        {"item": w["hall"].item.pk, "applicant_name": HUGE, "id_number": make_id_number(),
         "received_material_ids": [w["hall"].material.pk]}),
    "reveal reason": lambda w: (
        w["hall"].li_na, f"/api/cases/{w['case'].pk}/reveal-id/", {"reason": HUGE}),
    "re-queue reason": lambda w: (
        w["window_lead"], f"/api/lead/tickets/{w['absent'].pk}/requeue/", {"reason": HUGE}),
    "rating reason": lambda w: (
        None, f"/api/tickets/{w['unrated'].public_token}/rating/", {"level": 1, "reason": HUGE}),
    "follow-up callback note": lambda w: (
        w["team_lead"], f"/api/lead/follow-ups/{w['follow_up'].pk}/", {"callback_note": HUGE}),
    "follow-up reply": lambda w: (
        w["team_lead"], f"/api/lead/follow-ups/{w['follow_up'].pk}/", {"reply": HUGE}),
    "return comment": lambda w: (
        w["hall"].zhou, f"/api/inbox/tasks/{w['task'].pk}/decision/",
        {"decision": "return", "comment": HUGE}),
    "evaluation weights reason": lambda w: (
        w["team_lead"], "/api/evaluation/weights/", {**WEIGHTS, "reason": HUGE}),
    "inspection comment": lambda w: (
        w["auditor"], f"/api/audit/findings/{w['finding'].pk}/inspection/",
        {"result": "no_issue", "comment": HUGE}),
}  # fmt: skip


@pytest.mark.parametrize("surface", SURFACES)
def test_a_huge_text_is_refused_with_a_400_and_changes_nothing(world, surface):
    actor, path, body = SURFACES[surface](world)
    assert world["task"].assignee == world["hall"].zhou
    before = _state(world)
    api = APIClient()
    if actor is not None:
        sign_in(api, actor)
    response = api.post(path, body, format="json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["code"] == "invalid"
    assert _state(world) == before


# The service layer refuses the same texts for the screens (and any other caller).
SERVICES = {
    "pause reason": lambda w: services.window_pause(clerk=w["hall"].li_na, reason=HUGE),
    "reveal reason": lambda w: scan_services.case_id_number_reveal(
        case=w["case"], viewer=w["hall"].li_na, reason=HUGE),
    "re-queue reason": lambda w: services.ticket_requeue(
        ticket_id=w["absent"].pk, lead=w["window_lead"], reason=HUGE),
    "rating reason": lambda w: rating_services.rating_submit(
        ticket_id=w["unrated"].pk, level=1, reason=HUGE),
    "follow-up reply": lambda w: rating_services.follow_up_record(
        follow_up_id=w["follow_up"].pk, lead=w["team_lead"], reply=HUGE),
}  # fmt: skip


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_refuses_a_huge_text_before_anything_changes(world, service):
    from django.core.exceptions import ValidationError

    before = _state(world)
    with pytest.raises(ValidationError) as refused:
        SERVICES[service](world)
    assert refused.value.code == "too_long"
    assert _state(world) == before


def test_the_decision_screen_shows_a_form_error_for_a_huge_comment(world, client):
    sign_in(client, world["hall"].zhou)
    before = _state(world)
    response = client.post(
        f"/inbox/tasks/{world['task'].pk}/decide/", {"decision": "return", "comment": HUGE}
    )
    page = response.content.decode()
    assert response.status_code == 400 and 'data-testid="comment-error"' in page
    assert "100000" in page.split('data-testid="comment-error"')[1].split("</div>")[0]
    assert _state(world) == before


def test_the_follow_up_screen_refuses_a_huge_note_and_says_why(world, client):
    sign_in(client, world["team_lead"])
    before = _state(world)
    response = client.post(
        "/lead/follow-ups/",
        {"follow_up": world["follow_up"].pk, "callback_note": HUGE},
        follow=True,
    )
    assert any("2000" in str(message) for message in response.context["messages"])
    assert _state(world) == before


def test_a_hall_device_token_alone_cannot_bypass_the_limit(world):
    _kiosk, credential = registered_device(HallDevice.Kind.KIOSK, name="k")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Device {credential}")
    response = api.post(
        "/api/kiosk/tickets/",
        {"item": world["hall"].item.pk, "id_number": "1" * 100_000},
        format="json",
    )
    assert response.status_code == 400


def test_a_pool_change_reason_longer_than_the_row_history_holds_is_refused_not_cut(hall):
    from django.core.exceptions import ValidationError

    from risk import services as risk_services
    from staff.models import StaffProfile

    lead = make_staff(Role.TEAM_LEAD)
    with pytest.raises(ValidationError) as refused:
        risk_services.availability_set(
            user=hall.zhou, availability="paused", reason="因" * 101, actor=lead
        )
    assert refused.value.code == "too_long"
    assert StaffProfile.objects.get(user=hall.zhou).availability != "paused"
