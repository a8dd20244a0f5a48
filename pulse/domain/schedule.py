"""Calendar arithmetic for rounds: opening slots and closing times, counted in the Swedish working days of
pulse.domain.workdays (the one calendar: a round's closing day and a box deadline never disagree). Pure."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from pulse.domain.workdays import add_workdays

CADENCES = ("weekly", "biweekly", "monthly", "manual")


def add_working_days(start: dt.datetime, days: int, tz: ZoneInfo) -> dt.datetime:
    """The same local time of day, ``days`` working days after ``start`` (a UTC datetime)."""
    local = start.astimezone(tz)
    day = add_workdays(local.date(), max(days, 0))
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
