"""The case state machine: the only place a case's status changes."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from audit.services import audit_event_record
from counters.models import Case
from outbox.services import outbox_enqueue
from risk.models import ReviewTask

S = Case.Status

# Allowed moves. A case is created directly in its first state by intake.
CASE_TRANSITIONS: dict[str, set[str]] = {
    S.IN_REVIEW: {S.IN_REVIEW, S.APPROVED, S.RETURNED, S.REJECTED},
    S.RETURNED: {S.IN_REVIEW},
    S.AWAITING_MATERIALS: {S.FINISHED, S.FORWARDED, S.IN_REVIEW, S.ENDED_UNSUPPLIED},
    S.ENDED_UNSUPPLIED: set(),
    S.NOTIFIED: set(),
    S.FINISHED: set(),
    S.APPROVED: set(),
    S.REJECTED: set(),
    S.FORWARDED: set(),
}
INITIAL_STATES = {S.NOTIFIED, S.AWAITING_MATERIALS, S.FINISHED, S.IN_REVIEW, S.FORWARDED}


class CaseStateError(ValidationError):
    pass


def case_transition(
    *, case: Case, to: str, actor, fields: tuple[str, ...] = (), data: dict | None = None
) -> Case:
    """Move `case` to state `to`, saving `fields` as well, and record the event.

    The caller holds the case row lock and has already set the other fields.
    """
    source = case.status
    if to not in CASE_TRANSITIONS[source] or (to == S.APPROVED and not _chain_complete(case)):
        raise CaseStateError(
            _("A case that is %(source)s cannot become %(target)s.")
            % {"source": S(source).label, "target": S(to).label},
            code="case_state",
        )
    case.status = to
    case.save(update_fields=["status", *fields])
    audit_event_record(
        event_type="case.status_changed",
        actor=actor,
        obj=case,
        data={"from": source, "to": to, "step": case.current_step, **(data or {})},
    )
    case_audit_schedule(case)
    return case


FINISHED_STATES = {S.FINISHED, S.APPROVED, S.REJECTED, S.FORWARDED}


def case_audit_schedule(case: Case) -> None:
    """Continuous audit: every finished case is checked by the rules, after commit."""
    if case.status in FINISHED_STATES:
        outbox_enqueue(
            task_name="audit.tasks.case_audit",
            kwargs={"case_id": case.pk},
            dedupe_key=f"case-audit:{case.pk}",
        )


def _chain_complete(case: Case) -> bool:
    """Every step the case's risk level requires was approved in the current round."""
    approved = set(
        ReviewTask.objects.filter(
            case=case, review_round=case.review_round, status=ReviewTask.Status.APPROVED
        ).values_list("step", flat=True)
    )
    return bool(case.review_chain) and approved == set(range(1, len(case.review_chain) + 1))
