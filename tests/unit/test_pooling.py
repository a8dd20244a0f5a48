"""Pooled periods (docs/ANONYMITY.md, "Pooled periods"): periods never overlap, and a pooled release together with
the rounds' own releases reveals nothing either must not.

The attacker knows every figure the rounds' releases and the pooled release show, and who belongs where. The check
is the naive brute force of tests/unit/test_derivation.py over every group of atoms ``(round, unit)``, independent of
pulse.domain.derivation: no hidden cell of any round or of the pool, and no group below the layer's threshold, may
lie in the span of the published cells.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable
from fractions import Fraction
from itertools import combinations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulse.domain.derivation import audit_sets
from pulse.domain.pooling import Period, RoundState, complete, from_key, period_of, validate
from pulse.domain.protection import Earlier, Outcome, Parts, Term, protect_round
from pulse.domain.scales import SCALES
from pulse.domain.stats import Tally, censor
from pulse.domain.suppression import Cell, Counts, Kind, Tree, is_safe_group
from tests.unit.test_derivation import RowSpace, brute_force
from tests.unit.test_protection import ITEMS
from tests.unit.test_versions import as_stored, members

# --- periods ----------------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["month", "quarter", "rounds"]), st.integers(2, 6),
       st.lists(st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2027, 12, 31),
                             timezones=st.just(dt.UTC)), min_size=1, max_size=30))
def test_every_round_is_in_exactly_one_period_and_periods_never_overlap(kind: str, size: int,
                                                                        opened: list[dt.datetime]) -> None:
    """Periods are a partition of the rounds: a round's period depends on the round alone, two periods share no
    round, and what a period holds is contiguous (no period's span reaches into another's)."""
    opened = sorted(opened)
    periods = {number: period_of(kind, size, number=number, opened_at=at)
               for number, at in enumerate(opened, start=1)}
    by_period: dict[Period, list[int]] = {}
    for number, period in periods.items():
        by_period.setdefault(period, []).append(number)
        assert from_key(period.key) == period
        if kind == "rounds":
            first, last = period.round_numbers()
            assert first <= number <= last and last - first + 1 == size
        else:
            start, end = period.start(), period.end()
            assert start is not None and end is not None
            local = opened[number - 1].astimezone(dt.timezone(dt.timedelta(0)))
            assert dt.datetime.combine(start, dt.time(0), dt.UTC) - dt.timedelta(hours=2) <= local < end
    spans = sorted((min(n), max(n)) for n in by_period.values())
    for (_, last), (first, _) in zip(spans, spans[1:], strict=False):
        assert last < first  # no overlap, no interleaving: a window is fixed, never sliding


def test_calendar_periods_follow_swedish_time() -> None:
    """A round that opens just after midnight on 1 December, Swedish time, is December's."""
    at = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)  # 00:30 on 1 December in Stockholm
    assert period_of("month", None, number=1, opened_at=at).key == "2026-12"
    assert period_of("quarter", None, number=1, opened_at=at).key == "2026-Q4"
    assert period_of("rounds", 4, number=7, opened_at=at).key == "rounds-5-8"
    assert Period("month", 2026, 12).end() == dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("kind", "size"), [("weekly", None), ("rounds", 1), ("rounds", 14), ("rounds", None)])
def test_a_pooling_out_of_range_is_refused(kind: str, size: int | None) -> None:
    with pytest.raises(ValueError, match="pooling|rounds per period"):
        validate(kind, size)


def test_a_period_completes_when_no_round_can_join_and_all_are_released() -> None:
    block = Period("rounds", 0, 1, 3)  # rounds 4–6
    done = [RoundState(n, True, True) for n in (4, 5, 6)]
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert complete(block, done, now)
    assert not complete(block, done[:2], now)  # round 6 may still come
    assert not complete(block, [*done[:2], RoundState(6, True, False)], now)  # not released yet
    month = Period("month", 2026, 11)
    assert not complete(month, done, dt.datetime(2026, 11, 29, tzinfo=dt.UTC))  # November is not over
    assert complete(month, done, now)
    assert not complete(month, done[:1], now)  # one round pooled is that round's own release


