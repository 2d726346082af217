from django import forms
from django.utils.translation import gettext_lazy as _

from langzhong_si.text import COMMENT_MAX_LENGTH


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", _("Approve")), ("return", _("Return")), ("reject", _("Reject"))]
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=COMMENT_MAX_LENGTH, widget=forms.Textarea
    )
