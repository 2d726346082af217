"""Date ranges for reports and evaluation: inclusive local dates, queried as a half-open
range of aware datetimes so the database can use its indexes."""

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from langzhong_si.dates import date_parse, month_first_parse

# A report over more than this many days is refused (it would be a bulk export).
MAX_PERIOD_DAYS = 400


@dataclass(frozen=True)
class Period:
    first: datetime.date
    last: datetime.date

    @property
    def start(self) -> datetime.datetime:
        return _local_midnight(self.first)

    @property
    def end(self) -> datetime.datetime:
        """The first moment after the period."""
        return _local_midnight(self.last + datetime.timedelta(days=1))

    @property
    def days(self) -> list[datetime.date]:
        count = (self.last - self.first).days + 1
        return [self.first + datetime.timedelta(days=n) for n in range(count)]

    def __str__(self) -> str:
        return f"{self.first:%Y-%m-%d} – {self.last:%Y-%m-%d}"


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def period_parse(first: str | None, last: str | None, *, default: "Period") -> Period:
    """A period from two ISO dates (either may be blank: the default's is used)."""
    first_day = date_parse(first) if first else default.first
    last_day = date_parse(last) if last else default.last
    if last_day < first_day:
        raise ValidationError(_("The period ends before it starts."), code="order")
    if (last_day - first_day).days >= MAX_PERIOD_DAYS:
        raise ValidationError(
            _("A report covers at most %(days)d days.") % {"days": MAX_PERIOD_DAYS},
            code="too_long",
        )
    return Period(first_day, last_day)


def month_of(day: datetime.date) -> Period:
    first = day.replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return Period(first, following - datetime.timedelta(days=1))


def month_parse(value: str | None, *, default: datetime.date) -> Period:
    """A calendar month from 'YYYY-MM'."""
    if not value:
        return month_of(default)
    return month_of(month_first_parse(value))
