from django import forms

from langzhong_si.dates import date_range_validator


class BundleDayForm(forms.Form):
    day = forms.DateField(input_formats=["%Y-%m-%d"], validators=[date_range_validator])
