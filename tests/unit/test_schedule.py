"""Swedish working days, opening slots and closing times."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from pulse.domain.schedule import add_working_days, next_open, parse_time
from pulse.domain.workdays import holidays, is_workday

TZ = ZoneInfo("Europe/Stockholm")


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ).astimezone(dt.UTC)


def test_swedish_holidays_2026() -> None:
    """Pinned by hand: the days a round's closing time skips (the calendar is pulse.domain.workdays')."""
    days = holidays(2026)
    assert dt.date(2026, 4, 3) in days  # Good Friday
    assert dt.date(2026, 4, 6) in days  # Easter Monday
    assert dt.date(2026, 5, 14) in days  # Ascension Day
    assert dt.date(2026, 6, 19) in days  # Midsummer Eve (a Friday between 19 and 25 June)
    assert dt.date(2026, 10, 31) in days  # All Saints' Day (a Saturday)
    assert dt.date(2026, 12, 24) in days and dt.date(2026, 12, 31) in days


def test_working_days_skip_weekends_and_holidays() -> None:
    assert is_workday(dt.date(2026, 11, 24))
    assert not is_workday(dt.date(2026, 11, 28))  # Saturday
    assert not is_workday(dt.date(2026, 12, 25))


def test_closing_skips_the_holidays_by_hand() -> None:
    """A round opened before Easter, Ascension and midsummer closes after them (dates worked out by hand)."""
    assert add_working_days(local(2026, 4, 2, 9, 0), 1, TZ) == local(2026, 4, 7, 9, 0)  # 3–6 April free
    assert add_working_days(local(2026, 5, 13, 9, 0), 1, TZ) == local(2026, 5, 15, 9, 0)  # Ascension 14 May
    assert add_working_days(local(2026, 6, 18, 9, 0), 1, TZ) == local(2026, 6, 22, 9, 0)  # midsummer eve 19 June
    assert add_working_days(local(2025, 10, 30, 9, 0), 2, TZ) == local(2025, 11, 3, 9, 0)  # All Saints on a Saturday
    assert add_working_days(local(2026, 12, 1, 9, 0), 0, TZ) == local(2026, 12, 1, 9, 0)


def test_closing_after_working_days_keeps_the_local_time() -> None:
    opened = local(2026, 12, 21, 8, 0)  # Monday before Christmas
    # 22, 23 Dec; 24–26 off; 28, 29, 30 → five working days later is Wednesday 30 Dec, 08:00 local.
    assert add_working_days(opened, 5, TZ) == local(2026, 12, 30, 8, 0)
    # Across the change to summer time the local time stays 08:00.
    assert add_working_days(local(2026, 3, 27, 8, 0), 1, TZ) == local(2026, 3, 30, 8, 0)


@pytest.mark.parametrize(("cadence", "after", "expected"), [
    ("weekly", local(2026, 11, 24, 9, 0), local(2026, 11, 30, 8, 0)),
    ("weekly", local(2026, 11, 30, 7, 59), local(2026, 11, 30, 8, 0)),
    ("weekly", local(2026, 11, 30, 8, 0), local(2026, 12, 7, 8, 0)),
    ("monthly", local(2026, 11, 24, 9, 0), local(2026, 12, 7, 8, 0)),  # first Monday of December
    ("manual", local(2026, 11, 24, 9, 0), None),
])
def test_next_opening(cadence: str, after: dt.datetime, expected: dt.datetime | None) -> None:
    assert next_open(cadence, 0, "08:00", after=after, tz=TZ) == expected


def test_every_two_weeks_counts_from_the_last_opening() -> None:
    last = local(2026, 11, 16, 8, 0)
    assert next_open("biweekly", 0, "08:00", after=local(2026, 11, 24, 9, 0), tz=TZ, last_opened=last) == \
        local(2026, 11, 30, 8, 0)


@pytest.mark.parametrize("bad", ["8", "8:0", "ab:cd", "25:00", ""])
def test_bad_times_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - parse_time only raises ValueError
        parse_time(bad)
