from django import forms


class BundleDayForm(forms.Form):
    day = forms.DateField(input_formats=["%Y-%m-%d"])
