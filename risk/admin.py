from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import ReasonAdmin, ReasonForm
from risk.models import ItemRiskPolicy, LeavePeriod, Qualification, RiskPolicy, StepRole
from risk.services import (
    eligibility_record_save,
    leave_record,
    qualification_grant,
    risk_policy_save,
    risk_policy_validate,
)
from staff.scope import admin_people_scoped, admin_scoped


class EligibilityAdmin(ReasonAdmin):
    """Qualifications and leave decide who can be drawn: every edit goes through the
    services that check the editor's right, ask the reason and record the pools."""

    def record_save(self, *, instance, reason, actor):
        eligibility_record_save(instance=instance, reason=reason, actor=actor)

    def get_queryset(self, request):
        # The people of the viewer's own agency only (their qualifications, their leave).
        return admin_people_scoped(
            super().get_queryset(request), request.user, sites="user__staff_profile__sites"
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = admin_people_scoped(
                db_field.remote_field.model.objects.all(),
                request.user,
                sites="staff_profile__sites",
            )
        elif db_field.name == "site":
            kwargs["queryset"] = admin_scoped(
                db_field.remote_field.model.objects.all(), request.user, site="pk"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        # A deletion would change the pool without a reason: a qualification is ended and
        # leave is shortened instead, by an edit of its dates (eligibility_record_save).
        return False


# A step's time limit, in office hours (08:30-12:00, 14:00-17:30 on working days): one
# working week at most; the database requires at least one.
STEP_HOURS_MAX = 35
_STEP_NAMES = ("step_1", "step_2", "step_3")


def _interpolated(text, values: dict):
    """`text % values` translated when shown, not when this module is imported."""
    return lazy(lambda: str(text) % values, str)()


def _step_field(number: int) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_interpolated(_("Step %(number)d after the clerk"), {"number": number}),
        choices=[("", _("— none —")), *StepRole.choices],
        required=False,
    )


class PolicyForm(ReasonForm):
    """The chain as up to three steps chosen in order from the roles (not typed as
    JSON), and each step's limit in office hours. Saved through the admin's audited save
    (a reason, row history and a record.edited event), checked by the risk service."""

    step_1 = _step_field(1)
    step_2 = _step_field(2)
    step_3 = _step_field(3)
    step_hours = forms.IntegerField(
        label=_("Time limit per step (office hours)"),
        min_value=1,
        max_value=STEP_HOURS_MAX,
        help_text=_interpolated(
            _(
                "Office hours are 08:30–12:00 and 14:00–17:30 on working days; "
                "%(most)d hours are one working week."
            ),
            {"most": STEP_HOURS_MAX},
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        steps = list(self.instance.steps or []) if self.instance.pk else []
        for name, role in zip(_STEP_NAMES, steps, strict=False):
            self.fields[name].initial = role

    def _chosen_steps(self) -> list[str] | None:
        chosen = [self.cleaned_data.get(name, "") for name in _STEP_NAMES]
        steps = [role for role in chosen if role]
        if chosen[: len(steps)] != steps:
            self.add_error(
                _STEP_NAMES[chosen.index("")],
                _(
                    "Fill the steps in order, without a gap: this step is empty but a later "
                    "one is not."
                ),
            )
            return None
        return steps

    def clean(self):
        data = super().clean()
        steps = self._chosen_steps()
        if steps is None:
            return data
        policy = self.instance
        policy.steps = steps
        for name in ("level", "item"):
            if name in data:
                setattr(policy, name, data[name])
        if isinstance(policy, ItemRiskPolicy) and policy.item_id is None:
            return data  # the item's own error is shown
        try:
            risk_policy_validate(policy)
        except ValidationError as error:
            if error.code == "chain_shape":
                error = ValidationError(
                    _(
                        "The steps go in this order: review, then approval, then second "
                        "approval. Stop after any of them."
                    )
                )
            self.add_error("step_1", error)
        return data


class RiskPolicyForm(PolicyForm):
    level = forms.TypedChoiceField(
        label=_("risk level"), choices=[(level, level) for level in range(4)], coerce=int
    )


def _chain(policy) -> str:
    return " → ".join(str(StepRole(role).label) for role in policy.steps) or str(_("none"))


class PolicyAdmin(ReasonAdmin):
    def record_save(self, *, instance, reason, actor):
        risk_policy_save(policy=instance, reason=reason, actor=actor)

    @admin.display(description=_("steps after the clerk"))
    def chain(self, policy):
        return _chain(policy)


@admin.register(RiskPolicy)
class RiskPolicyAdmin(PolicyAdmin):
    form = RiskPolicyForm
    fields = [
        "level",
        *_STEP_NAMES,
        "step_hours",
        "review_scope",
        "approval_scope",
        "change_reason",
    ]
    list_display = ["level", "chain", "step_hours", "review_scope", "approval_scope"]


@admin.register(ItemRiskPolicy)
class ItemRiskPolicyAdmin(PolicyAdmin):
    form = PolicyForm
    fields = ["item", *_STEP_NAMES, "step_hours", "review_scope", "approval_scope", "change_reason"]
    list_display = ["item", "chain", "step_hours", "review_scope", "approval_scope"]
    autocomplete_fields = ["item"]


@admin.register(Qualification)
class QualificationAdmin(EligibilityAdmin):
    list_display = ["user", "kind", "level", "valid_from", "valid_to", "granted_by", "revoked_at"]
    list_filter = ["kind", "level"]
    fields = ["user", "kind", "level", "site", "valid_from", "valid_to", "reason", "change_reason"]

    def record_save(self, *, instance, reason, actor):
        if instance.pk is None:
            # New grants go through the service: no self-grants, only team lead or
            # security administrator, audited, and awaiting draws retried.
            qualification_grant(
                user=instance.user,
                kind=instance.kind,
                level=instance.level,
                site=instance.site,
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
