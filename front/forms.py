import secrets

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from counters.models import Case
from langzhong_si.identity import (
    CREDIT_CODE_INPUT_MAX_LENGTH,
    ID_NUMBER_INPUT_MAX_LENGTH,
    PHONE_INPUT_MAX_LENGTH,
    credit_code_validate,
    id_number_validate,
    phone_number_validate,
)
from langzhong_si.text import (
    NAME_MAX_LENGTH,
    PAUSE_REASON_MAX_LENGTH,
    name_clean,
)


class IdNumberField(forms.CharField):
    """The canonical number (langzhong_si.identity): full-width digits are the same
    number; other scripts' digits are refused."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", ID_NUMBER_INPUT_MAX_LENGTH)
        kwargs.setdefault("min_length", 0)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        return id_number_validate(value)


class PhoneNumberField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", PHONE_INPUT_MAX_LENGTH)
        super().__init__(**kwargs)

    def clean(self, value):
        return phone_number_validate(super().clean(value))


class NameField(forms.CharField):
    """A person's name: no control, zero-width or bidirectional formatting characters."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", NAME_MAX_LENGTH)
        super().__init__(**kwargs)

    def clean(self, value):
        return name_clean(super().clean(value), field=str(self.label or ""))


class KioskTicketForm(forms.Form):
    item = forms.IntegerField(required=False)
    consultation = forms.BooleanField(required=False)
    id_number = IdNumberField(label=_("ID number (optional)"), required=False)
    priority_request = forms.ChoiceField(
        choices=[
            ("", ""),
            ("disabled", pgettext_lazy("priority", "Disabled")),
            ("veteran", _("Veteran")),
        ],
        required=False,
    )

    def clean(self):
        data = super().clean()
        if not data.get("item") and not data.get("consultation"):
            raise ValidationError(_("Choose a service item or consultation."))
        return data


class IntakeForm(forms.Form):
    item = forms.IntegerField(widget=forms.HiddenInput)
    applicant_name = NameField(label=_("Applicant's name"))
    id_number = IdNumberField(label=_("Applicant's ID number"), required=True)
    applicant_phone = PhoneNumberField(
        label=_("Mobile number for the result (optional)"), required=False
    )
    defer_missing = forms.BooleanField(
        label=_("容缺受理: accept now, the citizen promises the missing non-key materials"),
        required=False,
    )
    materials = forms.TypedMultipleChoiceField(
        label=_("Materials received"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    # One token per form shown: the case it opens keeps it, so the same form submitted
    # again (F9 twice, a resent request) is answered with that case (cases.services).
    intake_token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    # --- Who applies (a block of its own): an employer (单位) and its handling person, an
    # agent (代办人) with the authorisation letter, the staff member who helped (帮办代办).
    applicant_kind = forms.ChoiceField(
        label=_("The applicant is"),
        choices=Case.ApplicantKind.choices,
        initial=Case.ApplicantKind.PERSON,
        required=False,
    )
    credit_code = forms.CharField(
        label=_("Unified social credit code"), max_length=CREDIT_CODE_INPUT_MAX_LENGTH,
        required=False,
    )  # fmt: skip
    employer_name = NameField(label=_("Employer's name"), max_length=128, required=False)
    via_agent = forms.BooleanField(label=_("Through an agent (代办人)"), required=False)
    agent_name = NameField(label=_("Agent's name"), required=False)
    agent_id_number = IdNumberField(label=_("Agent's ID number"), required=False)
    agent_relation = forms.ChoiceField(
        label=_("Relation to the applicant"),
        choices=[("", "—"), *Case.AgentRelation.choices],
        required=False,
    )
    authorisation_received = forms.BooleanField(
        label=_("Authorisation letter (授权委托书) and the agent's ID card received"),
        required=False,
    )
    assisted = forms.BooleanField(
        label=_("帮办代办: a hall staff member helped the citizen"), required=False
    )
    assisting_staff = forms.TypedChoiceField(
        label=_("Staff member who helped"), coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args, materials=(), item=None, staff=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["materials"].choices = [(m.pk, m.name) for m in materials]
        self.takes_employer = bool(item is not None and item.takes_employer)
        self.fields["assisting_staff"].choices = [("", "—")] + [
            (user.pk, user.staff_profile.display_name) for user in staff
        ]
        if not self.is_bound:
            self.initial.setdefault("intake_token", secrets.token_urlsafe(24))

    def clean(self):
        data = super().clean()
        if data.get("applicant_kind") == Case.ApplicantKind.EMPLOYER:
            if not self.takes_employer:
                self.add_error(
                    "applicant_kind",
                    _("This item is for persons only: an employer cannot apply for it."),
                )
            try:
                data["credit_code"] = credit_code_validate(data.get("credit_code", ""))
            except ValidationError as error:
                self.add_error("credit_code", error)
            if not data.get("employer_name"):
                self.add_error("employer_name", _("Enter the employer's name."))
        if data.get("via_agent"):
            for field, message in (
                ("agent_name", _("Enter the agent's name.")),
                ("agent_id_number", _("Enter the agent's ID number.")),
                ("agent_relation", _("Choose the agent's relation to the applicant.")),
            ):
                if not data.get(field) and field not in self.errors:
                    self.add_error(field, message)
        if data.get("assisted") and not data.get("assisting_staff"):
            self.add_error(
                "assisting_staff", _("Choose the hall staff member who helped the citizen.")
            )
        return data

    def ticked(self) -> set[int]:
        """The material ids ticked, as typed (for showing a refused form again)."""
        values = self["materials"].value() or []
        return {int(value) for value in values if str(value).isdigit()}


class PauseForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=PAUSE_REASON_MAX_LENGTH)
