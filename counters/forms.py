import secrets

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from langzhong_si.identity import (
    ID_NUMBER_INPUT_MAX_LENGTH,
    PHONE_INPUT_MAX_LENGTH,
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

    def __init__(self, *args, materials=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["materials"].choices = [(m.pk, m.name) for m in materials]
        if not self.is_bound:
            self.initial.setdefault("intake_token", secrets.token_urlsafe(24))

    def ticked(self) -> set[int]:
        """The material ids ticked, as typed (for showing a refused form again)."""
        values = self["materials"].value() or []
        return {int(value) for value in values if str(value).isdigit()}


class PauseForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=PAUSE_REASON_MAX_LENGTH)
