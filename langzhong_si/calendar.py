"""The working-day calendar: Chinese public holidays and adjusted working days
(the `chinesecalendar` package, which covers 2004 to its last published year;
beyond that, Monday to Friday until the State Council publishes the year)."""

import datetime
import functools

import chinese_calendar


@functools.lru_cache(maxsize=4096)
def is_working_day(day: datetime.date) -> bool:
    """Whether `day` is a working day (the package's calendar; Monday to Friday beyond
    it). Remembered per date: the package's look-up spans its whole table each time,
    about 20 µs, and a review task's due time walks the calendar session by session."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


@functools.lru_cache(maxsize=512)
def working_days_after(start: datetime.date, days: int) -> datetime.date:
    """The date `days` working days after `start` (`start` itself if days is 0). The
    calendar is the installed package's: remembered per date and count (every intake asks
    for its item's promised days, a walk through the calendar a day at a time)."""
    current = start
    remaining = days
    while remaining > 0:
        current += datetime.timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


# The hall's office hours on a working day (local time): morning and afternoon sessions.
OFFICE_SESSIONS = [
    (datetime.time(8, 30), datetime.time(12, 0)),
    (datetime.time(14, 0), datetime.time(17, 30)),
]


def working_hours_after(start: datetime.datetime, hours: float) -> datetime.datetime:
    """The moment `hours` office hours after `start` (timezone-aware, local sessions),
    skipping nights, lunch breaks, weekends and public holidays."""
    tz = start.tzinfo
    remaining = datetime.timedelta(hours=hours)
    moment = start
    while True:
        day = moment.date()
        if is_working_day(day):
            for opens, closes in OFFICE_SESSIONS:
                session_start = datetime.datetime.combine(day, opens, tzinfo=tz)
                session_end = datetime.datetime.combine(day, closes, tzinfo=tz)
                if moment >= session_end:
                    continue
                begin = max(moment, session_start)
                available = session_end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
                moment = session_end
        moment = datetime.datetime.combine(
            day + datetime.timedelta(days=1), datetime.time(0), tzinfo=tz
        )


def hall_is_open(moment: datetime.datetime, sessions) -> bool:
    """Whether the hall is open at `moment` (timezone-aware, local): a working day of the
    calendar and within one of `sessions` (settings.HALL_HOURS)."""
    if not is_working_day(moment.date()):
        return False
    return any(opens <= moment.time() < closes for opens, closes in sessions)


def hall_next_opening(moment: datetime.datetime, sessions) -> datetime.datetime:
    """The next moment after `moment` at which the hall opens (the start of a session on
    a working day): after lunch the same day, tomorrow morning, or after a holiday."""
    tz = moment.tzinfo
    day = moment.date()
    for _ in range(60):  # the longest Chinese holiday with its weekends is well under this
        if is_working_day(day):
            for opens, _closes in sessions:
                start = datetime.datetime.combine(day, opens, tzinfo=tz)
                if start > moment:
                    return start
        day += datetime.timedelta(days=1)
    raise ValueError("no working day in the next 60 days")
