"""Swedish working days for the complaint box's deadlines, checked against the published calendar."""

from __future__ import annotations

import datetime as dt

import pytest

from pulse.domain import schedule
from pulse.domain.workdays import add_workdays, easter_sunday, holidays, is_workday, months_before, workdays_between

D = dt.date


@pytest.mark.parametrize(("year", "easter"), [
    (2024, D(2024, 3, 31)), (2025, D(2025, 4, 20)), (2026, D(2026, 4, 5)), (2027, D(2027, 3, 28)),
    (2038, D(2038, 4, 25)), (2285, D(2285, 3, 22)), (1943, D(1943, 4, 25)), (2000, D(2000, 4, 23)),
])
def test_easter_sunday_on_known_dates(year: int, easter: dt.date) -> None:
    assert easter_sunday(year) == easter


def test_the_holidays_of_2026_as_the_calendar_prints_them() -> None:
    assert {day: name for day, name in holidays(2026).items()} == {
        D(2026, 1, 1): "nyårsdagen", D(2026, 1, 6): "trettondedag jul", D(2026, 4, 3): "långfredagen",
        D(2026, 4, 5): "påskdagen", D(2026, 4, 6): "annandag påsk", D(2026, 5, 1): "första maj",
        D(2026, 5, 14): "Kristi himmelsfärdsdag", D(2026, 5, 24): "pingstdagen",
        D(2026, 6, 6): "Sveriges nationaldag", D(2026, 6, 19): "midsommarafton", D(2026, 6, 20): "midsommardagen",
        D(2026, 10, 31): "alla helgons dag", D(2026, 12, 24): "julafton", D(2026, 12, 25): "juldagen",
        D(2026, 12, 26): "annandag jul", D(2026, 12, 31): "nyårsafton",
    }


@pytest.mark.parametrize(("day", "name"), [
    (D(2025, 6, 20), "midsommarafton"), (D(2025, 6, 21), "midsommardagen"), (D(2025, 11, 1), "alla helgons dag"),
    (D(2025, 5, 29), "Kristi himmelsfärdsdag"), (D(2025, 4, 18), "långfredagen"),
    (D(2027, 6, 25), "midsommarafton"), (D(2027, 11, 6), "alla helgons dag"), (D(2027, 3, 26), "långfredagen"),
    (D(2028, 6, 23), "midsommarafton"), (D(2028, 11, 4), "alla helgons dag"),
])
def test_moving_holidays_in_other_years(day: dt.date, name: str) -> None:
    assert holidays(day.year)[day] == name
    assert not is_workday(day)


def test_weekends_are_not_workdays_and_ordinary_weekdays_are() -> None:
    assert is_workday(D(2026, 12, 1))  # Tuesday
    assert not is_workday(D(2026, 12, 5)) and not is_workday(D(2026, 12, 6))
    assert is_workday(D(2026, 6, 5))  # the Friday before the national day (a Saturday in 2026)


@pytest.mark.parametrize(("start", "days", "due"), [
    (D(2026, 12, 1), 2, D(2026, 12, 3)),  # Tuesday + 2 → Thursday
    (D(2026, 12, 4), 2, D(2026, 12, 8)),  # Friday + 2 → Tuesday
    (D(2026, 12, 5), 2, D(2026, 12, 8)),  # written on a Saturday: Monday is the first working day
    (D(2026, 12, 22), 2, D(2026, 12, 28)),  # 23 Dec, then 24–27 are free, 28 Dec
    (D(2026, 12, 22), 10, D(2027, 1, 12)),  # 23, 28, 29, 30 Dec; 31 Dec, 1 and 6 Jan free; 4, 5, 7, 8, 11, 12 Jan
    (D(2026, 4, 1), 2, D(2026, 4, 7)),  # before Easter: 2 Apr, (3–6 free), 7 Apr
    (D(2026, 6, 18), 1, D(2026, 6, 22)),  # the day before midsommarafton
    (D(2026, 5, 13), 1, D(2026, 5, 15)),  # over Kristi himmelsfärd
    (D(2026, 12, 1), 0, D(2026, 12, 1)),
])
def test_adding_working_days(start: dt.date, days: int, due: dt.date) -> None:
    assert add_workdays(start, days) == due
    assert workdays_between(start, due) == days


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_workdays(D(2026, 1, 1), -1)


def test_agrees_with_the_round_schedules_calendar_for_decades() -> None:
    """The rounds' closing dates (pulse.domain.schedule) and the box's deadlines count the same days."""
    day = D(2024, 1, 1)
    while day < D(2050, 1, 1):
        assert is_workday(day) == schedule.is_working_day(day), day
        day += dt.timedelta(days=1)


@pytest.mark.parametrize(("day", "months", "expected"), [
    (dt.date(2026, 1, 16), 24, dt.date(2024, 1, 16)),
    (dt.date(2026, 3, 31), 1, dt.date(2026, 2, 28)),
    (dt.date(2024, 3, 31), 1, dt.date(2024, 2, 29)),
    (dt.date(2026, 1, 31), 2, dt.date(2025, 11, 30)),
    (dt.date(2026, 12, 18), 6, dt.date(2026, 6, 18)),
    (dt.date(2026, 1, 5), 12, dt.date(2025, 1, 5)),
    (dt.date(2027, 1, 1), 120, dt.date(2017, 1, 1)),
    (dt.date(2026, 5, 15), 0, dt.date(2026, 5, 15)),
])
def test_months_before_counts_calendar_months(day: dt.date, months: int, expected: dt.date) -> None:
    assert months_before(day, months) == expected
