"""A review step's task: drawn and written once, open with its person, where the draw
takes its key (PostgreSQL); elsewhere written awaiting its draw, then drawn. Either
way the chain's rules hold and the move is recorded."""

import pytest
from django.db import connection

from audit.models import AuditEvent
from draws.models import Draw
from inbox import services as inbox_services
from risk.models import ReviewTask
from tests.risk.test_chain_rules import _submit

pytestmark = pytest.mark.django_db


def _step(case, step: int) -> ReviewTask:
    return ReviewTask.objects.select_related("draw").get(case=case, step=step)


def test_the_person_who_decided_a_step_is_left_out_of_the_next_ones_draw(
    hall, django_capture_on_commit_callbacks
):
    case = _submit(hall, django_capture_on_commit_callbacks)
    review = _step(case, 1)
    assert review.assignee == hall.zhou  # the only reviewer qualified for level 2
    inbox_services.review_task_decide(task_id=review.pk, actor=hall.zhou, decision="approve")
    approval = _step(case, 2)
    assert approval.assignee == hall.ma
    assert {"user": hall.zhou.pk, "reason": "in_chain"} in approval.draw.excluded


def test_a_drawn_steps_task_is_open_with_its_person_and_its_move_recorded(
    hall, django_capture_on_commit_callbacks
):
    case = _submit(hall, django_capture_on_commit_callbacks)
    task = _step(case, 1)
    assert (task.status, task.assignee, task.draw.subject) == (
        ReviewTask.Status.OPEN,
        hall.zhou,
        f"review-task:{task.pk}",
    )
    assert task.draw.number == 1
    (assigned,) = AuditEvent.objects.filter(
        event_type="review_task.assigned", object_id=str(task.pk)
    )
    assert (assigned.data["from"], assigned.data["to"], assigned.data["draw"]) == (
        ReviewTask.Status.AWAITING_DRAW,
        ReviewTask.Status.OPEN,
        task.draw.pk,
    )
    # Its versions: written once where the draw took its key, else inserted then moved.
    versions = list(task.history.order_by("history_id").values_list("history_type", "status"))
    if connection.vendor == "postgresql":
        assert versions == [("+", ReviewTask.Status.OPEN)]
    else:
        assert versions == [("+", ReviewTask.Status.AWAITING_DRAW), ("~", ReviewTask.Status.OPEN)]
    # Stamped when it was made, before its draw; its version carries that time.
    assert task.created_at <= task.assigned_at
    assert task.history.earliest("history_id").created_at == task.created_at


def test_a_step_with_nobody_eligible_waits_for_its_draw(hall, django_capture_on_commit_callbacks):
    from audit.bulk import bulk_writes_allowed
    from risk.models import Qualification

    # Crafting the scenario directly in the database, past the services.
    with bulk_writes_allowed():
        Qualification.objects.filter(user=hall.zhou, kind=Qualification.Kind.REVIEW).delete()
    case = _submit(hall, django_capture_on_commit_callbacks)
    task = _step(case, 1)
    assert (task.status, task.assignee, task.draw) == (ReviewTask.Status.AWAITING_DRAW, None, None)
    assert not Draw.objects.filter(subject=f"review-task:{task.pk}").exists()


def test_a_record_written_already_moved_must_start_where_its_model_starts(hall):
    from audit.states import state_move
    from risk.transitions import REVIEW_TASK_TRANSITIONS, ReviewTaskStateError, _refusal

    task = ReviewTask(status=ReviewTask.Status.OPEN, review_round=1, step=1, role="review")
    with pytest.raises(ReviewTaskStateError):
        state_move(
            obj=task, field="status", table=REVIEW_TASK_TRANSITIONS,
            to=ReviewTask.Status.APPROVED, actor=None, refusal=_refusal, created=True,
        )  # fmt: skip
    assert not ReviewTask.objects.exists()