# --- the joint audit --------------------------------------------------------------------------------------------

Round = tuple[dict[int, Counts], dict[int, list[Tally]]]


def pool(tree: Tree, rounds: dict[int, Round], k: int, k_dist: int) -> tuple[dict[int, Outcome], Outcome, Parts]:
    """Each round released on its own, then the period pooled and audited jointly with them."""
    released = {r: protect_round(tree, direct, tallies, ITEMS, k, k_dist) for r, (direct, tallies) in rounds.items()}
    earlier = [as_round(r, tree, outcome) for r, outcome in released.items()]
    parts = Parts({u: tuple((r, u) for r in rounds) for u in tree.parents},
                  {(r, u): c for r, (direct, _) in rounds.items() for u, c in direct.items()},
                  {(r, u): t for r, (_, tallies) in rounds.items() for u, t in tallies.items()})
    direct, tallies = parts.pooled(len(ITEMS))
    pooled = protect_round(tree, direct, tallies, ITEMS, k, k_dist, earlier, parts=parts)
    return released, pooled, parts


def as_round(number: int, tree: Tree, outcome: Outcome) -> Earlier:
    stored = as_stored(1, tree, outcome)
    return Earlier(1, stored.parents, stored.nodes, stored.exact, stored.dists, round=number)


def fine(tree: Tree, cell: Cell, rounds: Iterable[int]) -> frozenset[Hashable]:
    return frozenset((r, u) for r in rounds for u in members(tree, cell))


def shown_sets(tree: Tree, released: dict[int, Outcome], pooled: Outcome, parts: Parts, layer: str,
               ) -> list[tuple[str, frozenset[Hashable], bool]]:
    """Every cell of every release in one layer: (label, atoms, shown)."""
    result = []
    code, _, threshold = layer.partition(":")
    stores = [(f"round {r}", as_round(r, tree, o), (r,)) for r, o in released.items()]
    stores.append(("pool", as_round(0, tree, pooled), tuple(released)))
    for name, stored, rounds in stores:
        if layer == "respondents":
            shown = set(stored.nodes)
        elif threshold == "k_dist":
            shown = set(stored.dists.get(code, ()))
        else:
            shown = set(stored.exact.get(code, ()))
        for cell in tree.cells():
            result.append((f"{name} {cell}", fine(tree, cell, rounds), cell in shown))
    return result


def check(tree: Tree, rounds: dict[int, Round], released: dict[int, Outcome], pooled: Outcome, parts: Parts,
          k: int, k_dist: int) -> None:
    layers = [("respondents", None, k)]
    for index, item in enumerate(ITEMS):
        if item.scale == "yesno":
            layers.append((f"{item.code}:k_dist", index, k_dist))
        else:
            layers += [(f"{item.code}:k", index, k), (f"{item.code}:k_dist", index, k_dist)]
    for layer, index, threshold in layers:
        atoms = {a: c for unit in parts.counts(index).values() for a, c in unit.items()}
        cells = shown_sets(tree, released, pooled, parts, layer)
        published = [m for _, m, shown in cells if shown]
        hidden = {}
        for label, group, shown in cells:
            size = Counts(sum(atoms[a].respondents for a in group), sum(atoms[a].invited for a in group))
            if not shown and not (size.respondents == 0 and is_safe_group(size, threshold)):
                hidden[label] = group
        derivable, groups = brute_force(atoms, published, threshold, hidden)
        assert groups == [], f"{layer}: groups too small can be computed: {groups}"
        assert derivable == set(), f"{layer}: hidden cells can be computed: {derivable}"
        # The exact audit agrees with the brute force on what was published (a second opinion, not the proof).
        shown = {label: group for label, group, visible in cells if visible}
        assert audit_sets(atoms, shown, threshold, hidden=hidden) == []
    # Censored means: no group of k to k_dist answers whose mean would be censored follows from the exact figures.
    for index, item in enumerate(ITEMS):
        if item.scale != "agree5":
            continue
        exact = [m for _, m, shown in shown_sets(tree, released, pooled, parts, f"{item.code}:k") if shown]
        atoms = {a: c for unit in parts.counts(index).values() for a, c in unit.items()}
        columns = sorted(atoms)
        space = RowSpace(columns, [*exact, *([a] for a in columns if atoms[a].invited == 0)])
        for size in range(1, len(columns) + 1):
            for group in combinations(columns, size):
                n = sum(atoms[a].respondents for a in group)
                total = sum(parts.tallies[a][index].total for a in group)
                if k <= n < k_dist and censor(total / n, SCALES["agree5"]):
                    assert not space.contains(group), f"a censorable group can be computed: {group}"


