"""The layers of a release (pulse.domain.protection), property-tested on random trees with random answers.

What the attacker knows is the published figures: exact sums and counts of the cells shown exactly, and that cells
nobody was invited to are empty. The properties, checked with brute-force linear algebra over atoms as in
tests/unit/test_suppression.py:

- no censored cell's sum and no hidden cell's sum or count lies in the row space of the published ones, and no
  group smaller than k does (docs/ANONYMITY.md, "Censored figures");
- no computable group between k and k_dist answers has a mean that would be censored were it a cell;
- yes/no items publish nothing below k_dist, and nothing smaller than k_dist can be computed from what they do
  publish (docs/ANONYMITY.md, "Yes/no items and flags");
- every stored figure is at published precision (docs/ANONYMITY.md, "Precision").
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from itertools import combinations
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulse.domain import protection
from pulse.domain.figures import Figures, Form
from pulse.domain.protection import (
    Earlier,
    Explanation,
    Item,
    Outcome,
    Parts,
    Term,
    _nothing_to_hide,
    censorable_groups,
    computable_groups,
    protect_round,
)
from pulse.domain.scales import SCALES
from pulse.domain.stats import Tally, censor, index, one_decimal, round_half_away, whole
from pulse.domain.suppression import Cell, Counts, Kind, Protection, Tree, cell_counts
from tests.unit.test_suppression import atom_vector, atoms, brute_force_violations, trees

ITEMS = (Item("A", 1, "agree5"), Item("Y", 2, "yesno"), Item("N", 1, "enps"))
AGREE = SCALES["agree5"]


class RowSpace:
    """The row space of some vectors, reduced once so that membership is one cheap reduction."""

    def __init__(self, rows: list[list[Fraction]]) -> None:
        self.basis: list[tuple[int, list[Fraction]]] = []
        for row in rows:
            reduced = self._reduce(row)
            pivot = next((i for i, v in enumerate(reduced) if v != 0), None)
            if pivot is not None:
                self.basis.append((pivot, [v / reduced[pivot] for v in reduced]))

    def _reduce(self, vector: list[Fraction]) -> list[Fraction]:
        vector = list(vector)
        for pivot, row in self.basis:
            if vector[pivot] != 0:
                factor = vector[pivot]
                vector = [a - factor * b for a, b in zip(vector, row, strict=True)]
        return vector

    def contains(self, vector: list[Fraction]) -> bool:
        return not any(self._reduce(vector))


def attacker(tree: Tree, known: set[Cell], counts: dict[Cell, Counts]) -> tuple[list[Cell], RowSpace]:
    columns = atoms(tree)
    empty = [c for c in columns if counts[c].invited == 0]
    return columns, RowSpace([atom_vector(tree, c, columns) for c in [*sorted(known), *empty]])


@st.composite
def rounds(draw: st.DrawFn, max_units: int = 8) -> tuple[Tree, dict[int, Counts], dict[int, list[Tally]], int, int]:
    """A random tree with team sizes 0–15, random participation and random answers — often all at one end of
    the scale, so that censoring happens — and random thresholds."""
    tree, direct = draw(trees(max_units=max_units))
    tallies: dict[int, list[Tally]] = {}
    for unit, counts in direct.items():
        mood = draw(st.sampled_from(["low", "high", "mixed", "mixed"]))
        agree = {"low": st.sampled_from([1, 1, 1, 2]), "high": st.sampled_from([5, 5, 4]),
                 "mixed": st.integers(1, 5)}[mood]
        unit_tallies = [Tally(), Tally(), Tally()]
        for _ in range(counts.respondents):
            unit_tallies[0].add(draw(st.one_of(agree, st.none()) if draw(st.booleans()) else agree))
            unit_tallies[1].add(draw(st.sampled_from([0, 0, 0, 0, 1, 2, None])))
            unit_tallies[2].add(draw(st.integers(0, 10)))
        tallies[unit] = unit_tallies
    k = draw(st.integers(3, 5))
    k_dist = draw(st.integers(k, k + 7))
    return tree, direct, tallies, k, k_dist


def item_counts(tree: Tree, direct: dict[int, Counts], tallies: dict[int, list[Tally]], index_: int
                ) -> tuple[dict[Cell, Counts], dict[Cell, int]]:
    """Per cell: answered and invited for one item, and the sum of its answers."""
    answered = cell_counts(tree, {u: Counts(tallies[u][index_].answered, c.invited) for u, c in direct.items()})
    sums = cell_counts(tree, {u: Counts(int(tallies[u][index_].total), 0) for u in direct})
    return answered, {cell: sums[cell].respondents for cell in tree.cells()}


def groups(columns: list[Cell]) -> list[tuple[Cell, ...]]:
    return [g for size in range(1, len(columns) + 1) for g in combinations(columns, size)]


def check_means(tree: Tree, direct: dict[int, Counts], tallies: dict[int, list[Tally]], k: int, k_dist: int,
                outcome: Outcome) -> None:
    item = outcome.items["A"]
    counts, sums = item_counts(tree, direct, tallies, 0)
    # What is stored is what the protection decided: bounds only as bounds, exact figures only where exact.
    for cell, figures in outcome.figures.items():
        shown = figures.get("A")
        if shown is None:
            continue
        stored = shown.to_json()
        if "censor" in stored:
            assert item.bounds[cell] == stored["censor"] and set(stored) == {"v", "censor"}
            assert k <= counts[cell].respondents < k_dist
        else:
            assert cell in item.exact and cell not in item.bounds
            assert ("dist" in stored) == (cell in item.dist)
    assert not set(item.bounds) & item.exact
    # No hidden or censored cell, and no group smaller than k, can be computed from the exact sums and counts.
    assert brute_force_violations(tree, item.exact, counts, k, all_groups=True) == []
    columns, space = attacker(tree, item.exact, counts)
    for cell in item.bounds:
        assert not space.contains(atom_vector(tree, cell, columns)), f"censored {cell} is computable"
    # No computable group between k and k_dist has a mean that would be censored.
    atom_answers = {c: counts[c].respondents for c in columns}
    atom_sums = {c: sums[c] for c in columns}
    for group in groups(columns):
        n = sum(atom_answers[c] for c in group)
        if k <= n < k_dist and space.contains([Fraction(1 if c in group else 0) for c in columns]):
            assert censor(sum(atom_sums[c] for c in group) / n, AGREE) is None, f"group {group} is censorable"
    # The distribution layer: nothing hidden there, and no group smaller than k_dist, can be computed.
    assert item.dist <= item.exact
    assert brute_force_violations(tree, item.dist, counts, k_dist, all_groups=False) == []


def check_yes_no(tree: Tree, direct: dict[int, Counts], tallies: dict[int, list[Tally]], k_dist: int,
                 outcome: Outcome) -> None:
    item = outcome.items["Y"]
    counts, _ = item_counts(tree, direct, tallies, 1)
    assert brute_force_violations(tree, item.exact, counts, k_dist, all_groups=True) == []
    for cell, figures in outcome.figures.items():
        stored = figures["Y"].to_json() if "Y" in figures else None
        if stored is not None:
            assert cell in item.exact and isinstance(stored["n"], int) and stored["n"] >= k_dist
            assert stored["flag"] == (stored["dist"][1] + stored["dist"][2] > 0)  # type: ignore[index]


def half_away(value: Fraction, places: int) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def check_precision(tree: Tree, tallies: dict[int, list[Tally]], outcome: Outcome) -> None:
    """Means and SDs to one decimal (the mean equal to the exact one rounded half away from zero), shares and
    eNPS whole numbers."""
    cell_tallies = {c: [Tally() for _ in ITEMS] for c in tree.cells()}
    for cell in tree.cells():
        units = [cell.unit] if cell.kind is Kind.REMAINDER or not tree.children[cell.unit] else []
        if not units:
            stack = [cell.unit]
            while stack:
                unit = stack.pop()
                units.append(unit)
                stack.extend(tree.children[unit])
        for unit in units:
            for mine, theirs in zip(cell_tallies[cell], tallies[unit], strict=True):
                mine.merge(theirs)
    for cell, figures in outcome.figures.items():
        for code, shown in figures.items():
            stored = shown.to_json()
            for key in ("mean", "sd"):
                if stored.get(key) is not None:
                    value = stored[key]
                    assert isinstance(value, float) and Decimal(repr(value)).as_tuple().exponent >= -1
            for key in ("yes", "skip", "enps"):
                assert stored.get(key) is None or type(stored[key]) is int
            if code == "A" and "mean" in stored:
                tally = cell_tallies[cell][0]
                exact = Fraction(int(tally.total), tally.answered)
                assert Decimal(repr(stored["mean"])) == half_away(exact, 1)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rounds(max_units=9))
def test_no_censored_or_hidden_figure_can_be_computed(case: tuple[Tree, dict[int, Counts], dict[int, list[Tally]],
                                                                  int, int]) -> None:
    tree, direct, tallies, k, k_dist = case
    outcome = protect_round(tree, direct, tallies, ITEMS, k, k_dist)
    check_means(tree, direct, tallies, k, k_dist, outcome)
    check_yes_no(tree, direct, tallies, k_dist, outcome)
    check_precision(tree, tallies, outcome)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rounds(max_units=6))
def test_a_second_version_keeps_what_the_first_published(case: tuple[Tree, dict[int, Counts],
                                                                     dict[int, list[Tally]], int, int]) -> None:
    """Two versions of one release: together they still hide every hidden and censored figure."""
    from pulse.domain.protection import Earlier

    tree, direct, tallies, k, k_dist = case
    first = protect_round(tree, direct, tallies, ITEMS, k, k_dist)
    earlier = Earlier(1, tree.parents, frozenset(first.nodes),
                      {code: frozenset(c for c, f in first.figures.items() if code in f and f[code].shows_sum)
                       for code in ("A", "Y", "N")},
                      {code: frozenset(c for c, f in first.figures.items()
                                       if code in f and f[code].shows_distribution)
                       for code in ("A", "Y", "N")})
    second = protect_round(tree, direct, tallies, ITEMS, k, k_dist, [earlier], version=2)
    counts, _ = item_counts(tree, direct, tallies, 0)
    # Both versions' exact cells (what each protection let be known; cells nobody answered are not even shown).
    known = first.items["A"].exact | second.items["A"].exact
    assert brute_force_violations(tree, known, counts, k, all_groups=True) == []
    columns, space = attacker(tree, known, counts)
    for cell in first.items["A"].bounds.keys() | second.items["A"].bounds.keys():
        assert not space.contains(atom_vector(tree, cell, columns)), f"censored {cell} is computable"


# --- named cases ------------------------------------------------------------------------------------------------


def answers(*values: int | None, items: int = 3, at: int = 0) -> list[Tally]:
    result = [Tally() for _ in range(items)]
    for value in values:
        result[at].add(value)
    return result


def test_the_issue_a_censored_child_of_a_published_parent() -> None:
    """Parent = alfa (three answers of 1, "≤ 1,5") + beta: publishing parent and beta exactly gives alfa's sum."""
    tree = Tree({1: None, 2: 1, 3: 1})
    direct = {1: Counts(0, 0), 2: Counts(3, 3), 3: Counts(6, 6)}
    tallies = {1: answers(), 2: answers(1, 1, 1), 3: answers(4, 3, 5, 4, 2, 3)}
    outcome = protect_round(tree, direct, tallies, ITEMS, 3, 5)
    item = outcome.items["A"]
    assert item.bounds == {Cell(2, Kind.TOTAL): "low"}
    assert outcome.figures[Cell(2, Kind.TOTAL)]["A"].to_json() == {"v": 1, "censor": "low"}
    assert not {Cell(1, Kind.TOTAL), Cell(3, Kind.TOTAL)} <= item.exact


