"""The review task state machine: the only place a task's status changes."""

from django.utils.translation import gettext as _

from audit.services import audit_event_record
from langzhong_si.errors import StateConflict
from risk.models import ReviewTask

T = ReviewTask.Status

# Allowed moves, and the audit event each records. A task is created awaiting its draw.
REVIEW_TASK_TRANSITIONS: dict[str, dict[str, str]] = {
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


def review_task_transition(
    *, task: ReviewTask, to: str, actor, fields: tuple[str, ...] = (), data: dict | None = None
) -> ReviewTask:
    """Move `task` to `to`, saving `fields` as well, and record the event.

    The caller holds the task row lock and has already set the other fields.
    """
    source = task.status
    event_type = REVIEW_TASK_TRANSITIONS[source].get(to)
    if event_type is None:
        code = "task_superseded" if source == T.SUPERSEDED else "task_closed"
        raise ReviewTaskStateError(
            _("A task that is %(source)s cannot become %(target)s.")
            % {"source": T(source).label, "target": T(to).label},
            code=code,
        )
    task.status = to
    task.save(update_fields=["status", *fields])
    audit_event_record(
        event_type=event_type,
        actor=actor,
        obj=task,
        data={"case": task.case_id, "round": task.review_round, "step": task.step,
              "from": source, "to": to, **(data or {})},
    )  # fmt: skip
    return task