@st.composite
def periods(draw: st.DrawFn) -> tuple[Tree, dict[int, Round], int, int]:
    """A small tree and two or three rounds of it, each with its own participation and answers (often all at one
    end of the scale, so that censoring happens)."""
    units = draw(st.integers(min_value=1, max_value=4))
    parents: dict[int, int | None] = {0: None}
    for unit in range(1, units):
        parents[unit] = draw(st.integers(min_value=0, max_value=unit - 1))
    tree = Tree(parents)
    rounds: dict[int, Round] = {}
    for number in range(1, draw(st.integers(min_value=2, max_value=3 if units > 2 else 4)) + 1):
        direct: dict[int, Counts] = {}
        tallies: dict[int, list[Tally]] = {}
        for unit in parents:
            invited = draw(st.integers(min_value=0, max_value=8))
            answered = draw(st.integers(min_value=0, max_value=invited))
            direct[unit] = Counts(answered, invited)
            low = draw(st.booleans())
            unit_tallies = [Tally() for _ in ITEMS]
            for _ in range(answered):
                unit_tallies[0].add(draw(st.sampled_from([1, 1, 2] if low else [1, 3, 5, None])))
                unit_tallies[1].add(draw(st.sampled_from([0, 0, 0, 1, None])))
                unit_tallies[2].add(draw(st.integers(0, 10)))
            tallies[unit] = unit_tallies
        rounds[number] = (direct, tallies)
    k = draw(st.integers(3, 4))
    return tree, rounds, k, draw(st.integers(k, k + 4))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(periods())
def test_a_pooled_release_with_the_rounds_releases_reveals_nothing(case: tuple[Tree, dict[int, Round], int, int]
                                                                   ) -> None:
    tree, rounds, k, k_dist = case
    released, pooled, parts = pool(tree, rounds, k, k_dist)
    check(tree, rounds, released, pooled, parts, k, k_dist)


def answers(values: list[int]) -> list[Tally]:
    result = [Tally() for _ in ITEMS]
    for value in values:
        result[0].add(value)
        result[1].add(0)
        result[2].add(7)
    return result


