"""Pooled periods: a survey's rounds grouped into fixed, non-overlapping periods whose answers are released together,
for units too small to show figures round by round (docs/ANONYMITY.md, "Pooled periods").

Pure: no Flask, no SQLAlchemy. pulse.services.pooling stores the periods' releases; the protection and the joint
audit with the rounds' own releases are pulse.domain.protection's (``protect_round`` with ``Parts``).

Why the periods are fixed and never overlap
    A pooled figure is the sum of its rounds' answers. Two pooled windows that overlap (rounds 1–4 and 2–5) differ
    by one round at each end, so their difference is a single round's figure — for exactly the units whose rounds
    were too small to show. So a round belongs to exactly one period, decided by the round alone (the calendar
    month or quarter it opened in, or its number divided by N), and the choice cannot change once a pooled release
    exists (pulse.services.pooling refuses): no two periods ever share a round, by construction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

#: How rounds are pooled: by calendar month, calendar quarter, or N consecutive rounds (numbers 1–N, N+1–2N, …).
POOLINGS = ("month", "quarter", "rounds")

#: Bounds for N consecutive rounds (one round is no pooling; more than a year of weekly rounds tells no trend).
MIN_ROUNDS, MAX_ROUNDS = 2, 13

#: The calendar periods follow Swedish local time: a round opened Monday 1 December 00:30 belongs to December.
TZ = ZoneInfo("Europe/Stockholm")


@dataclass(frozen=True, order=True)
class Period:
    """One pooled period: ``(kind, year, index)`` — month 1–12, quarter 1–4, or the rounds' block (0 = rounds 1–N),
    ``size`` N for blocks of rounds (0 for calendar periods). Its ``key`` is what is stored ("2026-11", "2026-Q4",
    "rounds-5-8")."""

    kind: str
    year: int
    index: int
    size: int = 0

    @property
    def key(self) -> str:
        if self.kind == "month":
            return f"{self.year:04d}-{self.index:02d}"
        if self.kind == "quarter":
            return f"{self.year:04d}-Q{self.index}"
        first, last = self.round_numbers()
        return f"rounds-{first}-{last}"

    def round_numbers(self) -> tuple[int, int]:
        """The first and last round number of a block of rounds."""
        return self.index * self.size + 1, (self.index + 1) * self.size

    def start(self) -> dt.date | None:
        """The first day of a calendar period (None for a block of rounds)."""
        if self.kind == "month":
            return dt.date(self.year, self.index, 1)
        if self.kind == "quarter":
            return dt.date(self.year, 3 * self.index - 2, 1)
        return None

    def end(self) -> dt.datetime | None:
        """The first instant (UTC) after a calendar period; None for a block of rounds."""
        start = self.start()
        if start is None:
            return None
        months = 1 if self.kind == "month" else 3
        month = start.month - 1 + months
        following = dt.date(start.year + month // 12, month % 12 + 1, 1)
        return dt.datetime.combine(following, dt.time(0), TZ).astimezone(dt.UTC)


def validate(kind: str | None, size: int | None) -> tuple[str | None, int | None]:
    """A survey's pooling as stored: (None, None) for none, (kind, None) for a calendar one, ("rounds", N).

    :raises ValueError: an unknown kind, or N outside MIN_ROUNDS–MAX_ROUNDS.
    """
    if not kind:
        return None, None
    if kind not in POOLINGS:
        raise ValueError("unknown pooling")
    if kind != "rounds":
        return kind, None
    if size is None or not MIN_ROUNDS <= size <= MAX_ROUNDS:
        raise ValueError("rounds per period out of range")
    return kind, size


def period_of(kind: str, size: int | None, *, number: int, opened_at: dt.datetime) -> Period:
    """The one period a round belongs to: decided by the round alone (its number, or the day it opened in Swedish
    time), so periods never overlap."""
    if kind == "rounds":
        if not size or size < 1:
            raise ValueError("rounds per period missing")
        return Period("rounds", 0, (number - 1) // size, size)
    local = opened_at.astimezone(TZ).date()
    if kind == "month":
        return Period("month", local.year, local.month)
    if kind == "quarter":
        return Period("quarter", local.year, (local.month - 1) // 3 + 1)
    raise ValueError("unknown pooling")


def from_key(key: str) -> Period:
    """The period a stored key names (:attr:`Period.key`). :raises ValueError: for anything else."""
    if key.startswith("rounds-"):
        first, _, last = key.removeprefix("rounds-").partition("-")
        start, end = int(first), int(last)
        size = end - start + 1
        if size < 1 or (start - 1) % size:
            raise ValueError("not a period")
        return Period("rounds", 0, (start - 1) // size, size)
    year, _, rest = key.partition("-")
    if rest.startswith("Q") and rest[1:] in ("1", "2", "3", "4"):
        return Period("quarter", int(year), int(rest[1:]))
    month = int(rest)
    if not 1 <= month <= 12 or len(year) != 4:
        raise ValueError("not a period")
    return Period("month", int(year), month)


@dataclass(frozen=True)
class RoundState:
    """What deciding a period's completeness needs to know of one of its rounds."""

    number: int
    closed: bool
    released: bool


def complete(period: Period, rounds: list[RoundState], now: dt.datetime) -> bool:
    """May the period be pooled: no further round can join it (a calendar period has ended; a block has all its N
    rounds), and every round in it is closed and has a release. At least two rounds: one round pooled is that round's
    own release, nothing more."""
    if len(rounds) < 2 or not all(r.closed and r.released for r in rounds):
        return False
    if period.kind == "rounds":
        first, last = period.round_numbers()
        return sorted(r.number for r in rounds) == list(range(first, last + 1))
    end = period.end()
    return end is not None and now >= end