def test_a_computable_group_is_censored_like_a_cell() -> None:
    """Two answers of 1 directly in the department and six in alfa are hidden, but department − beta gives the
    eight together: all 1s. More is suppressed until no such group can be computed."""
    tree = Tree({1: None, 2: 1, 3: 1})
    direct = {1: Counts(2, 2), 2: Counts(6, 6), 3: Counts(20, 20)}
    tallies = {1: answers(1, 1), 2: answers(*[1] * 6), 3: answers(*[3, 4] * 10)}
    outcome = protect_round(tree, direct, tallies, ITEMS, 5, 10)
    item = outcome.items["A"]
    # Whichever cell the protection chooses (the least-loss complement already hides the top total here), the
    # department and beta are never both exact.
    assert not {Cell(1, Kind.TOTAL), Cell(3, Kind.TOTAL)} <= item.exact


#: Teams 2, 3 and 4 under 1, nobody invited directly in 1 (k = 3, k_dist = 5). Teams 2 and 3 answer 1, 1 each (too
#: few: hidden); team 4 answers 4, 3, 5, 4, 2, 3. total(1) − total(4) − remainder(1) gives teams 2 and 3 together:
#: four answers of 1, a mean that would be censored were it a cell.
GROUP_TREE = Tree({1: None, 2: 1, 3: 1, 4: 1})
GROUP_DIRECT = {1: Counts(0, 0), 2: Counts(2, 2), 3: Counts(2, 2), 4: Counts(6, 6)}
GROUP_TALLIES = {1: answers(), 2: answers(1, 1), 3: answers(1, 1), 4: answers(4, 3, 5, 4, 2, 3)}


