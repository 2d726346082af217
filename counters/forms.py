from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from langzhong_si.identity import id_number_validate


class IdNumberField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 18)
        kwargs.setdefault("min_length", 0)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        return id_number_validate(value)


class KioskTicketForm(forms.Form):
    item = forms.IntegerField(required=False)
    consultation = forms.BooleanField(required=False)
    id_number = IdNumberField(label=_("ID number (optional)"), required=False)
    priority_request = forms.ChoiceField(
        choices=[("", ""), ("disabled", _("Disabled")), ("veteran", _("Veteran"))], required=False
    )

    def clean(self):
        data = super().clean()
        if not data.get("item") and not data.get("consultation"):
            raise ValidationError(_("Choose a service item or consultation."))
        return data


class IntakeForm(forms.Form):
    item = forms.IntegerField(widget=forms.HiddenInput)
    applicant_name = forms.CharField(label=_("Applicant's name"), max_length=64)
    id_number = IdNumberField(label=_("Applicant's ID number"), required=True)
    applicant_phone = forms.RegexField(
        label=_("Mobile number for the result (optional)"),
        regex=r"^1\d{10}$",
        required=False,
        error_messages={"invalid": _("A mobile number has 11 digits and starts with 1.")},
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

    def __init__(self, *args, materials=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["materials"].choices = [(m.pk, m.name) for m in materials]


class PauseForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=64)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", _("Approve")), ("return", _("Return")), ("reject", _("Reject"))]
    )
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea)