def test_the_issue_pooled_minus_the_published_rounds_is_the_hidden_round() -> None:
    """A team of 4 (k = 3) publishes in rounds 1, 2 and 4 but not in round 3 (two answered). The pooled figure minus
    the three published rounds would be round 3's: the pooled total of the team must not be published with its
    exact figures — and yet a unit too small every round gets a pooled figure."""
    tree = Tree({1: None, 2: 1, 3: 1})  # an office (1) with a team (2) and a small team (3)
    counts = {1: (3, 3, 2, 3), 2: (2, 2, 2, 2)}  # answered per round: the team, the small team
    rounds: dict[int, Round] = {}
    for number in range(1, 5):
        team, small = counts[1][number - 1], counts[2][number - 1]
        direct = {1: Counts(6, 6), 2: Counts(team, 4), 3: Counts(small, 2)}
        tallies = {1: answers([3, 4, 2, 5, 4, 3]), 2: answers([4, 2, 5][:team]), 3: answers([2, 3][:small])}
        rounds[number] = (direct, tallies)
    released, pooled, parts = pool(tree, rounds, 3, 3)
    team = Cell(2, Kind.TOTAL)
    assert [team in released[r].nodes for r in (1, 2, 3, 4)] == [True, True, False, True]
    # The attack: pooled total of the team minus rounds 1, 2 and 4 is round 3's hidden figure.
    assert team not in pooled.nodes
    # The small team (two people each round, never shown) is shown pooled: 8 answers over the month.
    assert Cell(3, Kind.TOTAL) in pooled.nodes and all(Cell(3, Kind.TOTAL) not in r.nodes for r in released.values())
    check(tree, rounds, released, pooled, parts, 3, 3)
    assert any(e.role in ("reveals", "hides") and any(t.round == 3 for t in (*e.formula,
                                                                            *([e.cell] if e.cell else [])))
               or e.role == "more" for e in pooled.explanations)
    # The audit record says it in the attacker's terms: a formula over the rounds' and the pool's published cells
    # (a term without a round is the pool's, over rounds 1–4) that adds up to round 3's team alone, named by its unit
    # — not a (round, unit) pair, each cell with its version (the pool's first, as every round's here); and the pool
    # hides one of its own cells in that formula for it.
    def adds_up(formula: Iterable[Term]) -> dict[Hashable, Fraction]:
        total: dict[Hashable, Fraction] = {}
        for term in formula:
            for atom in fine(tree, term.cell, [term.round] if term.round is not None else range(1, 5)):
                total[atom] = total.get(atom, Fraction(0)) + term.coefficient
        return {atom: c for atom, c in total.items() if c}

    about_team = [e for e in pooled.explanations if e.role in ("reveals", "hides") and e.units == (2,)]
    assert {e.role for e in about_team} == {"reveals", "hides"}
    assert all(adds_up(e.formula) == {(3, 2): 1} for e in about_team)
    assert all(t.version == 1 for e in about_team for t in e.formula)  # the period's first pooled version
    assert all(e.hides is not None and e.hides not in pooled.nodes  # a pool cell of the formula, hidden
               and any(t.round is None and t.cell == e.hides for t in e.formula)
               for e in about_team if e.role == "hides")