def computable(tree: Tree, known: set[Cell], counts: dict[Cell, Counts], units: set[int]) -> bool:
    """Whether the attacker gets the answers of these leaf units together from the known cells."""
    columns, space = attacker(tree, known, counts)
    return space.contains([Fraction(1 if c.unit in units else 0) for c in columns])


def test_a_censorable_group_is_merged_by_hiding_a_cell_with_people_never_an_empty_one() -> None:
    """The group of teams 2 and 3 above, without earlier versions. Around it: total(1) (ten answers), total(4) (six)
    and remainder(1), which nobody was invited to — known to be empty whether shown or not, so hiding it merges
    nothing (the group would stay computable) and would only count in the audit record as a suppression. The
    censoring hides the smaller of the two with people, total(4), once; worked out by hand."""
    outcome = protect_round(GROUP_TREE, GROUP_DIRECT, GROUP_TALLIES, ITEMS, 3, 5)
    item = outcome.items["A"]
    t, r = Kind.TOTAL, Kind.REMAINDER
    assert item.exact == {Cell(1, t), Cell(1, r)} and item.bounds == {}
    assert set(item.layers["A:k"].suppressed) == {Cell(2, t), Cell(3, t), Cell(4, t)}
    assert item.findings == ["censorable group under total(1): suppress total(4)"]
    counts, _ = item_counts(GROUP_TREE, GROUP_DIRECT, GROUP_TALLIES, 0)
    assert computable(GROUP_TREE, {Cell(1, t), Cell(1, r), Cell(4, t)}, counts, {2, 3})  # what it protects against
    assert not computable(GROUP_TREE, item.exact, counts, {2, 3})
    assert outcome.figures[Cell(1, t)]["A"].to_json()["mean"] == 2.5  # (4 + 21) / 10


