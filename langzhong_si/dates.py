"""Dates and months as people type them: one accepted range for every screen, form and
API parameter, so an absurd date (9999-12-31, 0001-01) is refused with a message (a 400
in the API) instead of overflowing a calculation further on.

The range starts well before the agency's first records (the seed figures are from
2018) and ends a year ahead: leave and qualification periods are planned in advance,
nothing is planned further."""

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

EARLIEST_DATE = datetime.date(2000, 1, 1)
# Days after today still accepted (leave, qualification validity, report periods).
LATEST_DAYS_AHEAD = 366


def date_latest() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=LATEST_DAYS_AHEAD)


def _out_of_range() -> ValidationError:
    return ValidationError(
        _("Dates from %(first)s to %(last)s are accepted.")
        % {"first": f"{EARLIEST_DATE:%Y-%m-%d}", "last": f"{date_latest():%Y-%m-%d}"},
        code="date_range",
    )


def date_in_range(day: datetime.date) -> datetime.date:
    """The day itself, or a ValidationError (code date_range) outside the accepted range."""
    if not EARLIEST_DATE <= day <= date_latest():
        raise _out_of_range()
    return day


def date_parse(value: str) -> datetime.date:
    """A date typed as YYYY-MM-DD, within the accepted range."""
    try:
        day = datetime.date.fromisoformat(value.strip())
    except (AttributeError, ValueError) as error:
        raise ValidationError(_("Dates are written as YYYY-MM-DD."), code="date") from error
    return date_in_range(day)


def month_first_parse(value: str) -> datetime.date:
    """The first day of a month typed as YYYY-MM, within the accepted range."""
    try:
        year, month = (int(part) for part in value.strip().split("-"))
        first = datetime.date(year, month, 1)
    except (AttributeError, ValueError) as error:
        raise ValidationError(_("A month is written as YYYY-MM."), code="month") from error
    if not EARLIEST_DATE <= first <= date_latest():
        raise _out_of_range()
    return first


def date_range_validator(value: datetime.date | None) -> None:
    """For form and serializer fields: blank passes, any date must be in range."""
    if value is not None:
        date_in_range(value)
