"""Calendar arithmetic for rounds: Swedish working days, opening slots and closing times. Pure."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

CADENCES = ("weekly", "biweekly", "monthly", "manual")


def _easter(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 - the algorithm's own name
    m = (a + 11 * h + 22 * l) // 451
    month = (h + l - 7 * m + 114) // 31
    day = (h + l - 7 * m + 114) % 31 + 1
    return dt.date(year, month, day)


@lru_cache(maxsize=64)
def swedish_holidays(year: int) -> frozenset[dt.date]:
    """Public holidays and the customary days off (midsummer eve, Christmas eve, New Year's eve)."""
    easter = _easter(year)
    midsummer_eve = next(dt.date(year, 6, d) for d in range(19, 26) if dt.date(year, 6, d).weekday() == 4)
    all_saints = next(dt.date(year, 10, 31) + dt.timedelta(days=n) for n in range(7)
                      if (dt.date(year, 10, 31) + dt.timedelta(days=n)).weekday() == 5)
    return frozenset({
        dt.date(year, 1, 1), dt.date(year, 1, 6),
        easter - dt.timedelta(days=2), easter + dt.timedelta(days=1), easter + dt.timedelta(days=39),
        dt.date(year, 5, 1), dt.date(year, 6, 6), midsummer_eve, all_saints,
        dt.date(year, 12, 24), dt.date(year, 12, 25), dt.date(year, 12, 26), dt.date(year, 12, 31),
    })


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in swedish_holidays(day.year)


def add_working_days(start: dt.datetime, days: int, tz: ZoneInfo) -> dt.datetime:
    """The same local time of day, ``days`` working days after ``start`` (a UTC datetime)."""
    local = start.astimezone(tz)
    day, remaining = local.date(), days
    while remaining > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return dt.datetime.combine(day, local.time(), tz).astimezone(dt.UTC)


def parse_time(value: str) -> dt.time:
    """``HH:MM`` → time. :raises ValueError: for anything else."""
    hours, _, minutes = value.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError("expected HH:MM")
    return dt.time(int(hours), int(minutes))


def next_open(cadence: str, weekday: int, at: str, *, after: dt.datetime, tz: ZoneInfo,
              last_opened: dt.datetime | None = None) -> dt.datetime | None:
    """The next opening slot strictly after ``after`` (UTC), or None for manual surveys.

    weekly: every week on ``weekday`` at ``at``; biweekly: two weeks after the last opening (or the next weekly
    slot for the first round); monthly: the first ``weekday`` of each month.
    """
    if cadence == "manual":
        return None
    time_of_day = parse_time(at)
    local_after = after.astimezone(tz)

    def slot(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, time_of_day, tz).astimezone(dt.UTC)

    if cadence == "monthly":
        year, month = local_after.year, local_after.month
        for _ in range(14):
            first = dt.date(year, month, 1)
            day = first + dt.timedelta(days=(weekday - first.weekday()) % 7)
            if slot(day) > after:
                return slot(day)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        raise AssertionError("unreachable")
    if cadence == "biweekly" and last_opened is not None:
        candidate = slot(last_opened.astimezone(tz).date() + dt.timedelta(days=14))
        if candidate > after:
            return candidate
    day = local_after.date() + dt.timedelta(days=(weekday - local_after.date().weekday()) % 7)
    while slot(day) <= after:
        day += dt.timedelta(days=7)
    return slot(day)