def test_a_censorable_group_an_earlier_version_gives_is_recorded_and_left() -> None:
    """The group of teams 2 and 3 above, when version 1 (as made before censored groups were protected) showed
    total(1), remainder(1) and total(4) exactly (total(1)'s distribution too): it gives the group already, and
    nothing can take that back. Version 2 publishes those cells again (no more: teams 2 and 3 stay hidden), says so
    in its findings, and ends — it does not hide again and again what stays known. Its distributions hide
    total(4)'s, which a protection on its own tree would show: with version 1's total(1) it would give teams 2 and 3
    (four answers, k_dist = 5), and it is version 1's hidden total(4) — the audit record says so."""
    t, r = Kind.TOTAL, Kind.REMAINDER
    shown = frozenset({Cell(1, t), Cell(1, r), Cell(4, t)})
    earlier = Earlier(1, GROUP_TREE.parents, shown, {"A": shown}, {"A": frozenset({Cell(1, t)})})
    counts, _ = item_counts(GROUP_TREE, GROUP_DIRECT, GROUP_TALLIES, 0)
    assert computable(GROUP_TREE, set(shown), counts, {2, 3})
    outcome = protect_round(GROUP_TREE, GROUP_DIRECT, GROUP_TALLIES, ITEMS, 3, 5, [earlier], version=2)
    item = outcome.items["A"]
    assert (item.exact, item.bounds, item.dist) == (set(shown), {}, {Cell(1, t), Cell(1, r)})
    assert item.findings == ["censorable group under total(1) was published earlier"]
    assert {(e.role, e.kind, e.layers, e.units, e.hides) for e in outcome.explanations} == {
        ("reveals", "small_group", ("A:k_dist",), (2, 3), None), ("reveals", "derivable", ("A:k_dist",), (4,), None),
        ("more", None, ("A:k_dist",), (), Cell(4, t))}
    assert {c for c, f in outcome.figures.items() if "A" in f} == {Cell(1, t), Cell(4, t)}


def test_of_two_cells_that_lose_as_much_the_censoring_hides_the_remainder() -> None:
    """As the group above, with six people directly in 1 as well (answering as team 4: 4, 3, 5, 4, 2, 3). Around
    the group of teams 2 and 3: remainder(1) and total(4), six answers of six invited each, and total(1) (sixteen).
    Hiding either of the first two merges the group alike; the remainder goes, so that team 4 keeps its own mean
    (a unit's total is its figure; what is directly in 1 is a part of 1's)."""
    direct = {**GROUP_DIRECT, 1: Counts(6, 6)}
    tallies = {**GROUP_TALLIES, 1: answers(4, 3, 5, 4, 2, 3)}
    outcome = protect_round(GROUP_TREE, direct, tallies, ITEMS, 3, 5)
    item = outcome.items["A"]
    assert item.exact == {Cell(1, Kind.TOTAL), Cell(4, Kind.TOTAL)}
    assert item.findings == ["censorable group under total(1): suppress remainder(1)"]
    counts, _ = item_counts(GROUP_TREE, direct, tallies, 0)
    assert not computable(GROUP_TREE, item.exact, counts, {2, 3})


def nested_groups(parents: dict[int, int | None], big: tuple[int, ...]
                  ) -> tuple[Tree, dict[int, Counts], dict[int, list[Tally]]]:
    """Nobody invited directly in 1; six people directly in each ``big`` unit answer 4, 3, 5, 4, 2, 3; two people
    directly in every other unit answer 1, 1."""
    direct = {u: Counts(0, 0) if u == 1 else Counts(6, 6) if u in big else Counts(2, 2) for u in parents}
    tallies = {u: answers() if u == 1 else answers(4, 3, 5, 4, 2, 3) if u in big else answers(1, 1) for u in parents}
    return Tree(parents), direct, tallies


