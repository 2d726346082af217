"""The chain advance: the drawn person's decision moves the case (approve to the next
step or to approved, return to the clerk, reject), and a return or a rejection reaches
the clerks and window leads who must act on it."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditEvent
from audit.services import audit_event_record
from cases.transitions import case_step_advance, case_transition
from counters.models import Case
from inbox import selectors as inbox_selectors
from inbox.notices import case_sms_queue
from langzhong_si.batch import audit_writes_batched
from langzhong_si.compiled import CompiledRead
from langzhong_si.text import COMMENT_MAX_LENGTH, text_clean
from risk.models import ReviewTask
from risk.services import case_chain, review_step_open
from risk.transitions import ReviewTaskStateError, review_task_transition
from staff.services import notification_send


class Decision:
    APPROVE = "approve"
    RETURN = "return"
    REJECT = "reject"
    ALL = (APPROVE, RETURN, REJECT)


# The task's row and its case's, locked in one statement (task first, as before);
# compiled once (a decision runs it twice a case).
_TASK_LOCKED = CompiledRead(
    lambda task_id: (
        ReviewTask.objects.select_for_update(of=("self", "case"))
        .select_related("case__item")
        .filter(pk=task_id)
    )
)


def review_task_decide(*, task_id: int, actor, decision: str, comment: str = "") -> ReviewTask:
    """Record the drawn person's decision and move the case along its chain.

    Only the drawn person, only while the task is open, only once: superusers are
    not exempt. Returning or rejecting needs a reason.
    """
    if decision not in Decision.ALL:
        raise ValidationError(_("Unknown decision."), code="decision")
    comment = text_clean(comment, field=_("Comment"), max_length=COMMENT_MAX_LENGTH)
    if decision != Decision.APPROVE and not comment:
        raise ValidationError(_("Give the reason for returning or rejecting."), code="reason")
    with transaction.atomic(durable=True), audit_writes_batched():
        task = _TASK_LOCKED.first(task_id)
        if task is None:
            raise ReviewTask.DoesNotExist(task_id)
        if task.assignee_id != actor.pk:
            refused = task
        else:
            refused = None
            _review_task_apply_decision(task=task, actor=actor, decision=decision, comment=comment)
    if refused is not None:
        # Recorded in its own transaction: the refusal itself must not roll back.
        with transaction.atomic(durable=True):
            audit_event_record(
                event_type="review_task.decision_refused",
                actor=actor,
                obj=refused,
                outcome=AuditEvent.Outcome.REFUSED,
                data={"decision": decision},
            )
        raise PermissionDenied(_("Only the person drawn for this task may decide it."))
    return task


def _review_task_apply_decision(*, task: ReviewTask, actor, decision: str, comment: str) -> None:
    if task.status == ReviewTask.Status.SUPERSEDED:
        raise ReviewTaskStateError(
            _("This task was superseded when the case was resubmitted; it can no longer be "
              "decided."),
            code="task_superseded",
        )  # fmt: skip
    if task.status != ReviewTask.Status.OPEN:
        raise ReviewTaskStateError(_("This task has already been decided."), code="task_closed")
    case = task.case  # locked with the task (review_task_decide)
    if (
        case.status != Case.Status.IN_REVIEW
        or task.review_round != case.review_round
        or task.step != case.current_step
    ):
        # Defence in depth: the one-open-task constraint already rules this out.
        raise ReviewTaskStateError(
            _("This task is not the case's current step; it can no longer be decided."),
            code="task_superseded",
        )
    task.comment = comment
    task.decided_at = timezone.now()
    review_task_transition(
        task=task,
        to={
            Decision.APPROVE: ReviewTask.Status.APPROVED,
            Decision.RETURN: ReviewTask.Status.RETURNED,
            Decision.REJECT: ReviewTask.Status.REJECTED,
        }[decision],
        actor=actor,
        fields=("comment", "decided_at"),
        data={"decision": decision, "comment": comment},
    )
    if decision == Decision.APPROVE:
        _case_after_approval(case=case, task=task, actor=actor)
    elif decision == Decision.RETURN:
        case_transition(case=case, to=Case.Status.RETURNED, actor=actor)
        _case_decision_notify(case=case, task=task, decision=decision, reason=comment)
    else:
        case.finished_at = task.decided_at
        case_transition(case=case, to=Case.Status.REJECTED, actor=actor, fields=("finished_at",))
        case_sms_queue(
            case=case,
            event="rejected",
            text=_("Your application %(number)s (%(item)s) was not approved: %(reason)s")
            % {"number": case.number, "item": case.item.name, "reason": comment},
        )
        _case_decision_notify(case=case, task=task, decision=decision, reason=comment)


def _case_decision_notify(*, case: Case, task: ReviewTask, decision: str, reason: str) -> None:
    """A return or a rejection reaches the handling clerk (and the clerk who last
    resubmitted it) and the window leads of the zone it was accepted in, in the decision's
    own transaction. Blind: the notice names the case and the reason, never who decided."""
    if decision == Decision.RETURN:
        text = _("Case %(number)s (%(item)s) was returned for correction: %(reason)s")
    else:
        text = _("Case %(number)s (%(item)s) was rejected: %(reason)s")
    message = text % {"number": case.number, "item": case.item.name, "reason": reason}
    link = reverse("cases:case_detail", args=[case.pk])
    for recipient in inbox_selectors.case_decision_recipients(case=case):
        notification_send(
            recipient=recipient,
            message=message,
            link=link,
            dedupe_key=f"case-{decision}:{task.pk}:{recipient.pk}",
        )


def _case_after_approval(*, case: Case, task: ReviewTask, actor) -> None:
    if task.step < len(case_chain(case)):
        case_step_advance(case=case, actor=actor)
        review_step_open(case=case, step=case.current_step)
        return
    case.finished_at = task.decided_at
    case_transition(case=case, to=Case.Status.APPROVED, actor=actor, fields=("finished_at",))
    case_sms_queue(
        case=case,
        event="approved",
        text=_("Your application %(number)s (%(item)s) has been approved.")
        % {"number": case.number, "item": case.item.name},
    )
