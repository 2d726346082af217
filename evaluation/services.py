from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_event_record
from catalog.services import item_switch_off, item_switch_on
from evaluation.models import COMPONENTS, EvaluationWeights
from langzhong_si.text import REASON_MAX_LENGTH, text_clean
from sites.selectors import deployment_keeper_check
from staff.roles import Role
from staff.scope import scope_of
from staff.selectors import user_has_role


def evaluation_weights_set(*, lead, weights: dict[str, int], reason: str) -> EvaluationWeights:
    """The team lead sets the composite score's weights: whole numbers adding up to 100,
    with a reason. The previous weights stay on record. One set for the deployment
    (every agency's sheets are scored by it): kept by the hosting agency's team lead."""
    if not user_has_role(lead, Role.TEAM_LEAD):
        raise PermissionDenied(_("Only the team lead sets the evaluation weights."))
    deployment_keeper_check(lead)
    reason = text_clean(reason, field=_("Reason"), max_length=REASON_MAX_LENGTH)
    if not reason:
        raise ValidationError(_("Give the reason for the change."), code="reason")
    values = {}
    for name in COMPONENTS:
        try:
            values[name] = int(weights.get(name, ""))
        except (TypeError, ValueError) as error:
            raise ValidationError(_("Each weight is a whole number."), code="weight") from error
        if not 0 <= values[name] <= 100:
            raise ValidationError(_("Each weight is between 0 and 100."), code="weight")
    if sum(values.values()) != 100:
        raise ValidationError(
            _("The weights add up to %(total)d; they must add up to 100.")
            % {"total": sum(values.values())},
            code="sum",
        )
    with transaction.atomic(durable=True):
        row = EvaluationWeights.objects.create(
            **values, set_by=lead, set_at=timezone.now(), reason=reason
        )
        audit_event_record(
            event_type="evaluation.weights_set",
            actor=lead,
            obj=row,
            data={**values, "reason": reason},
        )
    return row


def agency_item_switch(*, lead, item_id: int, offered: bool, reason: str) -> None:
    """The team lead switches an item off for their agency (it does not handle it, e.g.
    medical insurance where a separate agency does) or back on, with a reason. Only for
    their own agency; the catalog's rules and audit events are catalog.services'."""
    scope = scope_of(lead)
    if not user_has_role(lead, Role.TEAM_LEAD) or scope.read_only or len(scope.agency_ids) != 1:
        raise PermissionDenied(_("Only the agency's team lead chooses the items it offers."))
    (agency_id,) = scope.agency_ids
    switch = item_switch_on if offered else item_switch_off
    switch(agency_id=agency_id, item_id=item_id, reason=reason, actor=lead)