def test_nested_censorable_groups_wait_a_pass_and_groups_apart_do_not() -> None:
    """Teams 6 and 7 under 3, team 4 under 2 (with 3), teams 8 and 9 under 5; 2 and 5 under 1, nobody invited
    directly in 1 (k = 3, k_dist = 5). Each of those teams answers 1, 1 (too few: hidden), and so do the two people
    directly in 2; six people directly in 3 and in 5 answer 4, 3, 5, 4, 2, 3. Three groups of four answers of 1 can
    be computed: teams 6 and 7 (total(3) − remainder(3)), remainder(2) and team 4 (total(2) − total(3)), teams 8 and
    9 (total(5) − remainder(5)). Worked out by hand, in the order the groups are met (children first): the first
    pass hides remainder(3) (six answers, against total(3)'s ten) and remainder(5) (likewise); the group under 2
    waits, since its border holds total(3), which the first choice was made around. The second pass hides total(3)
    (ten, against total(2)'s fourteen). The findings say so in that order."""
    tree, direct, tallies = nested_groups({1: None, 2: 1, 5: 1, 3: 2, 4: 2, 6: 3, 7: 3, 8: 5, 9: 5}, (3, 5))
    outcome = protect_round(tree, direct, tallies, ITEMS, 3, 5)
    item = outcome.items["A"]
    t, r = Kind.TOTAL, Kind.REMAINDER
    assert item.exact == {Cell(1, t), Cell(1, r), Cell(2, t), Cell(5, t)} and item.bounds == {}
    assert item.findings == ["censorable group under total(3): suppress remainder(3)",
                             "censorable group under total(5): suppress remainder(5)",
                             "censorable group under total(2): suppress total(3)"]
    check_means(tree, direct, tallies, 3, 5, outcome)


def test_a_group_an_earlier_version_gives_holds_up_no_other() -> None:
    """The tree above with team 11 beside 2 and 5 (six people directly in 11, teams 12 and 13 under it answering
    1, 1), when version 1 showed total(5) and remainder(5): it gives teams 8 and 9 together, which nothing can take
    back. Worked out by hand: the first pass hides remainder(3), leaves the group under 5 as published earlier, and
    still hides remainder(11) for teams 12 and 13 (met after it, apart from the others); the second hides total(3)
    for the group under 2, as without version 1. Every other group of four answers of 1 stays hidden."""
    tree, direct, tallies = nested_groups({1: None, 2: 1, 5: 1, 11: 1, 3: 2, 4: 2, 6: 3, 7: 3, 8: 5, 9: 5, 12: 11,
                                           13: 11}, (3, 5, 11))
    t, r = Kind.TOTAL, Kind.REMAINDER
    shown = frozenset({Cell(5, t), Cell(5, r)})
    outcome = protect_round(tree, direct, tallies, ITEMS, 3, 5, [Earlier(1, tree.parents, shown, {"A": shown})],
                            version=2)
    item = outcome.items["A"]
    assert item.exact == {Cell(1, t), Cell(1, r), Cell(2, t), Cell(5, t), Cell(5, r), Cell(11, t)}
    assert item.findings == ["censorable group under total(3): suppress remainder(3)",
                             "censorable group under total(5) was published earlier",
                             "censorable group under total(11): suppress remainder(11)",
                             "censorable group under total(2): suppress total(3)"]
    counts, _ = item_counts(tree, direct, tallies, 0)
    assert computable(tree, set(shown), counts, {8, 9})
    for group in ({6, 7}, {2, 4}, {12, 13}):
        assert not computable(tree, item.exact, counts, group)


def test_yes_no_items_show_nothing_below_k_dist_and_flag_at_the_lowest_level_with_k_dist() -> None:
    tree = Tree({1: None, 2: 1, 3: 1})
    direct = {1: Counts(0, 0), 2: Counts(6, 6), 3: Counts(6, 6)}
    tallies = {1: answers(at=1), 2: answers(0, 0, 0, 0, 0, 0, at=1), 3: answers(0, 0, 1, 0, 0, 0, at=1)}
    outcome = protect_round(tree, direct, tallies, ITEMS, 5, 10)
    assert "Y" not in outcome.figures[Cell(2, Kind.TOTAL)] and "Y" not in outcome.figures[Cell(3, Kind.TOTAL)]
    assert outcome.figures[Cell(1, Kind.TOTAL)]["Y"].to_json() == {"v": 2, "n": 12, "yes": 8, "dist": [11, 1, 0],
                                                                   "skip": 0, "flag": True}


def test_nobody_answering_looks_like_too_few() -> None:
    tree = Tree({1: None})
    outcome = protect_round(tree, {1: Counts(6, 6)}, {1: answers(None, None, None, None, None, None)}, ITEMS, 5, 10)
    assert "A" not in outcome.figures[Cell(1, Kind.TOTAL)]


def tallies_of(*columns: tuple[int | None, ...]) -> list[Tally]:
    """One tally per item, from each item's answers (None: prefer not to say)."""
    result = []
    for values in columns:
        tally = Tally()
        for value in values:
            tally.add(value)
        result.append(tally)
    return result


