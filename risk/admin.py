from django.contrib import admin
from django.core.exceptions import ValidationError

from audit.admin_mixins import ReasonAdmin, ReasonForm
from risk.models import ItemRiskPolicy, LeavePeriod, Qualification, RiskPolicy
from risk.services import (
    eligibility_record_save,
    leave_record,
    qualification_grant,
    risk_policy_validate,
)


class EligibilityAdmin(ReasonAdmin):
    """Qualifications and leave decide who can be drawn: every edit goes through the
    services that check the editor's right, ask the reason and record the pools."""

    def record_save(self, *, instance, reason, actor):
        eligibility_record_save(instance=instance, reason=reason, actor=actor)

    def has_delete_permission(self, request, obj=None):
        # A deletion would change the pool without a reason: a qualification is ended and
        # leave is shortened instead, by an edit of its dates (eligibility_record_save).
        return False


class PolicyForm(ReasonForm):
    def clean(self):
        data = super().clean()
        policy = self.instance
        for name in ("steps", "level", "item"):
            if name in data:
                setattr(policy, name, data[name])
        try:
            risk_policy_validate(policy)
        except ValidationError as error:
            self.add_error("steps", error)
        return data


@admin.register(RiskPolicy)
class RiskPolicyAdmin(ReasonAdmin):
    form = PolicyForm
    list_display = ["level", "steps", "step_hours"]


@admin.register(ItemRiskPolicy)
class ItemRiskPolicyAdmin(ReasonAdmin):
    form = PolicyForm
    list_display = ["item", "steps", "step_hours"]
    autocomplete_fields = ["item"]


@admin.register(Qualification)
class QualificationAdmin(EligibilityAdmin):
    list_display = ["user", "kind", "level", "valid_from", "valid_to", "granted_by", "revoked_at"]
    list_filter = ["kind", "level"]
    fields = ["user", "kind", "level", "valid_from", "valid_to", "reason", "change_reason"]

    def record_save(self, *, instance, reason, actor):
        if instance.pk is None:
            # New grants go through the service: no self-grants, only team lead or
            # security administrator, audited, and awaiting draws retried.
            qualification_grant(
                user=instance.user,
                kind=instance.kind,
                level=instance.level,
                valid_from=instance.valid_from,
                valid_to=instance.valid_to,
                reason=instance.reason or reason,
                granted_by=actor,
            )
        else:
            super().record_save(instance=instance, reason=reason, actor=actor)


@admin.register(LeavePeriod)
class LeavePeriodAdmin(EligibilityAdmin):
    list_display = ["user", "start", "end", "reason"]

    def record_save(self, *, instance, reason, actor):
        if instance.pk is None:
            leave_record(
                user=instance.user,
                start=instance.start,
                end=instance.end,
                reason=instance.reason or reason,
                recorded_by=actor,
            )
        else:
            super().record_save(instance=instance, reason=reason, actor=actor)