def test_a_period_of_one_released_unit_pooled_changes_nothing_it_need_not() -> None:
    """Where every round publishes a unit, the pool publishes it too (nothing to protect there)."""
    tree = Tree({1: None, 2: 1})
    rounds: dict[int, Round] = {r: ({1: Counts(5, 6), 2: Counts(6, 6)},
                                     {1: answers([3, 3, 4, 2, 5]), 2: answers([4, 4, 2, 3, 5, 1])}) for r in (1, 2)}
    released, pooled, parts = pool(tree, rounds, 3, 5)
    assert pooled.nodes == released[1].nodes == set(tree.cells())
    check(tree, rounds, released, pooled, parts, 3, 5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(periods(), st.data())
def test_the_audit_finds_what_brute_force_finds_when_a_pooled_cell_is_added(
        case: tuple[Tree, dict[int, Round], int, int], data: st.DataObject) -> None:
    """Any pooled cell added to the rounds' published cells: the audit says it reveals something exactly when a
    brute force finds a hidden round cell or a group below k in the span."""
    tree, rounds, k, _ = case
    released = {r: protect_round(tree, direct, tallies, ITEMS, k, k) for r, (direct, tallies) in rounds.items()}
    atoms = {(r, u): c for r, (direct, _) in rounds.items() for u, c in direct.items()}
    published: dict[Hashable, frozenset[Hashable]] = {}
    hidden: dict[Hashable, frozenset[Hashable]] = {}
    for r, outcome in released.items():
        for cell in tree.cells():
            group = fine(tree, cell, (r,))
            size = Counts(sum(atoms[a].respondents for a in group), sum(atoms[a].invited for a in group))
            if cell in outcome.nodes:
                published[f"round {r} {cell}"] = group
            elif not (size.respondents == 0 and is_safe_group(size, k)):
                hidden[f"round {r} {cell}"] = group
    cell = data.draw(st.sampled_from(tree.cells()))
    published[f"pooled {cell}"] = fine(tree, cell, tuple(rounds))
    derivable, groups = brute_force(atoms, published.values(), k, hidden)
    findings = audit_sets(atoms, published, k, hidden=hidden)
    assert bool(findings) == bool(derivable or groups), (findings, derivable, groups)


def test_a_pooled_mean_is_audited_on_who_answered_the_item() -> None:
    """Found by the property test above at its full count of examples. One team over four rounds (k = k_dist = 3):
    nobody in round 1; two in round 2 who answer A with 1 and 1; one in round 3 who skips A; three in round 4 who
    answer 1. Only round 4 shows A. Pooled, six responded but five answered A: the pooled A less round 4's is round
    2's two answers. Counted by respondents that group holds three (with the one who skipped) and would pass, so
    the pooled item layer must count who answered it — and hide the pooled A."""
    tree = Tree({0: None})
    team = Cell(0, Kind.TOTAL)
    rounds: dict[int, Round] = {
        1: ({0: Counts(0, 0)}, {0: answers([])}), 2: ({0: Counts(2, 2)}, {0: answers([1, 1])}),
        3: ({0: Counts(1, 1)}, {0: answers([None])}), 4: ({0: Counts(3, 3)}, {0: answers([1, 1, 1])})}  # type: ignore[list-item]
    released, pooled, parts = pool(tree, rounds, 3, 3)
    assert [team in released[r].items["A"].exact for r in (2, 3, 4)] == [False, False, True]  # round 1 is empty
    assert team in pooled.nodes and team not in pooled.items["A"].exact
    check(tree, rounds, released, pooled, parts, 3, 3)


def test_a_pooled_distribution_is_audited_on_who_answered_the_item() -> None:
    """As the test above, for the distribution (k = 2, k_dist = 3). One team over three rounds: in round 1 two
    answer A (3, 3): a mean at k, no distribution; in round 2 one responds and skips A; in round 3 three answer A
    (3, 4, 2) and show its distribution. Pooled, five answered A: the pooled distribution less round 3's is the
    two answers of rounds 1 and 2 together — no cell of any release, just a group. Counted by respondents it holds
    four and would pass, so the pooled distribution layer must count who answered A — and hide the pooled
    distribution, while the pooled mean (that group's two answers, at k) stays."""
    tree = Tree({0: None})
    team = Cell(0, Kind.TOTAL)
    rounds: dict[int, Round] = {1: ({0: Counts(2, 2)}, {0: answers([3, 3])}),
                                2: ({0: Counts(2, 2)}, {0: answers([None, None])}),  # type: ignore[list-item]
                                3: ({0: Counts(3, 3)}, {0: answers([3, 4, 2])})}
    released, pooled, parts = pool(tree, rounds, 2, 3)
    stored = [as_round(r, tree, released[r]) for r in (1, 2, 3)]  # what the rounds' releases show
    assert [team in s.exact.get("A", ()) for s in stored] == [True, False, True]
    assert [team in s.dists.get("A", ()) for s in stored] == [False, False, True]
    assert team in pooled.items["A"].exact and team not in pooled.items["A"].dist
    check(tree, rounds, released, pooled, parts, 2, 3)


def test_a_pooled_yes_no_item_is_audited_on_who_answered_it() -> None:
    """As the test above, for a yes/no item (its one layer at k_dist; k = 2, k_dist = 3). One team over three rounds:
    in round 1 two answer Y; in round 2 two respond and both skip Y; in round 3 three answer Y, which round 3's
    release shows. Pooled, five answered Y: the pooled figure less round 3's is round 1's two answers, below
    k_dist. Counted by respondents it would hold four and pass, so the pooled yes/no layer must count who answered
    Y — and hide the pooled figure."""
    def yes_no(values: list[int | None]) -> list[Tally]:
        result = [Tally() for _ in ITEMS]
        for value in values:
            result[0].add(3)
            result[1].add(value)
            result[2].add(7)
        return result

    tree = Tree({0: None})
    team = Cell(0, Kind.TOTAL)
    rounds: dict[int, Round] = {1: ({0: Counts(2, 2)}, {0: yes_no([1, 0])}),
                                2: ({0: Counts(2, 2)}, {0: yes_no([None, None])}),
                                3: ({0: Counts(3, 3)}, {0: yes_no([1, 1, 0])})}
    released, pooled, parts = pool(tree, rounds, 2, 3)
    stored = [as_round(r, tree, released[r]) for r in (1, 2, 3)]
    assert [team in s.dists.get("Y", ()) or team in s.exact.get("Y", ()) for s in stored] == [False, False, True]
    assert team not in pooled.items["Y"].dist and team not in pooled.items["Y"].exact
    assert "Y" not in pooled.figures[team]
    check(tree, rounds, released, pooled, parts, 2, 3)


def test_the_audit_record_names_a_pooled_group_by_its_round_and_unit() -> None:
    """The office of four (k = 3, k_dist = 5) where two answered in round 3: pooled over four rounds less the three
    rounds published is round 3's two. The pooled release hides its total and says why in words a safety
    representative can follow: the group is "round 3 Kontoret", the cells are each round's and the pooled one."""
    tree = Tree({0: None})
    rounds: dict[int, Round] = {r: ({0: Counts(4, 4)}, {0: answers([3, 4, 2, 5])}) for r in (1, 2, 4)}
    rounds[3] = ({0: Counts(2, 4)}, {0: answers([3, 4])})
    released = {r: protect_round(tree, direct, tallies, ITEMS, 3, 5) for r, (direct, tallies) in sorted(rounds.items())}
    parts = Parts({0: tuple((r, 0) for r in sorted(rounds))},
                  {(r, 0): direct[0] for r, (direct, _) in rounds.items()},
                  {(r, 0): tallies[0] for r, (_, tallies) in rounds.items()})
    direct, tallies = parts.pooled(len(ITEMS))
    pooled = protect_round(tree, direct, tallies, ITEMS, 3, 5, [as_round(r, tree, o) for r, o in released.items()],
                           parts=parts, unit_name={0: "Kontoret"}.__getitem__)
    formula = ("a group too small to be shown (round 3 Kontoret) can be computed = − round 1 version 1 "
               "total(Kontoret) − round 2 version 1 total(Kontoret) − round 4 version 1 total(Kontoret) + version 1 "
               "total(Kontoret)")
    assert pooled.node_layer.findings[1:] == [
        f"version 1, protected on its own tree, would reveal together with the earlier versions: {formula}",
        f"version 1 hides total(Kontoret) as well: otherwise, together with the earlier versions, {formula}",
        "so version 1 hides total(Kontoret) (a protection on its own tree would publish them)"]
    assert Cell(0, Kind.TOTAL) not in pooled.nodes


def test_a_unit_nobody_counts_in_may_have_no_atoms_in_the_parts() -> None:
    """The people of a pooled release are the atoms its rounds counted (pulse.services.pooling._parts): a unit above
    the counting units, where nobody was counted in any round, has none — it may be left out of ``Parts.units``.
    The region (0) above two offices (1 and 2), each with six answering every round (k = 3, k_dist = 5): every
    round's release shows everything, and so does the pool, over both rounds."""
    tree = Tree({0: None, 1: 0, 2: 0})
    rounds: dict[int, Round] = {r: ({1: Counts(6, 6), 2: Counts(6, 6)},
                                     {1: answers([3, 3, 4, 2, 5, 4]), 2: answers([4, 4, 2, 3, 5, 1])}) for r in (1, 2)}
    released = {r: protect_round(tree, direct, tallies, ITEMS, 3, 5) for r, (direct, tallies) in rounds.items()}
    parts = Parts({u: ((1, u), (2, u)) for u in (1, 2)},
                  {(r, u): c for r, (direct, _) in rounds.items() for u, c in direct.items()},
                  {(r, u): t for r, (_, tallies) in rounds.items() for u, t in tallies.items()})
    direct, tallies = parts.pooled(len(ITEMS))
    pooled = protect_round(tree, direct, tallies, ITEMS, 3, 5, [as_round(r, tree, o) for r, o in released.items()],
                           parts=parts)
    assert all(o.nodes == set(tree.cells()) for o in released.values())
    assert pooled.nodes == pooled.items["A"].dist == set(tree.cells())  # the region's remainder: known to be empty
    region = pooled.figures[Cell(0, Kind.TOTAL)]["A"]
    assert (region.n, region.mean) == (24, 3.3)  # (21 + 19) · 2 = 80 over 24 answers