def test_the_stored_figures_of_a_cell_worked_out_by_hand() -> None:
    """Eight of ten invited answered. A: 1, 2, 4, 4, 5, 5 and two skips — mean 3.5, sample SD √2.7 = 1.64…, one
    answer each of 1 and 2, two each of 4 and 5, skips 2 of the 8 respondents (25 %, not 2 of 6). Y: four no, one
    "yes, once", one "yes, several times", two skips — 2 of 6 said yes (33 %), so the flag is up. N: 10, 9, 9, 9, 7,
    2, 5 and one skip — mean 51/7 = 7.29, SD 2.87, four promoters and two detractors of 7 (eNPS 28.6 → 29), skips 1
    of 8 = 12.5 % → 13 (half away from zero)."""
    tree = Tree({1: None})
    tallies = {1: tallies_of((1, 2, 4, 4, 5, 5, None, None), (0, 0, 0, 0, 1, 2, None, None),
                             (10, 9, 9, 9, 7, 2, 5, None))}
    outcome = protect_round(tree, {1: Counts(8, 10)}, tallies, ITEMS, 3, 5)
    shown = outcome.figures[Cell(1, Kind.TOTAL)]
    assert shown == {
        "A": Figures(Form.EXACT, 1, 6, mean=3.5, sd=1.6, dist=(1, 1, 0, 2, 2), skip=25),
        "Y": Figures(Form.EXACT, 2, 6, yes=33, dist=(4, 1, 1), skip=25, flag=True),
        "N": Figures(Form.EXACT, 1, 7, mean=7.3, sd=2.9, dist=(0, 0, 1, 0, 0, 1, 0, 1, 0, 3, 1), skip=13, enps=29),
    }
    assert shown["N"].to_json() == {"v": 1, "n": 7, "mean": 7.3, "sd": 2.9, "dist": [0, 0, 1, 0, 0, 1, 0, 1, 0, 3, 1],
                                    "skip": 13, "enps": 29}
    # The audit record keeps each item's layers under their names.
    assert {code: set(item.layers) for code, item in outcome.items.items()} == {
        "A": {"A:k", "A:k_dist"}, "Y": {"Y:k_dist"}, "N": {"N:k", "N:k_dist"}}


def test_between_k_and_k_dist_a_mean_and_nothing_more() -> None:
    """Four answered (k = 3, k_dist = 5): A and N show n and the mean only, the yes/no item nothing at all."""
    tree = Tree({1: None})
    tallies = {1: tallies_of((2, 3, 3, 4), (0, 0, 0, 1), (9, 9, 9, 8))}
    outcome = protect_round(tree, {1: Counts(4, 5)}, tallies, ITEMS, 3, 5)
    assert outcome.figures[Cell(1, Kind.TOTAL)] == {"A": Figures(Form.EXACT, 1, 4, mean=3.0),
                                                    "N": Figures(Form.EXACT, 1, 4, mean=8.8)}
    assert (outcome.items["A"].exact, outcome.items["A"].dist) == ({Cell(1, Kind.TOTAL)}, set())
    assert outcome.items["Y"].exact == set()


#: Units 2, 3 and 4 under 1 (nobody directly in 1): one respondent in 2, four in 3, ten in 4 (k = 3, k_dist = 5).
#: Every layer hides something: team 2 everywhere, team 3's figures below k_dist (four answers each).
LAYERED_TREE = Tree({1: None, 2: 1, 3: 1, 4: 1})
LAYERED_DIRECT = {1: Counts(0, 0), 2: Counts(1, 1), 3: Counts(4, 4), 4: Counts(10, 10)}
LAYERED_TALLIES = {1: tallies_of((), (), ()), 2: tallies_of((3,), (0,), (7,)),
                   3: tallies_of((2, 3, 3, 4), (0, 0, 0, 1), (7, 8, 7, 8)),
                   4: tallies_of((1, 2, 3, 4, 5) * 2, (0,) * 10, (9, 10, 6, 7, 8) * 2)}
#: The layers in the order protect_round protects them.
LAYERS = ("respondents", "A:k", "A:k_dist", "Y:k_dist", "N:k", "N:k_dist")


@pytest.mark.parametrize("leaking", LAYERS)
def test_a_layer_that_publishes_too_much_fails_its_own_audit(monkeypatch: pytest.MonkeyPatch, leaking: str) -> None:
    """Defence in depth: every layer is audited on its own tree after its protection. Were the protection of one
    layer ever to publish every cell, no release may come out of it: AuditError, naming that layer."""
    real = protection.protect
    calls: list[int] = []

    def leaky(tree: Tree, counts: Mapping[Cell, Counts], k: int, **options: Any) -> Protection:
        calls.append(k)
        if len(calls) == LAYERS.index(leaking) + 1:
            return Protection(published=set(tree.cells()), suppressed={})
        return real(tree, counts, k, **options)

    monkeypatch.setattr(protection, "protect", leaky)
    with pytest.raises(protection.AuditError, match=rf"in layer {re.escape(leaking)}: "):
        protect_round(LAYERED_TREE, LAYERED_DIRECT, LAYERED_TALLIES, ITEMS, 3, 5)


