"""Swedish working days: the deadlines of the complaint box are counted in them.

A working day (arbetsdag) is Monday to Friday, except the public holidays of lagen (1989:253) om allmänna
helgdagar, and the days that are free in practice on almost every Swedish workplace agreement: midsommarafton,
julafton and nyårsafton. They are counted as non-working days so that a deadline never lands on them — a complaint
written the day before midsommar is not due to be acknowledged on midsommarafton.

Pure: dates in, dates out, no time zones (the caller decides what "today" is in the organisation's zone).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache


def easter_sunday(year: int) -> dt.date:
    """Easter Sunday (Gregorian calendar), by the anonymous Gregorian algorithm (Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _saturday_between(start: dt.date, end: dt.date) -> dt.date:
    """The one Saturday in [start, end] (a seven-day span)."""
    return start + dt.timedelta(days=(5 - start.weekday()) % 7)


@lru_cache(maxsize=64)
def holidays(year: int) -> dict[dt.date, str]:
    """The year's public holidays and free eves, as date → Swedish name."""
    easter = easter_sunday(year)
    midsummer_day = _saturday_between(dt.date(year, 6, 20), dt.date(year, 6, 26))
    all_saints = _saturday_between(dt.date(year, 10, 31), dt.date(year, 11, 6))
    days = {
        dt.date(year, 1, 1): "nyårsdagen",
        dt.date(year, 1, 6): "trettondedag jul",
        easter - dt.timedelta(days=2): "långfredagen",
        easter: "påskdagen",
        easter + dt.timedelta(days=1): "annandag påsk",
        dt.date(year, 5, 1): "första maj",
        easter + dt.timedelta(days=39): "Kristi himmelsfärdsdag",
        easter + dt.timedelta(days=49): "pingstdagen",
        dt.date(year, 6, 6): "Sveriges nationaldag",
        midsummer_day - dt.timedelta(days=1): "midsommarafton",
        midsummer_day: "midsommardagen",
        all_saints: "alla helgons dag",
        dt.date(year, 12, 24): "julafton",
        dt.date(year, 12, 25): "juldagen",
        dt.date(year, 12, 26): "annandag jul",
        dt.date(year, 12, 31): "nyårsafton",
    }
    return days


def is_workday(day: dt.date) -> bool:
    """Monday to Friday and not a holiday or a free eve."""
    return day.weekday() < 5 and day not in holidays(day.year)


def add_workdays(start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (``start`` itself never counts, whatever day it is).

    Something received on a Friday with two working days to go is due on Tuesday; received on a Saturday, too.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    left = days
    while left:
        day += dt.timedelta(days=1)
        if is_workday(day):
            left -= 1
    return day


def workdays_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end`` is not after ``start``)."""
    count = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if is_workday(day):
            count += 1
    return count


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier, or that month's last day when it is shorter (31 March less
    one month is 28 or 29 February): the box's retention is counted in calendar months, not working days."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    following = dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1)
    return dt.date(year, month, min(day.day, (following - dt.timedelta(days=1)).day))
