"""Statistics over answers: sufficient statistics that add up the tree, summaries, and honest change.

Pure: no Flask, no SQLAlchemy. Everything works from sums (count, sum, sum of squares, count per option), so a
unit's figures are the sum of its parts and the release can be computed in one pass over the answers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from pulse.domain.scales import Scale

#: Two-sided 95 % normal quantile.
Z95 = 1.959963984540054


@dataclass
class Tally:
    """Sufficient statistics of one question in one group."""

    answered: int = 0
    skipped: int = 0
    total: float = 0.0
    squares: float = 0.0
    options: dict[int, int] = field(default_factory=dict)

    def add(self, value: int | None) -> None:
        if value is None:
            self.skipped += 1
            return
        self.answered += 1
        self.total += value
        self.squares += value * value
        self.options[value] = self.options.get(value, 0) + 1

    def merge(self, other: Tally) -> None:
        self.answered += other.answered
        self.skipped += other.skipped
        self.total += other.total
        self.squares += other.squares
        for value, count in other.options.items():
            self.options[value] = self.options.get(value, 0) + count

    @property
    def mean(self) -> float | None:
        return self.total / self.answered if self.answered else None

    @property
    def sd(self) -> float | None:
        """Sample standard deviation (n − 1)."""
        if self.answered < 2:
            return None
        variance = (self.squares - self.total * self.total / self.answered) / (self.answered - 1)
        return math.sqrt(max(variance, 0.0))


def merged(tallies: Iterable[Tally]) -> Tally:
    result = Tally()
    for tally in tallies:
        result.merge(tally)
    return result


def distribution(tally: Tally, scale: Scale) -> list[int]:
    """Counts per option, in the scale's order."""
    return [tally.options.get(value, 0) for value, _ in scale.options]


def enps(tally: Tally) -> float | None:
    """Employee Net Promoter Score: % answering 9–10 minus % answering 0–6, on a 0–10 scale."""
    if not tally.answered:
        return None
    promoters = sum(c for v, c in tally.options.items() if v >= 9)
    detractors = sum(c for v, c in tally.options.items() if v <= 6)
    return 100.0 * (promoters - detractors) / tally.answered


def share(count: int, of: int) -> float | None:
    return 100.0 * count / of if of else None


# --- published precision (docs/ANONYMITY.md, "Precision") ---------------------------------------------------------
#
# A published figure is the rounded one, and every output (page, chart, export, API) is built from it, never from
# the exact value: 15 answers summing to 41 publish "2,7", and nothing may let anyone read back 41/15.
#
# One rounding everywhere: half away from zero, on the value's shortest decimal form (so 2.65, 0.05 and 42.5 round
# the way people round them: 2.7, 0.1 and 43). Python's round() and Babel both round half to even, and round()
# works on the binary value (round(0.05, 1) is 0.1 but Babel writes 0.05 as "0,0"), so neither is used on a figure
# that has not been through these functions; formatting an already rounded value changes nothing.

#: Decimals of a published mean or standard deviation; shares, eNPS and indices are whole numbers.
MEAN_DECIMALS = 1


def round_half_away(value: float, decimals: int = 0) -> float:
    """``value`` rounded to ``decimals`` places, halves away from zero (the one rounding of published figures)."""
    exact = Decimal(repr(float(value)))
    # + 0.0 turns a rounded -0.0 into 0.0, so no output ever writes "-0,0".
    return float(exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)) + 0.0


def one_decimal(value: float | None) -> float | None:
    """A mean or standard deviation as published: one decimal."""
    return None if value is None else round_half_away(value, MEAN_DECIMALS)


def whole(value: float | None) -> int | None:
    """A share, eNPS or index as published: a whole number."""
    return None if value is None else int(round_half_away(value))


def censor(mean: float, scale: Scale) -> str | None:
    """Between k and k_dist answers a mean near a scale end would reveal that (nearly) everyone gave the same
    answer, so such means are shown only as a bound: ``low`` (≤ min + 0.5) or ``high`` (≥ max − 0.5)."""
    if mean <= scale.minimum + 0.5:
        return "low"
    if mean >= scale.maximum - 0.5:
        return "high"
    return None


def bound_value(censored: str | None, scale: Scale) -> float | None:
    """The published bound of a censored mean (``low`` → min + 0.5, ``high`` → max − 0.5): all a bound says, so
    every output that writes or ranks a bound uses this and nothing finer (docs/ANONYMITY.md, "Censored figures")."""
    if censored == "low":
        return scale.minimum + 0.5
    if censored == "high":
        return scale.maximum - 0.5
    return None


@dataclass(frozen=True)
class Change:
    """The difference between two rounds' means with a 95 % confidence interval."""

    difference: float
    low: float
    high: float

    @property
    def clear(self) -> bool:
        """True when the interval does not include zero."""
        return self.low > 0 or self.high < 0

    @property
    def direction(self) -> str:
        if not self.clear:
            return "none"
        return "up" if self.difference > 0 else "down"


def change(before: tuple[float, float, int], after: tuple[float, float, int]) -> Change | None:
    """Welch's difference of two independent means ``(mean, sd, n)``; None when either is too small (n < 2)."""
    m1, s1, n1 = before
    m2, s2, n2 = after
    if n1 < 2 or n2 < 2:
        return None
    standard_error = math.sqrt(s1 * s1 / n1 + s2 * s2 / n2)
    difference = m2 - m1
    return Change(difference, difference - Z95 * standard_error, difference + Z95 * standard_error)


def mean_interval(mean: float, sd: float | None, n: int | None) -> tuple[float, float] | None:
    """A published mean's 95 % interval (normal approximation), from the published mean, SD and n and rounded to
    one decimal like them — so an interval drawn or written anywhere says nothing finer than the figures do."""
    if sd is None or n is None or n < 2:
        return None
    half = Z95 * sd / math.sqrt(n)
    return round_half_away(mean - half, MEAN_DECIMALS), round_half_away(mean + half, MEAN_DECIMALS)


def index(means: Sequence[tuple[float, Scale, bool]]) -> float | None:
    """A 0–100 index from several means (scale ends map to 0 and 100; reversed items are flipped).

    Computed exactly from the means' decimal values, so that a published mean of 2.7 gives exactly 42.5 (which
    rounds to 43), not 42.50000000000001 or 42.49999999999999 depending on float noise.
    """
    values = []
    for mean, scale, reverse in means:
        span = scale.maximum - scale.minimum
        position = (Fraction(repr(float(mean))) - scale.minimum) / span if span else Fraction(0)
        values.append(100 * (1 - position if reverse else position))
    return float(sum(values) / len(values)) if values else None
