"""Nobody steers a draw: resubmission only after a return, superseded tasks can never be
decided, a resubmitted step goes back to the person who decided it, and a colluding
clerk using every lever the API gives reaches a chosen reviewer no more often than
chance allows."""

import math

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from audit.bulk import bulk_writes_allowed
from audit.models import AuditEvent
from cases import services as case_services
from cases.transitions import CASE_TRANSITIONS, CaseStateError, case_transition
from counters import services as counter_services
from counters.models import Case, Window
from draws.models import Draw
from inbox import services as inbox_services
from risk.models import ReviewTask
from risk.transitions import (
    REVIEW_TASK_TRANSITIONS,
    ReviewTaskStateError,
    review_task_transition,
)
from staff.models import StaffProfile
from staff.roles import Role
from tests.factories import ItemFactory, MaterialFactory, make_id_number, make_staff, sign_in
from tests.risk.test_draws import fixed_seed  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

T = ReviewTask.Status


def _serve_and_submit(hall, capture, *, item=None, material=None):
    """li_na serves the next ticket and submits a complete case; its draw has run."""
    item = item or hall.item
    material = material or hall.material
    if not Window.objects.filter(pk=hall.window.pk, clerk=hall.li_na).exists():
        counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    counter_services.window_declare_ready(clerk=hall.li_na)
    counter_services.ticket_issue(item=item)
    with capture(execute=True):
        case = case_services.case_accept(
            clerk=hall.li_na,
            item_id=item.pk,
            applicant_name="王大山",
            id_number=make_id_number(),
            received_material_ids={material.pk},
        )
    counter_services.ticket_finish(clerk=hall.li_na)
    return case


def _open_task(case) -> ReviewTask:
    return case.tasks.get(status__in=ReviewTask.OPEN_STATES)


def _decide(task, decision, capture, comment="请补正"):
    with capture(execute=True):
        return inbox_services.review_task_decide(
            task_id=task.pk, actor=task.assignee, decision=decision, comment=comment
        )


def _clerk_api(user) -> APIClient:
    api = APIClient()
    sign_in(api, user)
    return api


# --- Resubmission only after a return ---------------------------------------------------


