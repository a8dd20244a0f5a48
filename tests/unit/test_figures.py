"""The one typed form of a cell's figures and its JSON (pulse.domain.figures): what the protection makes is what is
stored is what every reader gets back, and releases frozen under older rules are shown by today's."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from pulse.domain.figures import HIDDEN, Figures, Form, cell_json, read_cell
from pulse.domain.protection import protect_round
from pulse.domain.stats import Tally
from pulse.domain.suppression import Counts, Tree
from tests.unit.test_protection import ITEMS, rounds

PULSE = Path(__file__).resolve().parent.parent.parent / "pulse"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rounds(max_units=7))
def test_what_the_protection_makes_comes_back_from_the_json_unchanged(
        case: tuple[Tree, dict[int, Counts], dict[int, list[Tally]], int, int]) -> None:
    tree, direct, tallies, k, k_dist = case
    outcome = protect_round(tree, direct, tallies, ITEMS, k, k_dist)
    for figures in outcome.figures.values():
        stored = cell_json(figures)
        assert read_cell(stored) == figures
        for shown in figures.values():
            assert not shown.hidden  # hidden figures are not stored at all
            assert Figures.from_json(json.loads(json.dumps(shown.to_json()))) == shown
            assert shown.published() == shown  # a new release is shown exactly as stored


def test_the_stored_json_is_the_format_releases_have_always_had() -> None:
    bound = Figures(Form.BOUND, 1, censor="low")
    mean = Figures(Form.EXACT, 2, 7, mean=2.7)
    full = Figures(Form.EXACT, 1, 12, mean=3.4, sd=0.9, dist=(1, 2, 3, 4, 2), skip=8, enps=None)
    yes_no = Figures(Form.EXACT, 2, 12, yes=8, dist=(11, 1, 0), skip=0, flag=True)
    assert bound.to_json() == {"v": 1, "censor": "low"}
    assert mean.to_json() == {"v": 2, "n": 7, "mean": 2.7}
    assert full.to_json() == {"v": 1, "n": 12, "mean": 3.4, "sd": 0.9, "dist": [1, 2, 3, 4, 2], "skip": 8}
    assert yes_no.to_json() == {"v": 2, "n": 12, "yes": 8, "dist": [11, 1, 0], "skip": 0, "flag": True}
    assert HIDDEN.to_json() == {}
    assert json.loads(cell_json({"A": mean, "B": HIDDEN, "C": bound})) == {"A": mean.to_json(),
                                                                          "C": bound.to_json()}
    assert read_cell("{}") == {} and read_cell("") == {}


def test_older_releases_are_read_as_stored_for_the_audit_and_shown_by_todays_rules() -> None:
    """Releases frozen before bounds were protected, yes/no items held back below k_dist and figures rounded: the
    audit of a later version counts what they showed; pages show no more than a new release would."""
    # A bound with its n: shown as the bound alone, and a hidden cell for the audit.
    censored = Figures.from_json({"v": 1, "n": 3, "censor": "low"})
    assert censored.bound and censored.n is None and not censored.shows_sum
    assert censored.published() == Figures(Form.BOUND, 1, censor="low")
    # A flag below k_dist: the answered count was shown then (the audit counts it), nothing is shown now.
    flag_only = Figures.from_json({"v": 1, "n": 6, "flag": False})
    assert flag_only.shows_sum and not flag_only.shows_distribution
    assert flag_only.published() is HIDDEN and not flag_only.published().flag
    # Nobody answered a question in a published cell: n = 0 was shown; today it looks like too few.
    nobody = Figures.from_json({"v": 1, "n": 0, "sd": None, "dist": [0, 0, 0, 0, 0], "skip": 100.0})
    assert nobody.shows_sum and nobody.shows_distribution and nobody.published() is HIDDEN
    # Unrounded figures: rounded half away from zero, as a new release stores them.
    exact = Figures.from_json({"v": 1, "n": 15, "mean": 41 / 15, "sd": 0.4577, "dist": [0, 4, 11, 0, 0],
                               "skip": 100 / 6})
    shown = exact.published()
    assert (shown.mean, shown.sd, shown.skip, shown.flag) == (2.7, 0.5, 17, None)
    share = Figures.from_json({"v": 1, "n": 16, "flag": True, "yes": 12.5, "dist": [14, 2, 0], "skip": 0.0})
    assert share.published() == Figures(Form.EXACT, 1, 16, yes=13, dist=(14, 2, 0), skip=0, flag=True)
    # Anything else is shown as nothing.
    assert Figures.from_json({"v": 1, "n": 9, "censor": "middle"}) is HIDDEN
    assert Figures.from_json({"v": 1, "mean": 3.0}).published() is HIDDEN
    assert Figures.from_json({"v": 1, "n": "9", "mean": 3.0}).published() is HIDDEN


def test_hidden_figures_carry_no_number() -> None:
    for raw in ({}, {"v": 1, "n": 6, "flag": True}, {"v": 1, "n": 0, "mean": None}, {"v": 1, "n": 4, "censor": "x"}):
        shown = Figures.from_json(raw).published()
        assert shown.hidden and shown == HIDDEN


def _reads_figures_json(path: Path) -> list[str]:
    """Calls of json.loads/json.dumps on something named like a cell's stats or figures."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "json"
                and node.func.attr in ("loads", "dumps")):
            continue
        names = {n.id for arg in node.args for n in ast.walk(arg) if isinstance(n, ast.Name)}
        names |= {n.attr for arg in node.args for n in ast.walk(arg) if isinstance(n, ast.Attribute)}
        if any("stats" in name or "figures" in name for name in names):
            found.append(f"{path.relative_to(PULSE.parent)}:{node.lineno}")
    return found


def test_only_the_figures_module_reads_or_writes_the_stored_figures() -> None:
    offenders = [where for path in sorted(PULSE.rglob("*.py")) if path.name != "figures.py"
                 for where in _reads_figures_json(path)]
    assert offenders == []
