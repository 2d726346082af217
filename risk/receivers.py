"""Changes to who can be drawn made in staff (an account (de)activated, the reviewer or
approver role granted or revoked), which cannot import risk: recorded here as
`pool.changed` with the pools before and after, and checked for a sudden shrink."""

from django.dispatch import receiver

from risk.selectors import pool_sizes
from risk.services import pool_change_record
from staff.signals import eligibility_changed, eligibility_changing

_BEFORE = "risk.pools_before"


@receiver(eligibility_changing, dispatch_uid="risk-pools-before")
def _pools_before(sender, state: dict, **kwargs) -> None:
    state[_BEFORE] = pool_sizes()


@receiver(eligibility_changed, dispatch_uid="risk-pools-after")
def _pools_after(sender, state: dict, actor, user, change: str, reason: str, **kwargs) -> None:
    pool_change_record(actor=actor, user=user, change=change, reason=reason, before=state[_BEFORE])
