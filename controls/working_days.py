"""Dutch working days: Monday to Friday, except the Dutch public holidays of the `holidays` package.

A period "within N working days" of a moment counts the working days after the day it happened
(in Amsterdam time) up to and including the day it ended: a request made on Friday evening and
answered on Monday took one working day, and the N-th working day after the creation day is
the last day allowed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MAX_SPAN_DAYS = 366 * 50
"""Longer spans are not counted day by day (a tracker time decades off is counted up to this)."""


@cache
def _dutch_holidays() -> holidays.HolidayBase:
    return holidays.country_holidays("NL")


def is_working_day(day: date) -> bool:
    """Return True for a Monday to Friday that is no Dutch public holiday."""
    return day.weekday() < 5 and day not in _dutch_holidays()


def local_date(when: datetime) -> date:
    """Return the date in the Netherlands of an aware time."""
    return when.astimezone(AMSTERDAM).date()


def working_days_between(start: date, end: date) -> int:
    """Return the number of working days after `start` up to and including `end` (0 when end <= start)."""
    count = 0
    day = start
    last = min(end, start + timedelta(days=MAX_SPAN_DAYS))
    while day < last:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count


def working_day_deadline(start: date, days: int) -> date:
    """Return the `days`-th working day after `start`: the last day on which the period has not run out."""
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day
