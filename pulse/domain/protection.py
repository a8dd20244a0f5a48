"""What a release publishes, layer by layer: which cells show which figures, and at what precision.

Pure: no Flask, no SQLAlchemy, so it is property-tested without a database (tests/unit/test_protection.py).
pulse.services.releases loads a closed round, calls :func:`protect_round` and stores what it returns; the
complementary suppression and the audit themselves are pulse.domain.suppression's.

The layers, each protected and audited on its own, each showing at most what the one before it shows:

1. respondents per cell, at ``k``;
2. per question, the answered count ``n`` and the mean, at ``k``, hidden wherever layer 1 is hidden;
3. per question, the distribution, standard deviation, eNPS and shares, at ``k_dist``, hidden wherever layer 2
   does not show exact figures.

Censored means (docs/ANONYMITY.md, "Censored figures")
    Between ``k`` and ``k_dist`` answers a mean near a scale end would tell (nearly) everyone's answer, so it is
    shown only as a bound: "≤ 1,5" or "≥ 4,5". A bound is a suppressed value, not a published one: were the cell
    published in layer 2, its exact sum would follow from its parent's and its siblings' (parent sum − sibling
    sums), and with it everyone's answer. So a censored cell is passed to the protection as ``forced`` and gets
    complementary protection like any hidden cell, in the count and the sum equations alike (they have the same
    terms, so protecting one protects the other). For it only the bound is published: no ``n``, no mean.

    The same goes for a *group* the published figures determine (a published total less its published parts):
    if it holds between ``k`` and ``k_dist`` answers and its mean would be censored, more is suppressed until no
    such group can be computed — otherwise the censoring could be undone one level up.

Yes/no items (docs/ANONYMITY.md, "Yes/no items and flags")
    Yes/no items (threats, victimisation) publish nothing below ``k_dist``. A "no 'yes' answers" below
    ``k_dist`` is an exact zero (everyone's answer, for a small group) that is also an exact yes count outside
    the ``k_dist`` protection, and a "flag raised" above flag-free published children points at a hidden one.
    So their only layer is protected at ``k_dist``; there they show the share of yes, the distribution, the share
    of "prefer not to say", and the flag (any yes) for risk assessment, which thus appears at the lowest level
    with at least ``k_dist`` answers.

Precision (docs/ANONYMITY.md, "Precision")
    What is stored is already the published figure: means and standard deviations to one decimal, shares and
    eNPS whole numbers, all rounded with pulse.domain.stats.round_half_away. Nothing downstream can show more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pulse.domain.scales import SCALES, Scale
from pulse.domain.stats import Tally, censor, distribution, enps, merged, one_decimal, share, whole
from pulse.domain.suppression import Cell, Counts, Kind, Protection, Tree, audit, cell_counts, protect


class AuditError(Exception):
    """The protection left something derivable (never expected; no release is stored when it happens)."""


@dataclass(frozen=True)
class Item:
    """A question as the protection sees it."""

    code: str
    version: int
    scale: str


@dataclass(frozen=True)
class Earlier:
    """What earlier releases of the same round published: it stays known, so it counts as published."""

    nodes: frozenset[Cell] = frozenset()
    #: Per question: cells whose answered count was shown (exact figures, or a bound in releases before bounds
    #: were protected — counted as known, which is the cautious reading).
    exact: Mapping[str, frozenset[Cell]] = field(default_factory=dict)
    #: Per question: cells whose distribution was shown.
    dists: Mapping[str, frozenset[Cell]] = field(default_factory=dict)


@dataclass
class ItemOutcome:
    """One question's cells: shown exactly, shown as a bound, and with the distribution."""

    exact: set[Cell]
    bounds: dict[Cell, str]
    dist: set[Cell]
    #: Layer name ("CODE:k", "CODE:k_dist") → its protection, for the release's audit record.
    layers: dict[str, Protection]
    #: Suppressions made because a computable group's mean would have been censored.
    findings: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    """The protected release of one round, ready to store."""

    nodes: set[Cell]
    node_layer: Protection
    items: dict[str, ItemOutcome]
    #: Per cell: question code → the stored figures (empty when nothing is shown).
    figures: dict[Cell, dict[str, dict[str, object]]]


