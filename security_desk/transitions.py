"""The sign-in code's state machine: the only place its status changes. Each move's
event is the service's own (issued, entered, refused), recorded with the person."""

from django.utils import timezone
from django.utils.translation import gettext as _

from audit.states import StateTable, state_move
from langzhong_si.errors import StateConflict
from security_desk.models import SignInCode

S = SignInCode.Status
SIGN_IN_CODE_TRANSITIONS: StateTable = {
    S.OPEN: {S.USED: None, S.REPLACED: None, S.REFUSED: None},
    S.USED: {},
    S.REPLACED: {},
    S.REFUSED: {},
}


def _refuse(source: str, target: str) -> StateConflict:
    return StateConflict(_("This sign-in code has ended."), code="sign_in_code_state")


def sign_in_code_transition(*, code: SignInCode, to: str, actor, fields=()) -> None:
    """End the open `code` (its row locked by the caller), saving `fields` as well."""
    code.ended_at = timezone.now()
    state_move(
        obj=code, field="status", table=SIGN_IN_CODE_TRANSITIONS, to=to, actor=actor,
        refusal=_refuse, fields=("ended_at", *fields),
    )  # fmt: skip
