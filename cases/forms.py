from django import forms
from django.utils.translation import gettext_lazy as _

from front.forms import IdNumberField, NameField, PhoneNumberField


class CorrectionForm(forms.Form):
    """A returned case corrected at the counter: the ID number only when typed again."""

    applicant_name = NameField(label=_("Applicant's name"))
    id_number = IdNumberField(label=_("Applicant's ID number (only to change it)"), required=False)
    applicant_phone = PhoneNumberField(
        label=_("Mobile number for the result (optional)"), required=False
    )
    materials = forms.TypedMultipleChoiceField(
        label=_("Materials received"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, case, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "applicant_name": case.applicant_name,
                "applicant_phone": case.applicant_phone,
                "materials": [row["material_id"] for row in case.checklist if row["received"]],
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["materials"].choices = [
            (row["material_id"], row["name"]) for row in case.checklist
        ]

    def ticked(self) -> set[int]:
        values = self["materials"].value() or []
        return {int(value) for value in values if str(value).isdigit()}
