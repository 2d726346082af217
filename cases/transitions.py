"""The case state machine: the only place a case's status changes. (The Case record
itself stays in counters, so its table, history and audit labels never move.)"""

from django.db import connection
from django.utils.translation import gettext as _

from audit.findings import CASE_AUDIT_TASK, CASE_AUDITS_DRAIN_TASK
from audit.services import audit_event_record
from audit.states import StateTable, state_move
from counters.models import Case
from langzhong_si.batch import batched_fields_save
from langzhong_si.errors import StateConflict
from langzhong_si.prepared import prepared_execute
from outbox.services import outbox_enqueue
from risk.models import ReviewTask

S = Case.Status

# Allowed moves. A case is created directly in one of INITIAL_STATES by intake. Moving
# from one step of the chain to the next is not a status change (case_step_advance);
# in particular nothing leads from "in review" back into "in review", so a case under
# review can never be resubmitted (which would re-draw its reviewer).
_CHANGED = "case.status_changed"
CASE_TRANSITIONS: StateTable = {
    S.IN_REVIEW: {S.APPROVED: _CHANGED, S.RETURNED: _CHANGED, S.REJECTED: _CHANGED},
    S.RETURNED: {S.IN_REVIEW: _CHANGED},
    S.AWAITING_MATERIALS: {
        S.FINISHED: _CHANGED,
        S.FORWARDED: _CHANGED,
        S.IN_REVIEW: _CHANGED,
        S.ENDED_UNSUPPLIED: _CHANGED,
    },
    S.ENDED_UNSUPPLIED: {},
    S.NOTIFIED: {},
    S.FINISHED: {},
    S.APPROVED: {},
    S.REJECTED: {},
    S.FORWARDED: {},
}
INITIAL_STATES = {S.NOTIFIED, S.AWAITING_MATERIALS, S.FINISHED, S.IN_REVIEW, S.FORWARDED}


class CaseStateError(StateConflict):
    """A move the table does not allow (the API answers 409)."""


def _refuse(source: str, target: str) -> CaseStateError:
    return CaseStateError(
        _("A case that is %(source)s cannot become %(target)s.")
        % {"source": S(source).label, "target": S(target).label},
        code="case_state",
    )


def case_initial_check(status: str) -> None:
    """Intake creates a case directly in its first state: only these are allowed."""
    if status not in INITIAL_STATES:
        raise CaseStateError(
            _("A case cannot start as %(status)s.") % {"status": S(status).label},
            code="case_state",
        )


def case_transition(
    *, case: Case, to: str, actor, fields: tuple[str, ...] = (), data: dict | None = None
) -> Case:
    """Move `case` to state `to`, saving `fields` as well, and record the event.

    The caller holds the case row lock and has already set the other fields.
    """
    if to == S.APPROVED and not _chain_complete(case):
        raise _refuse(case.status, to)
    state_move(
        obj=case, field="status", table=CASE_TRANSITIONS, to=to, actor=actor, refusal=_refuse,
        fields=fields, data={"step": case.current_step, **(data or {})},
    )  # fmt: skip
    case_audit_schedule(case)
    return case


def case_step_advance(*, case: Case, actor) -> Case:
    """The current step was approved and another follows: the case stays in review at
    the next step. The caller holds the case row lock."""
    if case.status != S.IN_REVIEW or not 1 <= case.current_step < len(case.review_chain):
        raise _refuse(case.status, S.IN_REVIEW)
    case.current_step += 1
    batched_fields_save(case, ["current_step"])
    audit_event_record(
        event_type="case.step_advanced",
        actor=actor,
        obj=case,
        data={"step": case.current_step, "round": case.review_round},
    )
    return case


FINISHED_STATES = {S.FINISHED, S.APPROVED, S.REJECTED, S.FORWARDED}


def case_audit_schedule(case: Case) -> None:
    """Continuous audit: every finished case is checked by the rules, after commit, with
    the other cases finished at that moment (the drain's one transaction)."""
    if case.status in FINISHED_STATES:
        outbox_enqueue(
            task_name=CASE_AUDIT_TASK,
            kwargs={"case_id": case.pk},
            dedupe_key=f"case-audit:{case.pk}",
            drain=CASE_AUDITS_DRAIN_TASK,
        )


def _chain_complete(case: Case) -> bool:
    """Every step the case's risk level requires was approved in the current round."""
    if not case.review_chain:
        return False
    with connection.cursor() as cursor:
        prepared_execute(
            connection, cursor, "cases_approved_steps", _APPROVED_STEPS,
            [case.pk, case.review_round],
        )  # fmt: skip
        approved = {step for (step,) in cursor.fetchall()}
    return approved == set(range(1, len(case.review_chain) + 1))


# Read on every decision of a chain's last step: one statement, prepared per session on
# PostgreSQL (langzhong_si.prepared).
_APPROVED_STEPS = (
    f"SELECT step FROM {ReviewTask._meta.db_table} "  # noqa: S608 - the model's own table
    f"WHERE case_id = %s AND review_round = %s AND status = '{ReviewTask.Status.APPROVED}'"
)
