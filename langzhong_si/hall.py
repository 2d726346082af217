"""The hall's address, telephone and opening hours as papers and guides print them: one
place, so every page says the same thing."""

import datetime

from django.conf import settings
from django.utils.translation import gettext as _

# The hours until settings carry the hall's own (HALL_HOURS: the kiosk's opening hours,
# sessions of (opens, closes) on working days); then those are printed.
_DEFAULT_SESSIONS = (
    (datetime.time(8, 30), datetime.time(12, 0)),
    (datetime.time(14, 0), datetime.time(17, 30)),
)


def hall_sessions() -> tuple:
    return tuple(getattr(settings, "HALL_HOURS", None) or _DEFAULT_SESSIONS)


def hall_hours_text() -> str:
    """E.g. "工作日 08:30–12:00, 14:00–17:30" (working days of the hall's calendar)."""
    sessions = ", ".join(f"{opens:%H:%M}–{closes:%H:%M}" for opens, closes in hall_sessions())
    return _("Working days %(sessions)s") % {"sessions": sessions}


def hall_contact() -> dict:
    return {
        "address": settings.HALL_ADDRESS,
        "phone": settings.HALL_PHONE,
        "hours": hall_hours_text(),
    }
