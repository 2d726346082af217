"""The working-day calendar: Chinese public holidays and adjusted working days
(the `chinesecalendar` package, which covers 2004 to its last published year;
beyond that, Monday to Friday until the State Council publishes the year)."""

import datetime

import chinese_calendar


def is_working_day(day: datetime.date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def working_days_after(start: datetime.date, days: int) -> datetime.date:
    """The date `days` working days after `start` (`start` itself if days is 0)."""
    current = start
    remaining = days
    while remaining > 0:
        current += datetime.timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current
