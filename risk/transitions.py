"""The review task state machine: the only place a task's status changes."""

from django.utils.translation import gettext as _

from audit.states import StateTable, state_move
from langzhong_si.errors import StateConflict
from risk.models import ReviewTask

T = ReviewTask.Status

# Allowed moves, and the audit event each records. A task is created awaiting its draw.
REVIEW_TASK_TRANSITIONS: StateTable = {
    T.AWAITING_DRAW: {T.OPEN: "review_task.assigned", T.SUPERSEDED: "review_task.superseded"},
    T.OPEN: {
        T.APPROVED: "review_task.decided",
        T.RETURNED: "review_task.decided",
        T.REJECTED: "review_task.decided",
        T.EXPIRED: "review_task.expired",
        T.SUPERSEDED: "review_task.superseded",
    },
    T.APPROVED: {},
    T.RETURNED: {},
    T.REJECTED: {},
    T.EXPIRED: {},
    T.SUPERSEDED: {},
}


class ReviewTaskStateError(StateConflict):
    """A move the table does not allow (the API answers 409)."""


def _refusal(source: str, target: str) -> ReviewTaskStateError:
    return ReviewTaskStateError(
        _("A task that is %(source)s cannot become %(target)s.")
        % {"source": T(source).label, "target": T(target).label},
        code="task_superseded" if source == T.SUPERSEDED else "task_closed",
    )


def review_task_transition(
    *, task: ReviewTask, to: str, actor, fields: tuple = (), data: dict | None = None, created=False
) -> ReviewTask:
    """Move `task` to `to`, saving `fields` as well, and record the event.

    The caller holds the task row lock and has already set the other fields.
    `created`: a new task drawn before it was written (its key taken with its draw),
    written once, already moved (audit.states.state_move).
    """
    state_move(
        obj=task, field="status", table=REVIEW_TASK_TRANSITIONS, to=to, actor=actor,
        refusal=_refusal, fields=fields, created=created,
        data={"case": task.case_id, "round": task.review_round, "step": task.step,
              **(data or {})},
    )  # fmt: skip
    return task