def cell_tallies(tree: Tree, direct: Mapping[int, Sequence[Tally]], questions: int) -> dict[Cell, list[Tally]]:
    """Per cell and question, the tallies (a total adds its subtree up; a remainder is what is directly there)."""
    empty = [Tally() for _ in range(questions)]
    totals: dict[int, list[Tally]] = {}
    for unit in tree.bottom_up:
        own = direct.get(unit, empty)
        totals[unit] = [merged([own[i], *(totals[c][i] for c in tree.children[unit])]) for i in range(questions)]
    result = {Cell(u, Kind.TOTAL): t for u, t in totals.items()}
    for unit in tree.parents:
        if tree.children[unit]:
            result[Cell(unit, Kind.REMAINDER)] = list(direct.get(unit, empty))
    return result


def protect_round(tree: Tree, direct: Mapping[int, Counts], tallies: Mapping[int, Sequence[Tally]],
                  items: Sequence[Item], k: int, k_dist: int, earlier: Earlier = Earlier()) -> Outcome:
    """Protect every layer of a round and compute the figures to store.

    :param direct: respondents and invited directly in each unit.
    :param tallies: per unit, one tally per item (answers counted directly in the unit).
    :raises AuditError: when a layer fails its audit after protection (it never publishes then).
    """
    node_counts = cell_counts(tree, direct)
    node_layer = protect(tree, node_counts, k, known_before=earlier.nodes)
    nodes = node_layer.published | earlier.nodes
    _check(audit(tree, nodes, node_counts, k), "respondents")
    per_cell = cell_tallies(tree, tallies, len(items))
    hidden_nodes = {c for c in tree.cells() if c not in nodes}
    outcomes: dict[str, ItemOutcome] = {}
    figures: dict[Cell, dict[str, dict[str, object]]] = {cell: {} for cell in tree.cells()}
    for index, item in enumerate(items):
        scale = SCALES.get(item.scale)
        if scale is None:  # free text: its answers are comments, never figures
            continue
        counts = {c: Counts(per_cell[c][index].answered, node_counts[c].invited) for c in tree.cells()}
        sums = {c: per_cell[c][index].total for c in tree.cells()}
        if item.scale == "yesno":
            outcome = _protect_yes_no(tree, counts, k_dist, item.code, hidden_nodes, earlier)
        else:
            outcome = _protect_scale(tree, counts, sums, scale, k, k_dist, item.code, hidden_nodes, earlier)
        outcomes[item.code] = outcome
        for cell in nodes:
            shown = _figures(item, scale, per_cell[cell][index], node_counts[cell].respondents,
                             exact=cell in outcome.exact, bound=outcome.bounds.get(cell), dist=cell in outcome.dist)
            if shown:
                figures[cell][item.code] = shown
    return Outcome(nodes, node_layer, outcomes, figures)


def _protect_scale(tree: Tree, counts: Mapping[Cell, Counts], sums: Mapping[Cell, float], scale: Scale, k: int,
                   k_dist: int, code: str, hidden_nodes: set[Cell], earlier: Earlier) -> ItemOutcome:
    """Layers 2 and 3 of a question on an ordered scale (means)."""
    before = set(earlier.exact.get(code, ()))
    # Censored cells are suppressed cells: forced, so they get complementary protection (module docstring).
    bounds: dict[Cell, str] = {}
    for cell in tree.cells():
        n = counts[cell].respondents
        if cell not in hidden_nodes and k <= n < k_dist and (bound := censor(sums[cell] / n, scale)):
            bounds[cell] = bound
    forced = hidden_nodes | set(bounds)
    findings: list[str] = []
    unresolved: set[int] = set()
    while True:
        at_k = protect(tree, counts, k, forced=forced, known_before=before)
        exact = (at_k.published | before) - set(bounds)
        risky = [group for group in censorable_groups(tree, exact, counts, sums, scale, k, k_dist)
                 if group.unit not in unresolved]
        if not risky:
            break
        # One suppression per group, several groups per pass (a group whose border was just changed waits for
        # the next pass: the change may have merged it away).
        touched: set[Cell] = set()
        for group in risky:
            if touched & set(group.border):
                continue
            options = [c for c in group.border if c not in before and c not in forced and counts[c].invited > 0]
            if not options:
                # Everything around it was published by an earlier release (computed before censored figures
                # were protected): nothing can be taken back. Recorded, so the audit record says so.
                unresolved.add(group.unit)
                findings.append(f"censorable group under {Cell(group.unit, Kind.TOTAL)} was published earlier")
                continue
            chosen = min(options, key=lambda c: (counts[c].respondents, counts[c].invited,
                                                 c.kind is Kind.TOTAL, c.unit))
            forced.add(chosen)
            touched.update(group.border)
            findings.append(f"censorable group under {Cell(group.unit, Kind.TOTAL)}: suppress {chosen}")
    _check(audit(tree, exact, counts, k), f"{code}:k")
    at_k_dist = protect(tree, counts, k_dist, forced=[c for c in tree.cells() if c not in exact],
                        known_before=earlier.dists.get(code, ()))
    dist = (at_k_dist.published | set(earlier.dists.get(code, ()))) & exact
    _check(audit(tree, dist, counts, k_dist), f"{code}:k_dist")
    return ItemOutcome(exact, bounds, dist, {f"{code}:k": at_k, f"{code}:k_dist": at_k_dist}, findings)


