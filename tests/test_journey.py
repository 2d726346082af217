"""The walking skeleton through HTTP: kiosk → random clerk → intake of a level-2 case →
drawn reviewer → drawn approver → approved. Background draws run inline after commit."""

import re

import pytest
from django.urls import reverse

from counters.models import Case, Ticket
from draws.models import Draw
from risk.models import ReviewTask
from tests.factories import hall_case_accept, make_id_number, sign_in

pytestmark = pytest.mark.django_db


def _client_for(client_factory, user):
    client = client_factory()
    sign_in(client, user)
    return client


def test_a_level_2_case_walks_from_kiosk_to_approval(
    hall, client, django_capture_on_commit_callbacks, register_device
):
    from django.test import Client

    kiosk = Client()
    register_device(kiosk, "kiosk")
    clerk = _client_for(Client, hall.li_na)

    clerk.post(reverse("counters:sign_on"), {"window": hall.window.pk})
    clerk.post(reverse("counters:ready"))

    response = kiosk.post(reverse("counters:kiosk"), {"item": hall.item.pk})
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert ticket.display_number == "A001"
    # The only ready clerk was drawn; the draw is recorded with its pool.
    assert ticket.clerk == hall.li_na
    assert Draw.objects.get(purpose=Draw.Purpose.TICKET_DISPATCH).pool == [hall.li_na.pk]

    page = clerk.get(reverse("counters:workbench"))
    assert "A001" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = clerk.post(
            reverse("cases:intake"),
            {
                "item": hall.item.pk,
                "applicant_name": "王大山",
                "id_number": make_id_number(),
                "materials": [hall.material.pk],
            },
        )
    case = Case.objects.get()
    assert response.status_code == 302
    assert case.status == Case.Status.IN_REVIEW

    review = ReviewTask.objects.get(step=1)
    # Only zhou holds a level ≥ 2 review qualification (sun stops at level 1).
    assert review.assignee == hall.zhou
    reviewer = _client_for(Client, hall.zhou)
    page = reviewer.get(reverse("cases:task_detail", args=[review.pk])).content.decode()
    assert case.number in page
    for clue in ("李娜", hall.li_na.username, hall.li_na.staff_profile.employee_number):
        assert clue not in page, f"the reviewer must not see who handled the case ({clue})"
    assert re.search(r"#[0-9A-F]{4}", page), "the handler appears as a pseudonym"

    with django_capture_on_commit_callbacks(execute=True):
        reviewer.post(reverse("cases:task_decide", args=[review.pk]), {"decision": "approve"})
    approval = ReviewTask.objects.get(step=2)
    # zhou already acted on this case, so only ma is left for the approval.
    assert approval.assignee == hall.ma

    approver = _client_for(Client, hall.ma)
    with django_capture_on_commit_callbacks(execute=True):
        approver.post(reverse("cases:task_decide", args=[approval.pk]), {"decision": "approve"})

    case.refresh_from_db()
    assert case.status == Case.Status.APPROVED
    assert case.history.count() >= 3, "every change of the case is in its row history"


def test_the_clerk_sees_under_review_but_not_who_was_drawn(
    hall, client, django_capture_on_commit_callbacks
):
    from counters import services

    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    services.ticket_issue(item=hall.item)
    with django_capture_on_commit_callbacks(execute=True):
        case = hall_case_accept(hall)
    sign_in(client, hall.li_na)
    page = client.get(reverse("cases:case_detail", args=[case.pk])).content.decode()
    assert "周建国" not in page and hall.zhou.username not in page


def test_a_reviewer_cannot_open_a_task_drawn_for_someone_else(
    hall, client, django_capture_on_commit_callbacks
):
    from counters import services

    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    services.ticket_issue(item=hall.item)
    with django_capture_on_commit_callbacks(execute=True):
        hall_case_accept(hall)
    task = ReviewTask.objects.get()
    sign_in(client, hall.sun)
    assert client.get(reverse("cases:task_detail", args=[task.pk])).status_code == 404
    response = client.post(reverse("cases:task_decide", args=[task.pk]), {"decision": "approve"})
    assert response.status_code == 404
    task.refresh_from_db()
    assert task.status == ReviewTask.Status.OPEN
