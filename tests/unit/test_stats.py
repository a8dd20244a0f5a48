"""Sufficient statistics, censoring, eNPS, index and honest change."""

from __future__ import annotations

import math

import pytest

from pulse.domain.scales import SCALES, Scale
from pulse.domain.stats import (
    Tally,
    censor,
    change,
    distribution,
    enps,
    index,
    mean_interval,
    merged,
    round_half_away,
    share,
)


def tally(*values: int | None) -> Tally:
    result = Tally()
    for value in values:
        result.add(value)
    return result


def test_tallies_add_up_the_tree() -> None:
    a, b = tally(1, 2, 3, None), tally(4, 5)
    total = merged([a, b])
    assert (total.answered, total.skipped) == (5, 1)
    assert total.mean == 3.0
    assert total.sd == pytest.approx(math.sqrt(2.5))
    assert distribution(total, SCALES["agree5"]) == [1, 1, 1, 1, 1]


def test_empty_and_single_answers() -> None:
    assert tally().mean is None and tally().sd is None
    assert tally(4).sd is None
    assert enps(tally()) is None


def test_enps() -> None:
    assert enps(tally(10, 9, 8, 7, 6, 0)) == pytest.approx(100 * (2 - 2) / 6)
    assert enps(tally(10, 10, 10)) == 100.0


@pytest.mark.parametrize(("mean", "expected"), [(1.0, "low"), (1.5, "low"), (1.6, None), (4.4, None),
                                                (4.5, "high"), (5.0, "high")])
def test_means_near_the_scale_ends_are_censored(mean: float, expected: str | None) -> None:
    """Five identical answers of 1 would otherwise tell everyone's answer."""
    assert censor(mean, SCALES["agree5"]) == expected


def test_change_with_a_95_percent_interval() -> None:
    clear = change((3.0, 0.5, 40), (3.6, 0.5, 40))
    assert clear is not None and clear.clear and clear.direction == "up"
    assert clear.low == pytest.approx(0.6 - 1.96 * math.sqrt(0.25 / 40 * 2), rel=1e-3)
    unclear = change((3.0, 1.2, 8), (3.3, 1.2, 8))
    assert unclear is not None and not unclear.clear and unclear.direction == "none"
    assert change((3.0, 1.0, 1), (3.5, 1.0, 10)) is None


def test_index_flips_reversed_items() -> None:
    agree = SCALES["agree5"]
    assert index([(5.0, agree, False)]) == 100.0
    assert index([(5.0, agree, True)]) == 0.0
    assert index([(3.0, agree, False), (1.0, agree, True)]) == pytest.approx(75.0)
    assert index([]) is None


# --- fixed values worked out by hand (issue 13) -------------------------------------------------------------------


def test_skips_and_options_are_counted_one_by_one() -> None:
    skipping = tally(None, None, 2, None)
    assert (skipping.answered, skipping.skipped) == (1, 3)
    both = merged([tally(1, 1, 5), tally(1, 4), tally()])
    assert both.options == {1: 3, 4: 1, 5: 1} and (both.answered, both.total, both.squares) == (5, 12, 44)
    assert distribution(tally(1, 1), SCALES["agree5"]) == [2, 0, 0, 0, 0]  # options nobody chose count 0


def test_shares_are_percentages_and_nothing_of_nobody() -> None:
    assert share(1, 4) == 25.0 and share(3, 3) == 100.0 and share(0, 7) == 0.0
    assert share(0, 0) is None and share(2, 0) is None


def test_a_change_needs_two_answers_on_each_side() -> None:
    """se = √(0.25/2 + 0.25/2) = 0.5, so 0.6 ± 1.959964 × 0.5 (the normal distribution's 97.5 % point)."""
    smallest = change((3.0, 0.5, 2), (3.6, 0.5, 2))
    assert smallest is not None
    assert smallest.difference == pytest.approx(0.6)
    assert (smallest.low, smallest.high) == (pytest.approx(-0.379982, abs=1e-6), pytest.approx(1.579982, abs=1e-6))
    assert change((3.0, 0.5, 1), (3.6, 0.5, 2)) is None and change((3.0, 0.5, 2), (3.6, 0.5, 1)) is None


def test_rounding_never_writes_minus_zero() -> None:
    for value in (-0.04, -0.0, -0.4):
        rounded = round_half_away(value, 1 if value != -0.4 else 0)
        assert rounded == 0.0 and math.copysign(1.0, rounded) == 1.0


def test_an_index_over_a_single_option_scale_is_zero() -> None:
    """A scale whose ends coincide has no position on it (the index would divide by zero)."""
    single = Scale("one", ((3, "only"),), "only", "only")
    assert index([(3.0, single, False)]) == 0.0 and index([(3.0, single, True)]) == 100.0


def test_a_mean_interval_is_worked_out_from_the_published_figures_and_rounded_like_them() -> None:
    """95 % interval = mean ± 1.96 · SD / √n, rounded to one decimal: 3.2 ± 1.96 · 1.0 / 5 = 3.2 ± 0.392 → 2.8–3.6;
    with two answers 3.2 ± 1.386 → 1.8–4.6; 3.0 ± 1.96 · 0.5 / 2 = 3.0 ± 0.49 → 2.5–3.5 (2.51 and 3.49). No interval
    from one answer, or without an SD or n."""
    assert mean_interval(3.2, 1.0, 25) == (2.8, 3.6)
    assert mean_interval(3.2, 1.0, 2) == (1.8, 4.6)
    assert mean_interval(3.0, 0.5, 4) == (2.5, 3.5)
    assert mean_interval(3.0, 0.5, 1) is None
    assert mean_interval(3.0, None, 9) is None and mean_interval(3.0, 0.5, None) is None

