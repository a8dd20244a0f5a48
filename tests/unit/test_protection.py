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

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from itertools import combinations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulse.domain.protection import Item, Outcome, protect_round
from pulse.domain.scales import SCALES
from pulse.domain.stats import Tally, censor, index, one_decimal, round_half_away, whole
from pulse.domain.suppression import Cell, Counts, Kind, Tree, cell_counts
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