def test_a_case_in_review_cannot_be_resubmitted_through_the_api(
    hall, django_capture_on_commit_callbacks
):
    case = _serve_and_submit(hall, django_capture_on_commit_callbacks)
    draws_before = Draw.objects.count()
    response = _clerk_api(hall.li_na).post(f"/api/counter/cases/{case.pk}/resubmit/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_returned"
    case.refresh_from_db()
    assert (case.status, case.review_round, case.tasks.count()) == (Case.Status.IN_REVIEW, 1, 1)
    assert Draw.objects.count() == draws_before


def test_a_case_in_review_cannot_be_resubmitted_from_the_screen(
    hall, client, django_capture_on_commit_callbacks
):
    case = _serve_and_submit(hall, django_capture_on_commit_callbacks)
    sign_in(client, hall.li_na)
    response = client.post(f"/counter/cases/{case.pk}/resubmit/", follow=True)
    assert "补正" in response.content.decode() or response.status_code in (400, 409)
    case.refresh_from_db()
    assert (case.status, case.review_round, case.tasks.count()) == (Case.Status.IN_REVIEW, 1, 1)


def test_a_returned_case_is_resubmitted_once_per_return(hall, django_capture_on_commit_callbacks):
    case = _serve_and_submit(hall, django_capture_on_commit_callbacks)
    _decide(_open_task(case), "return", django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_resubmit(clerk=hall.li_na, case_id=case.pk)
    with pytest.raises(CaseStateError) as refused:
        case_services.case_resubmit(clerk=hall.li_na, case_id=case.pk)
    assert refused.value.code == "not_returned"
    case.refresh_from_db()
    assert (case.review_round, case.tasks.count()) == (2, 2)


def test_a_resubmitted_step_goes_back_to_the_person_who_returned_it(
    hall, django_capture_on_commit_callbacks
):
    other = make_staff(Role.REVIEWER, review_level=3)
    case = _serve_and_submit(hall, django_capture_on_commit_callbacks)
    first = _open_task(case)
    _decide(first, "return", django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_resubmit(clerk=hall.li_na, case_id=case.pk)
    again = _open_task(case)
    assert again.review_round == 2 and again.assignee_id == first.assignee_id
    assert again.draw.pool == [first.assignee_id]
    assert {"user": other.pk, "reason": "continuity"} in again.draw.excluded or (
        first.assignee_id == other.pk
    )


def test_a_resubmitted_step_is_drawn_afresh_when_its_previous_holder_is_away(
    hall, django_capture_on_commit_callbacks
):
    other = make_staff(Role.REVIEWER, review_level=3)
    case = _serve_and_submit(hall, django_capture_on_commit_callbacks)
    first = _open_task(case)
    _decide(first, "return", django_capture_on_commit_callbacks)
    # Crafting the scenario directly in the database, past the services.
    with bulk_writes_allowed():
        StaffProfile.objects.filter(user_id=first.assignee_id).update(availability="on_leave")
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_resubmit(clerk=hall.li_na, case_id=case.pk)
    again = _open_task(case)
    remaining = {hall.zhou.pk, other.pk} - {first.assignee_id}
    assert again.assignee_id in remaining
    assert {"user": first.assignee_id, "reason": "on_leave"} in again.draw.excluded


# --- Superseded tasks ------------------------------------------------------------------


def _returned_case_with_a_stale_open_task(hall, capture):
    """A returned case that still has an open round-1 task, as the resubmission hole
    left them before this release (crafted directly in the database)."""
    case = _serve_and_submit(hall, capture)
    task = _open_task(case)
    _decide(task, "return", capture)
    with bulk_writes_allowed():
        stale = ReviewTask.objects.create(
            case=case, review_round=1, step=1, attempt=2, role="review",
            status=T.OPEN, assignee=hall.zhou, assigned_at=timezone.now(),
            due_at=timezone.now() + timezone.timedelta(hours=4),
        )  # fmt: skip
    return case, stale


def test_opening_a_new_round_supersedes_every_open_task_of_earlier_rounds(
    hall, django_capture_on_commit_callbacks
):
    case, stale = _returned_case_with_a_stale_open_task(hall, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_resubmit(clerk=hall.li_na, case_id=case.pk)
    stale.refresh_from_db()
    assert stale.status == T.SUPERSEDED
    assert AuditEvent.objects.filter(
        event_type="review_task.superseded", object_id=str(stale.pk), actor=hall.li_na
    ).exists()


def test_a_decision_on_a_superseded_task_is_refused_with_409(
    hall, django_capture_on_commit_callbacks
):
    case, stale = _returned_case_with_a_stale_open_task(hall, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_resubmit(clerk=hall.li_na, case_id=case.pk)
    api = APIClient()
    sign_in(api, hall.zhou)
    response = api.post(
        f"/api/inbox/tasks/{stale.pk}/decision/", {"decision": "approve"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "task_superseded"
    case.refresh_from_db()
    assert (case.status, case.review_round, case.current_step) == (Case.Status.IN_REVIEW, 2, 1)


def test_a_task_that_is_not_the_current_step_cannot_be_decided(
    hall, django_capture_on_commit_callbacks
):
    case = _serve_and_submit(hall, django_capture_on_commit_callbacks)
    task = _open_task(case)
    # Crafting the scenario directly in the database, past the services.
    with bulk_writes_allowed():
        Case.objects.filter(pk=case.pk).update(review_round=5)
    with pytest.raises(ReviewTaskStateError) as refused:
        inbox_services.review_task_decide(task_id=task.pk, actor=task.assignee, decision="approve")
    assert refused.value.code == "task_superseded"
    task.refresh_from_db()
    assert task.status == T.OPEN


def test_the_database_allows_one_open_task_per_case(hall, django_capture_on_commit_callbacks):
    case = _serve_and_submit(hall, django_capture_on_commit_callbacks)
    with pytest.raises(IntegrityError), transaction.atomic(), bulk_writes_allowed():
        ReviewTask.objects.create(case=case, review_round=2, step=2, role="approval")


# --- The declared tables ---------------------------------------------------------------


def _task_in(status: str, hall, capture) -> ReviewTask:
    case = _serve_and_submit(hall, capture)
    task = case.tasks.get()
    with bulk_writes_allowed():
        ReviewTask.objects.filter(pk=task.pk).update(status=status)
    task.refresh_from_db()
    return task


ALLOWED = [
    (source, target) for source, moves in REVIEW_TASK_TRANSITIONS.items() for target in moves
]
REFUSED = [
    (source, target)
    for source in REVIEW_TASK_TRANSITIONS
    for target in REVIEW_TASK_TRANSITIONS
    if target not in REVIEW_TASK_TRANSITIONS[source]
]


@pytest.mark.parametrize(("source", "target"), ALLOWED)
def test_every_allowed_review_task_move_is_recorded(
    source, target, hall, django_capture_on_commit_callbacks
):
    task = _task_in(source, hall, django_capture_on_commit_callbacks)
    with transaction.atomic():
        review_task_transition(task=task, to=target, actor=None)
    task.refresh_from_db()
    assert task.status == target
    event = AuditEvent.objects.filter(object_id=str(task.pk)).latest("id")
    assert event.event_type == REVIEW_TASK_TRANSITIONS[source][target]
    assert (event.data["from"], event.data["to"]) == (source, target)


@pytest.mark.parametrize(("source", "target"), REFUSED[::3])
def test_a_review_task_move_outside_the_table_is_refused_and_changes_nothing(
    source, target, hall, django_capture_on_commit_callbacks
):
    task = _task_in(source, hall, django_capture_on_commit_callbacks)
    events = AuditEvent.objects.count()
    with pytest.raises(ReviewTaskStateError), transaction.atomic():
        review_task_transition(task=task, to=target, actor=None)
    task.refresh_from_db()
    assert task.status == source and AuditEvent.objects.count() == events


def test_a_case_in_review_has_no_move_back_into_review():
    assert Case.Status.IN_REVIEW not in CASE_TRANSITIONS[Case.Status.IN_REVIEW]


def test_moving_a_case_in_review_into_review_is_refused(hall, django_capture_on_commit_callbacks):
    case = _serve_and_submit(hall, django_capture_on_commit_callbacks)
    with pytest.raises(CaseStateError), transaction.atomic():
        case_transition(case=case, to=Case.Status.IN_REVIEW, actor=hall.li_na)
    case.refresh_from_db()
    assert case.status == Case.Status.IN_REVIEW


# --- Collusion ------------------------------------------------------------------------


def test_a_colluding_clerk_reaches_a_chosen_reviewer_no_more_often_than_chance(
    hall,
    django_capture_on_commit_callbacks,
    fixed_seed,  # noqa: F811
):
    """A clerk who wants every case judged by one friendly reviewer uses every lever
    the API gives a clerk: resubmitting while in review, pausing, signing off and on,
    and deliberately deficient cases to get them returned and resubmitted. Over many
    cases the friend is drawn no more often than 1/k allows."""
    capture = django_capture_on_commit_callbacks
    item = ItemFactory(risk_level=1)
    material = MaterialFactory(item=item, name="居民身份证")
    reviewers = [hall.zhou] + [make_staff(Role.REVIEWER, review_level=3) for _ in range(3)]
    friend = reviewers[-1]
    api = _clerk_api(hall.li_na)
    cases, reached = 60, 0
    for _ in range(cases):
        case = _serve_and_submit(hall, capture, item=item, material=material)
        for _attempt in range(3):
            task = _open_task(case)
            if task.assignee_id == friend.pk:
                break
            # Every lever at hand: each is refused or leaves the draw alone.
            assert api.post(f"/api/counter/cases/{case.pk}/resubmit/").status_code == 409
            api.post("/api/counter/pause/", {"reason": "break"}, format="json")
            api.post("/api/counter/sign-off/")
            api.post("/api/counter/sign-on/", {"window": hall.window.pk}, format="json")
            # The honest reviewer returns the deliberately deficient case.
            _decide(task, "return", capture)
            with capture(execute=True):
                assert api.post(f"/api/counter/cases/{case.pk}/resubmit/").status_code == 200
        reached += case.tasks.filter(assignee=friend).exists()
    k = len(reviewers)
    bound = cases / k + 4 * math.sqrt(cases * (1 / k) * (1 - 1 / k))
    assert reached <= bound, f"the friend held {reached} of {cases} cases (chance: {cases / k})"


def test_a_task_still_awaiting_its_draw_is_superseded_by_a_new_round(
    hall, django_capture_on_commit_callbacks
):
    case = _serve_and_submit(hall, django_capture_on_commit_callbacks)
    _decide(_open_task(case), "return", django_capture_on_commit_callbacks)
    with bulk_writes_allowed():
        waiting = ReviewTask.objects.create(
            case=case, review_round=1, step=2, role="approval", status=T.AWAITING_DRAW
        )
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_resubmit(clerk=hall.li_na, case_id=case.pk)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.assignee) == (T.SUPERSEDED, None)
