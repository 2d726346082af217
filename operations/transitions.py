"""The destruction decision's state machine: the only place its status changes."""

from django.utils.translation import gettext as _

from audit.states import StateTable, state_move
from langzhong_si.errors import StateConflict
from operations.events import (
    DESTRUCTION_APPROVED,
    DESTRUCTION_DECLINED,
    DESTRUCTION_WITHDRAWN,
)
from operations.models import DestructionDecision

D = DestructionDecision.Status

# A decision is created proposed (operations.services.destruction_propose records it).
DESTRUCTION_TRANSITIONS: StateTable = {
    D.PROPOSED: {
        D.DESTROYED: DESTRUCTION_APPROVED,
        D.DECLINED: DESTRUCTION_DECLINED,
        D.WITHDRAWN: DESTRUCTION_WITHDRAWN,  # by the proposer, before the second person
    },
    D.DESTROYED: {},
    D.DECLINED: {},
    D.WITHDRAWN: {},
}


class DestructionStateError(StateConflict):
    """A move the table does not allow."""


def _refusal(source: str, target: str) -> DestructionStateError:
    return DestructionStateError(
        _("A decision that is %(source)s cannot become %(target)s.")
        % {"source": D(source).label, "target": D(target).label},
        code="decision_closed",
    )


def destruction_transition(
    *, decision: DestructionDecision, to: str, actor, fields: tuple[str, ...], data: dict
) -> None:
    """Move `decision` to `to`; the caller holds its row lock and set the other fields."""
    state_move(
        obj=decision, field="status", table=DESTRUCTION_TRANSITIONS, to=to, actor=actor,
        refusal=_refusal, fields=fields, data=data,
    )  # fmt: skip
