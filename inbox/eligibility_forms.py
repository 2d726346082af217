from django import forms
from django.utils.translation import gettext_lazy as _

from risk.models import StaffRelative


class _PasswordForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class _IdNumberInput(forms.TextInput):
    def __init__(self):
        super().__init__(attrs={"autocomplete": "off", "spellcheck": "false", "maxlength": 32})


class OwnIdForm(_PasswordForm):
    id_number = forms.CharField(label=_("Your ID number"), max_length=32, widget=_IdNumberInput())
    field_order = ["id_number", "password"]


class RelativeAddForm(_PasswordForm):
    relation = forms.ChoiceField(label=_("Relation"), choices=StaffRelative.Relation.choices)
    id_number = forms.CharField(
        label=_("Relative's ID number"), max_length=32, widget=_IdNumberInput()
    )
    field_order = ["relation", "id_number", "password"]


class RelativeRemoveForm(_PasswordForm):
    relative = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), max_length=100)


class ConfirmForm(_PasswordForm):
    pass