def test_the_layered_tree_as_protected() -> None:
    """The protection of the tree above without a leak, worked out by hand: team 2 is too small, and of the totals
    that could hide it, the department's loses least (with teams 3 and 4 shown it is known to within team 2's one
    person anyway). Team 3's four answers show a mean and nothing more; the yes/no item needs five."""
    outcome = protect_round(LAYERED_TREE, LAYERED_DIRECT, LAYERED_TALLIES, ITEMS, 3, 5)
    t = Kind.TOTAL
    assert outcome.nodes == {Cell(1, Kind.REMAINDER), Cell(3, t), Cell(4, t)}
    assert outcome.items["A"].exact == outcome.items["N"].exact == outcome.nodes
    assert outcome.items["A"].dist == outcome.items["N"].dist == outcome.items["Y"].exact == {
        Cell(1, Kind.REMAINDER), Cell(4, t)}


# --- the parts, worked out by hand -------------------------------------------------------------------------------


def test_an_explanation_is_recorded_as_plain_json() -> None:
    """What the audit record stores of an explanation, written out: every term with its version, unit, kind and
    coefficient (as an exact fraction), the round only for a pooled release's term, and the hidden cell."""
    full = Explanation("hides", "small_group", ("respondents", "A:k"), units=(4, 7),
                       formula=(Term(1, Cell(2, Kind.TOTAL)), Term(2, Cell(2, Kind.REMAINDER), Fraction(-1), round=5)),
                       cell=Term(1, Cell(4, Kind.TOTAL), Fraction(1, 2)), hides=Cell(3, Kind.TOTAL))
    assert full.record() == {
        "role": "hides", "kind": "small_group", "layers": ["respondents", "A:k"], "units": [4, 7],
        "formula": [{"version": 1, "unit": 2, "kind": "total", "coefficient": "1"},
                    {"version": 2, "unit": 2, "kind": "remainder", "coefficient": "-1", "round": 5}],
        "cell": {"version": 1, "unit": 4, "kind": "total", "coefficient": "1/2"},
        "hides": {"unit": 3, "kind": "total"}}
    assert Explanation("more", None, ("N:k_dist",), hides=Cell(1, Kind.REMAINDER)).record() == {
        "role": "more", "kind": None, "layers": ["N:k_dist"], "units": [], "formula": [],
        "hides": {"unit": 1, "kind": "remainder"}}
    assert Explanation("earlier", "derivable", ("respondents",)).record() == {
        "role": "earlier", "kind": "derivable", "layers": ["respondents"], "units": [], "formula": []}


def test_an_earlier_version_names_itself_and_its_atoms() -> None:
    """A version of this round's release: units are atoms; a round's release in a pooled audit: (round, unit); an
    earlier pooled version: the atoms it lists."""
    assert (Earlier(3, {}).name, Earlier(3, {}).atoms_of(5)) == ("version 3", (5,))
    assert (Earlier(2, {}, round=7).name, Earlier(2, {}, round=7).atoms_of(5)) == ("round 7 version 2", ((7, 5),))
    pooled = Earlier(1, {}, atoms={5: ((7, 5), (8, 5))})
    assert (pooled.atoms_of(5), pooled.atoms_of(6)) == (((7, 5), (8, 5)), ())


def test_pooled_parts_add_up_by_hand() -> None:
    """Unit 1 over rounds 1 and 2, unit 2 in round 1 only, where nobody answered (no tally at all)."""
    a, b, c = (1, 1), (2, 1), (1, 2)
    parts = Parts({1: (a, b), 2: (c,)}, {a: Counts(3, 4), b: Counts(2, 5), c: Counts(0, 3)},
                  {a: tallies_of((4, 5, None)), b: tallies_of((1, 2))})
    direct, tallies = parts.pooled(1)
    assert direct == {1: Counts(5, 9), 2: Counts(0, 3)}
    assert tallies == {1: [Tally(4, 1, 12.0, 46.0, {4: 1, 5: 1, 1: 1, 2: 1})], 2: [Tally()]}
    assert parts.counts(None) == {1: {a: Counts(3, 4), b: Counts(2, 5)}, 2: {c: Counts(0, 3)}}
    assert parts.counts(0) == {1: {a: Counts(2, 4), b: Counts(2, 5)}, 2: {c: Counts(0, 3)}}
    assert parts.sums(0) == {a: 9.0, b: 3.0}


def test_a_cell_nobody_answered_in_has_nothing_to_hide_from_k_invited() -> None:
    atoms: dict[Hashable, Counts] = {"a": Counts(0, 2), "b": Counts(0, 2), "c": Counts(1, 3)}
    assert _nothing_to_hide(atoms, ["a", "b"], 4) and not _nothing_to_hide(atoms, ["a", "b"], 5)
    assert not _nothing_to_hide(atoms, ["a", "c"], 2)  # someone answered in c
    assert _nothing_to_hide(atoms, ["a", "elsewhere"], 2) and not _nothing_to_hide(atoms, ["a", "elsewhere"], 3)


