"""The 好差评 state machines: the only place a follow-up's or an appeal's status
changes."""

from django.utils.translation import gettext as _

from audit.states import StateTable, state_move
from langzhong_si.errors import StateConflict
from ratings.models import Appeal, FollowUp

FS = FollowUp.Status
AS = Appeal.Status

# Allowed moves and the audit event each records. A follow-up opens with its bad rating.
# The team lead's review either closes the handling or returns it for more
# rectification; an upheld citizen's appeal reopens a closed one (or returns a replied
# one); an upheld clerk's appeal annuls any unfinished one.
FOLLOW_UP_TRANSITIONS: StateTable = {
    FS.OPEN: {FS.VERIFIED: "follow_up.called_back", FS.ANNULLED: "follow_up.annulled"},
    FS.VERIFIED: {FS.REPLIED: "follow_up.replied", FS.ANNULLED: "follow_up.annulled"},
    FS.REPLIED: {
        FS.CLOSED: "follow_up.closed",
        FS.VERIFIED: "follow_up.returned",
        FS.ANNULLED: "follow_up.annulled",
    },
    FS.CLOSED: {FS.VERIFIED: "follow_up.reopened"},
    FS.ANNULLED: {},
}

APPEAL_TRANSITIONS: StateTable = {
    AS.PENDING: {AS.UPHELD: "appeal.upheld", AS.DISMISSED: "appeal.dismissed"},
    AS.UPHELD: {},
    AS.DISMISSED: {},
}


class RatingStateError(StateConflict):
    """A follow-up or appeal move the table does not allow (the API answers 409)."""


def _follow_up_refusal(source: str, target: str) -> RatingStateError:
    return RatingStateError(
        _("A follow-up that is %(source)s cannot become %(target)s.")
        % {"source": FS(source).label, "target": FS(target).label},
        code="follow_up_state",
    )


def _appeal_refusal(source: str, target: str) -> RatingStateError:
    return RatingStateError(
        _("This appeal has already been decided (%(source)s).") % {"source": AS(source).label},
        code="appeal_decided",
    )


def follow_up_transition(
    *, follow_up: FollowUp, to: str, actor, fields: tuple[str, ...] = (), data=None
) -> FollowUp:
    """Move `follow_up` to `to`, saving `fields` as well, and record the event. The
    caller holds the row lock and has already set the other fields."""
    state_move(
        obj=follow_up, field="status", table=FOLLOW_UP_TRANSITIONS, to=to, actor=actor,
        refusal=_follow_up_refusal, fields=fields, data=data,
    )  # fmt: skip
    return follow_up


def appeal_transition(
    *, appeal: Appeal, to: str, actor, fields: tuple[str, ...] = (), data=None
) -> Appeal:
    state_move(
        obj=appeal, field="status", table=APPEAL_TRANSITIONS, to=to, actor=actor,
        refusal=_appeal_refusal, fields=fields, data=data,
    )  # fmt: skip
    return appeal
