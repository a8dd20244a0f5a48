"""Counting groups of at least k (pulse.domain.orgtree.group_at_least) and counts said safely (pulse.domain.participation)."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse.domain.orgtree import OrgTree, group_at_least
from pulse.domain.participation import closed_participation, open_participation

TREE = OrgTree({1: None, 2: 1, 3: 2, 4: 2, 5: 1})


def test_small_units_count_in_the_unit_above_deepest_first() -> None:
    where = {"a": 3, "b": 3, "c": 4, "d": 2, "e": 5, "f": 5, "g": 5}
    grouping = group_at_least(TREE, where, 3)
    # Units 3 (two people) and 4 (one) go up to 2, which then holds four; 5 holds three and stays.
    assert grouping.where == {"a": 2, "b": 2, "c": 2, "d": 2, "e": 5, "f": 5, "g": 5}
    assert grouping.moved == {3: 2, 4: 2}
    assert grouping.excluded == frozenset()


def test_merges_cascade_and_people_too_few_at_the_top_are_left_out() -> None:
    grouping = group_at_least(TREE, {"a": 3, "b": 4, "c": 5}, 3)
    # 3 and 4 go up to 2 (two people), 2 goes up to 1 with 5's one: three at the top.
    assert set(grouping.where.values()) == {1} and grouping.excluded == frozenset()
    alone = group_at_least(TREE, {"top-manager": None, "x": 3}, 3)
    assert alone.where == {} and alone.excluded == {"top-manager", "x"}
    assert alone.moved == {3: None}


def test_a_unit_that_only_passed_people_on_is_not_reported_as_merged() -> None:
    grouping = group_at_least(TREE, {"a": 3, "b": 5, "c": 5}, 3)
    # 3's one person goes to 2 (still one), then to 1 with nobody else there: 1 holds one, excluded? No — 5 holds
    # two and goes up to 1 too, so 1 holds three.
    assert grouping.where == {"a": 1, "b": 1, "c": 1}
    assert grouping.moved == {3: 1, 5: 1}


@st.composite
def forests(draw: st.DrawFn) -> tuple[OrgTree[int], dict[int, int | None], int]:
    size = draw(st.integers(1, 15))
    parents: dict[int, int | None] = {0: None}
    for unit in range(1, size):
        parents[unit] = draw(st.sampled_from(sorted(parents)))
    people = draw(st.integers(0, 40))
    where = {p: draw(st.one_of(st.none(), st.sampled_from(sorted(parents)))) for p in range(people)}
    return OrgTree(parents), where, draw(st.integers(1, 8))


@settings(max_examples=300, deadline=None)
@given(forests())
def test_every_group_holds_at_least_k_and_people_only_move_up(case: tuple[OrgTree[int], dict[int, int | None],
                                                                           int]) -> None:
    tree, where, k = case
    grouping = group_at_least(tree, where, k)
    assert set(grouping.where) | grouping.excluded == set(where)
    assert not set(grouping.where) & grouping.excluded
    assert all(n >= k for n in Counter(grouping.where.values()).values())
    for person, unit in grouping.where.items():
        start = where[person]
        assert start is not None and (unit == start or unit in tree.ancestors(start))
    # Nobody with a unit is left out who could have been counted: those left out under one top unit are fewer
    # than k together (they are what reached the top and was still too few).
    left_out = Counter(tree.ancestors(where[p])[-1] if tree.ancestors(where[p]) else where[p]  # type: ignore[arg-type]
                       for p in grouping.excluded if where[p] is not None)
    assert all(n < k for n in left_out.values())


@pytest.mark.parametrize(("invited", "answered", "k", "shown"), [
    (4, 3, 6, None), (4, 0, 6, None), (12, 12, 6, 12), (12, 5, 6, None), (6, 0, 6, 0), (0, 0, 6, 0),
])
def test_counts_after_close_follow_the_release_rule(invited: int, answered: int, k: int, shown: int | None) -> None:
    assert closed_participation(invited, answered, k).answered == shown


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 400), st.data(), st.integers(5, 12))
def test_bands_while_open_never_narrow_to_fewer_than_k_counts(invited: int, data: st.DataObject, k: int) -> None:
    answered = data.draw(st.integers(0, invited))
    shown = open_participation(invited, answered, k)
    assert shown.answered is None  # never the exact count while open
    if shown.band is None:
        return
    low, high = shown.band
    assert invited >= 10 and low <= answered <= high
    assert high - low + 1 >= k  # at least k possible counts: the band never says "exactly n"
    assert high - low + 1 >= invited / 10 - 1
    # "everyone" and "no one" are never a band of their own.
    assert (low, high) != (invited, invited) and (low, high) != (0, 0)


def test_a_band_is_shown_as_whole_per_cents() -> None:
    assert open_participation(100, 100, 6).band_percent == (90, 100)
    assert open_participation(10, 10, 6).band is None  # ten invited, k = 6: no two bands fit
    assert open_participation(9, 3, 5).band is None