def test_computable_and_censorable_groups_by_hand() -> None:
    """Units 2 and 3 under 1, units 4 and 5 under 2. Known: total(1), total(4), and remainder(1), which nobody was
    invited to. Total(1) less what is known gives team 3, remainder(2) and team 5: four answers (k = 3, k_dist = 6)
    summing to 5, a mean of 1.25 — censored ("≤ 1,5") were it a cell."""
    tree = Tree({1: None, 2: 1, 3: 1, 4: 2, 5: 2})
    t, r = Kind.TOTAL, Kind.REMAINDER
    answered = {Cell(1, r): Counts(0, 0), Cell(2, r): Counts(1, 2), Cell(3, t): Counts(2, 3), Cell(4, t): Counts(5, 5),
                Cell(5, t): Counts(1, 1)}
    answered[Cell(2, t)] = Counts(7, 8)
    answered[Cell(1, t)] = Counts(9, 11)
    known = {Cell(1, t), Cell(4, t)}
    [group] = computable_groups(tree, known, answered)
    assert group.unit == 1
    assert set(group.parts) == {Cell(3, t), Cell(2, r), Cell(5, t)}
    assert set(group.border) == {Cell(1, r), Cell(4, t), Cell(1, t)}
    sums = {Cell(3, t): 2.0, Cell(2, r): 1.0, Cell(5, t): 2.0}
    assert censorable_groups(tree, known, answered, sums, AGREE, 3, 6) == [group]
    assert censorable_groups(tree, known, answered, {**sums, Cell(3, t): 8.0}, AGREE, 3, 6) == []  # mean 2.75
    assert censorable_groups(tree, known, answered, sums, AGREE, 3, 4) == []  # four answers: k_dist reached
    assert censorable_groups(tree, known, answered, sums, AGREE, 5, 6) == []  # fewer than k: hidden anyway
    assert censorable_groups(tree, known, answered, sums, AGREE, 4, 6) == [group]  # exactly k
    assert censorable_groups(tree, known, answered, {c: 4 * v for c, v in sums.items()}, AGREE, 3, 6) == [group]


# --- the one rounding ---------------------------------------------------------------------------------------------


def test_published_figures_round_half_away_from_zero() -> None:
    assert round_half_away(41 / 15, 1) == 2.7
    assert round_half_away(2.65, 1) == 2.7  # round() and Babel both give 2.6
    assert round_half_away(2.25, 1) == 2.3
    assert round_half_away(0.05, 1) == 0.1  # Babel gives 0.0
    assert round_half_away(-2.65, 1) == -2.7
    assert whole(42.5) == 43 and whole(-42.5) == -43 and whole(12.4999) == 12
    assert one_decimal(-0.04) == 0.0 and str(one_decimal(-0.04)) == "0.0"  # never "-0,0"
    assert one_decimal(None) is None and whole(None) is None


def test_the_index_is_exact_before_it_is_rounded() -> None:
    """2.7 on a 1–5 scale is exactly 42.5, which rounds to 43 (float arithmetic alone may give 42.4999…)."""
    value = index([(2.7, AGREE, False)])
    assert value == 42.5 and whole(value) == 43
    assert whole(index([(2.7, AGREE, False), (3.1, AGREE, True)])) == whole((42.5 + 47.5) / 2)


def test_a_free_text_question_is_skipped_and_the_questions_after_it_still_get_figures() -> None:
    """A comment question has no scale: its answers are comments, never figures — and it does not end the round's
    questions. Asked first, it gets no figures; A, asked after it (six answers: 4, 4, 3, 3, 5, 2), still shows its
    mean, 3.5, with k = k_dist = 5."""
    items = (Item("C", 1, "text"), Item("A", 1, "agree5"))
    tallies = {1: [Tally(), Tally()]}
    for value in (4, 4, 3, 3, 5, 2):
        tallies[1][1].add(value)
    outcome = protect_round(Tree({1: None}), {1: Counts(6, 6)}, tallies, items, 5, 5)
    shown = outcome.figures[Cell(1, Kind.TOTAL)]
    assert set(shown) == {"A"} and set(outcome.items) == {"A"}
    assert (shown["A"].n, shown["A"].mean) == (6, 3.5)


def test_the_respondents_layer_is_returned_for_the_audit_record() -> None:
    """The release's audit record counts what the respondents layer published, suppressed and why
    (pulse.services.releases.layer_record reads ``Outcome.node_layer``). Team 2 has two respondents (k = 5): hidden
    as too small; the department's total hidden as its complement (less team 3 it would give team 2) — hiding
    it loses less than hiding team 3, whose eight would be lost whole; team 3 and the department's empty remainder
    are published."""
    tree = Tree({1: None, 2: 1, 3: 1})
    direct = {1: Counts(0, 0), 2: Counts(2, 2), 3: Counts(8, 8)}
    outcome = protect_round(tree, direct, {u: answers() for u in direct}, ITEMS, 5, 5)
    layer = outcome.node_layer
    assert layer.published == outcome.nodes == {Cell(3, Kind.TOTAL), Cell(1, Kind.REMAINDER)}
    assert {c: r.value for c, r in layer.suppressed.items()} == {Cell(2, Kind.TOTAL): "primary",
                                                                  Cell(1, Kind.TOTAL): "complementary"}