def _protect_yes_no(tree: Tree, counts: Mapping[Cell, Counts], k_dist: int, code: str, hidden_nodes: set[Cell],
                    earlier: Earlier) -> ItemOutcome:
    """The one layer of a yes/no item: nothing below ``k_dist`` (module docstring)."""
    shown_before = set(earlier.dists.get(code, ()))
    # A cell an earlier release showed only a flag for stays known (it cannot be taken back), but is not shown
    # again: it is below k_dist.
    before = set(earlier.exact.get(code, ())) | shown_before
    layer = protect(tree, counts, k_dist, forced=hidden_nodes, known_before=before)
    shown = {c for c in layer.published | before if c not in before or c in shown_before}
    _check(audit(tree, layer.published | before, counts, k_dist), f"{code}:k_dist")
    return ItemOutcome(shown, {}, set(shown), {f"{code}:k_dist": layer})


@dataclass(frozen=True)
class Group:
    """A group of respondents whose sum the published figures determine: a published total's unexplained part."""

    unit: int
    parts: tuple[Cell, ...]
    #: The published cells around it (and the total itself): suppressing one of them merges the group.
    border: tuple[Cell, ...]


def computable_groups(tree: Tree, known: Iterable[Cell], counts: Mapping[Cell, Counts]) -> list[Group]:
    """For every known total: the cells below it that no other known cell accounts for (what subtraction gives).

    A cell nobody was invited to is known to be empty, as in pulse.domain.suppression.
    """
    known = set(known) | {c for c in tree.cells() if counts[c].invited == 0}
    groups = []
    for unit in tree.bottom_up:
        total = Cell(unit, Kind.TOTAL)
        if total not in known or not tree.children[unit]:
            continue
        parts: list[Cell] = []
        border: list[Cell] = []
        stack = [unit]
        while stack:
            for term in tree.equation(stack.pop()):
                if term in known:
                    border.append(term)
                elif term.kind is Kind.TOTAL and tree.children[term.unit]:
                    stack.append(term.unit)  # look inside: parts of it may be known
                else:
                    parts.append(term)
        if parts:
            groups.append(Group(unit, tuple(parts), (*border, total)))
    return groups


def censorable_groups(tree: Tree, exact: Iterable[Cell], counts: Mapping[Cell, Counts], sums: Mapping[Cell, float],
                      scale: Scale, k: int, k_dist: int) -> list[Group]:
    """Computable groups between ``k`` and ``k_dist`` answers whose mean would be censored were it a cell."""
    result = []
    for group in computable_groups(tree, exact, counts):
        n = sum(counts[c].respondents for c in group.parts)
        if k <= n < k_dist and censor(sum(sums[c] for c in group.parts) / n, scale):
            result.append(group)
    return result


def _figures(item: Item, scale: Scale, tally: Tally, respondents: int, *, exact: bool, bound: str | None,
             dist: bool) -> dict[str, object]:
    """The stored figures of one question in one cell, at published precision (nothing when hidden).

    Nobody answering looks exactly like too few answering (docs/ANONYMITY.md, "Release and protection"), so a cell
    with no answers to the question shows nothing for it.
    """
    if bound is not None:
        return {"v": item.version, "censor": bound}  # the bound and nothing more: no n, no mean
    if not exact or not tally.answered:
        return {}
    figures: dict[str, object] = {"v": item.version, "n": tally.answered}
    if item.scale == "yesno":
        if not dist:
            return {}
        yes = sum(tally.options.get(v, 0) for v in scale.flag_values)
        figures.update(yes=whole(share(yes, tally.answered)), dist=distribution(tally, scale),
                       skip=whole(share(tally.skipped, respondents)), flag=yes > 0)
        return figures
    figures["mean"] = one_decimal(tally.mean)
    if dist:
        figures.update(sd=one_decimal(tally.sd), dist=distribution(tally, scale),
                       skip=whole(share(tally.skipped, respondents)))
        if item.scale == "enps":
            figures["enps"] = whole(enps(tally))
    return figures


def _check(findings: list[tuple[str, Cell]], layer: str) -> None:
    if findings:
        raise AuditError(f"audit failed after protection in layer {layer}: {findings[:5]}")
