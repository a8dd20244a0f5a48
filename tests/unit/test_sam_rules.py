"""The SAM rules: which reminders an action is due, and which help links are kept."""

from __future__ import annotations

import datetime as dt

import pytest

from pulse.domain.sam import ActionDates, bad_links, due_reminders, follow_up_overdue, is_overdue, parse_links

DUE = dt.date(2026, 12, 15)
FOLLOW = dt.date(2027, 2, 1)


def dates(status: str = "planned", follow_up: dt.date | None = FOLLOW, followed_up: bool = False) -> ActionDates:
    return ActionDates(status, DUE, follow_up, followed_up)


@pytest.mark.parametrize(("today", "expected"), [
    (dt.date(2026, 12, 7), []),  # more than a week before
    (dt.date(2026, 12, 8), [("due_soon", DUE)]),  # a week before
    (DUE, [("due_soon", DUE)]),  # on the day it is still due, not late
    (dt.date(2026, 12, 16), [("overdue", DUE)]),  # late: only "overdue", never both
    (dt.date(2027, 1, 25), [("overdue", DUE), ("follow_up_soon", FOLLOW)]),
    (dt.date(2027, 2, 2), [("overdue", DUE), ("follow_up_overdue", FOLLOW)]),
])
def test_reminders_follow_the_dates(today: dt.date, expected: list[tuple[str, dt.date]]) -> None:
    assert due_reminders(dates(), today) == expected


def test_done_actions_get_only_follow_up_reminders_until_followed_up() -> None:
    today = dt.date(2027, 2, 2)
    assert due_reminders(dates("done"), today) == [("follow_up_overdue", FOLLOW)]
    assert due_reminders(dates("done", followed_up=True), today) == []
    assert follow_up_overdue(dates("done"), today) and not is_overdue(dates("done"), today)


def test_cancelled_actions_are_never_reminded() -> None:
    assert due_reminders(dates("cancelled"), dt.date(2027, 3, 1)) == []
    assert not is_overdue(dates("cancelled"), dt.date(2027, 3, 1))


def test_moving_the_date_makes_a_new_reminder() -> None:
    moved = ActionDates("in_progress", dt.date(2027, 1, 10), None, False)
    assert due_reminders(moved, dt.date(2026, 12, 16)) == []
    assert due_reminders(moved, dt.date(2027, 1, 11)) == [("overdue", dt.date(2027, 1, 10))]


def test_only_safe_links_are_kept() -> None:
    raw = ("Företagshälsovården | https://fhv.example.se\n"
           "javascript:alert(1)\n"
           "Skyddsombudet | mailto:skyddsombud@example.se\n"
           "Ring HR | tel:+46101234567\n"
           "Elak | javascript:alert(document.cookie)\n"
           "https://rutin.example.se/krankande\n"
           "\n")
    assert parse_links(raw) == [("Företagshälsovården", "https://fhv.example.se"),
                                ("Skyddsombudet", "mailto:skyddsombud@example.se"),
                                ("Ring HR", "tel:+46101234567"),
                                ("https://rutin.example.se/krankande", "https://rutin.example.se/krankande")]
    assert bad_links(raw) == ["javascript:alert(1)", "Elak | javascript:alert(document.cookie)"]
