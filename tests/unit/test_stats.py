"""Sufficient statistics, censoring, eNPS, index and honest change."""

from __future__ import annotations

import math

import pytest

from pulse.domain.scales import SCALES
from pulse.domain.stats import Tally, censor, change, distribution, enps, index, merged


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
