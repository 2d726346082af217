from django import forms
from django.utils.translation import gettext_lazy as _

from appointments.models import BOOKING_CODE_LENGTH
from counters.models import Queue
from front.forms import IdNumberField, PhoneNumberField


class BookingForm(forms.Form):
    """A queue, a slot and the citizen's ID number and mobile number: nothing here (or
    anywhere in this app) chooses a clerk or a window."""

    queue = forms.ChoiceField(label=_("Queue"), choices=Queue.choices)
    slot = forms.DateTimeField(label=_("Time"))
    id_number = IdNumberField(label=_("ID number"))
    phone = PhoneNumberField(label=_("Mobile number (for the booking code)"))


class CancelForm(forms.Form):
    code = forms.RegexField(
        label=_("Booking code"), regex=r"^\d{8}$", max_length=BOOKING_CODE_LENGTH, strip=True
    )
    id_number = IdNumberField(label=_("ID number"))


class CheckInForm(forms.Form):
    """The booking code from the keypad, or the ID number (typed, or read from the ID
    card by the kiosk's device bridge, which posts it here)."""

    code = forms.RegexField(
        label=_("Booking code"), regex=r"^\d{8}$", max_length=BOOKING_CODE_LENGTH,
        strip=True, required=False,
    )  # fmt: skip
    id_number = IdNumberField(label=_("ID number"), required=False)

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("code") and not data.get("id_number"):
            raise forms.ValidationError(_("Enter your booking code."))
        return data


class CapacityForm(forms.Form):
    queue = forms.ChoiceField(label=_("Queue"), choices=Queue.choices)
    day = forms.DateField(label=_("Day"))
    per_slot = forms.IntegerField(label=_("Bookings per slot"), min_value=0, max_value=500)
