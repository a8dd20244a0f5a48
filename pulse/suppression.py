"""Protection of published cells on the organisation tree: primary and complementary suppression, and the audit.

Pure: no Flask, no SQLAlchemy. This is the most important code in Pulse; read ANONYMITY.md first.

The cells
    For every unit ``v`` of the release tree there is a *total* cell ``T(v)`` (everyone counted in ``v`` or
    below) and, when ``v`` has children, a *remainder* cell ``R(v)`` (those counted directly in ``v``). Leaves
    have only their total. Each cell aggregates (counts, sums, distributions) over its respondents.

What an attacker knows
    The tree and who belongs where (membership), so for every unit with children the equation
    ``T(v) = R(v) + Σ T(child)`` holds for every count and every per-question sum. Published cells are known
    numbers; suppressed ones are unknowns.

The audit (the proof)
    Treat published cells as known and solve the equations as far as linear algebra allows. Each equation is a
    vertex of a graph, each unknown cell an edge between the (at most two) equations it appears in, with a
    "ground" vertex for cells that appear in only one. An unknown is determined by the equations exactly when
    its edge is a *bridge* of that graph (the kernel of an incidence matrix is its cycle space). So:

    A1  no suppressed cell that holds anyone may be a bridge (it could be computed);
    A2  for every published total, what it leaves unexplained — the respondents below it not covered by
        other published cells — is computable as one group, so it must be empty or hold at least ``k``.

    Together they mean no respondent and no suppressed cell can be derived from the published numbers, and no
    group smaller than ``k`` can be either (property-tested against brute-force linear algebra in
    tests/unit/test_suppression.py). A failing audit suppresses more; it never publishes.

Complementary suppression
    Rules R1 (in every equation, 0 or ≥ 2 suppressed non-empty cells) and R2 (a published total with suppressed
    terms: together they hold ≥ k) are the fast first pass; the audit then finds anything left and each finding
    suppresses the smallest published cell that removes it, until nothing is found (a fixed point).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple


class Kind(StrEnum):
    TOTAL = "total"
    REMAINDER = "remainder"


class Cell(NamedTuple):
    """A unit's total or remainder (a named tuple: hashed and compared often, so it should be cheap)."""

    unit: int
    kind: Kind

    def __str__(self) -> str:
        return f"{self.kind.value}({self.unit})"


@dataclass(frozen=True)
class Counts:
    """Per cell: how many respondents it holds and how many were invited (for emptiness and participation)."""

    respondents: int
    invited: int


class Reason(StrEnum):
    """Why a cell is not published (never shown to users: every hidden cell looks the same)."""

    PRIMARY = "primary"  # fewer than k respondents
    COMPLEMENTARY = "complementary"  # to protect another cell
    FORCED = "forced"  # suppressed by the caller (e.g. hidden at the parent layer)


@dataclass
class Protection:
    """The outcome for one layer: which cells are published, which are suppressed and why."""

    published: set[Cell]
    suppressed: dict[Cell, Reason]
    #: Audit findings that needed more suppression, in order (for the release's audit record).
    findings: list[str] = field(default_factory=list)

    def is_published(self, cell: Cell) -> bool:
        return cell in self.published


class Tree:
    """The release tree: parent links of the units that carry cells."""

    def __init__(self, parents: Mapping[int, int | None]) -> None:
        self.parents = dict(parents)
        self.children: dict[int, list[int]] = {u: [] for u in self.parents}
        for unit, parent in self.parents.items():
            if parent is not None:
                if parent not in self.children:
                    raise ValueError(f"unit {unit} has a parent {parent} outside the tree")
                self.children[parent].append(unit)
        for kids in self.children.values():
            kids.sort()
        self.roots = sorted(u for u, p in self.parents.items() if p is None)
        # Bottom-up order (children before parents), iterative so deep trees are fine.
        order: list[int] = []
        stack = list(self.roots)
        while stack:
            unit = stack.pop()
            order.append(unit)
            stack.extend(self.children[unit])
        if len(order) != len(self.parents):
            raise ValueError("the parent links contain a cycle")
        self.bottom_up = list(reversed(order))
        self._cells: list[Cell] = []
        for unit in sorted(self.parents):
            self._cells.append(Cell(unit, Kind.TOTAL))
            if self.children[unit]:
                self._cells.append(Cell(unit, Kind.REMAINDER))

    def has_children(self, unit: int) -> bool:
        return bool(self.children[unit])

    def cells(self) -> list[Cell]:
        """Every cell, in a stable order (computed once)."""
        return self._cells

    def equation(self, unit: int) -> list[Cell]:
        """The terms of ``T(unit) = R(unit) + Σ T(child)`` (only for units with children)."""
        return [Cell(unit, Kind.REMAINDER)] + [Cell(c, Kind.TOTAL) for c in self.children[unit]]


def cell_counts(tree: Tree, direct: Mapping[int, Counts]) -> dict[Cell, Counts]:
    """Counts for every cell from the counts directly in each unit."""
    totals: dict[int, Counts] = {}
    for unit in tree.bottom_up:
        own = direct.get(unit, Counts(0, 0))
        r, i = own.respondents, own.invited
        for child in tree.children[unit]:
            r += totals[child].respondents
            i += totals[child].invited
        totals[unit] = Counts(r, i)
    result = {Cell(u, Kind.TOTAL): c for u, c in totals.items()}
    for unit in tree.parents:
        if tree.children[unit]:
            result[Cell(unit, Kind.REMAINDER)] = direct.get(unit, Counts(0, 0))
    return result


def holds_anyone(counts: Counts) -> bool:
    """A cell that could hold an answer: someone was invited to it. Cells nobody was invited to are empty,
    and an empty cell reveals nothing however it is computed."""
    return counts.invited > 0


def is_safe_group(counts: Counts, k: int) -> bool:
    """May this group's aggregate be known? At least k respondents — or nobody invited, or nobody answering
    out of at least k invited (a participation figure that may be shown)."""
    return counts.respondents >= k or counts.invited == 0 or (counts.respondents == 0 and counts.invited >= k)


# --- the audit -----------------------------------------------------------------------------------------------


def derivable_cells(tree: Tree, known: set[Cell]) -> set[Cell]:
    """Every unknown cell that the equations determine from the known ones (A1's bridge test)."""
    ground = -1
    # Vertices: units with children (their equation) and the ground. Edges: unknown cells.
    edges: list[tuple[int, int, Cell]] = []
    for cell in tree.cells():
        if cell in known:
            continue
        unit = cell.unit
        if cell.kind is Kind.REMAINDER:
            edges.append((unit, ground, cell))
            continue
        parent = tree.parents[unit]
        ends = [v for v in (unit if tree.children[unit] else None, parent) if v is not None]
        if len(ends) == 2:
            edges.append((ends[0], ends[1], cell))
        elif len(ends) == 1:
            edges.append((ends[0], ground, cell))
        # A lone root without children sits in no equation: unknown and underivable.
    return {edges[i][2] for i in _bridges(edges)}


def _bridges(edges: list[tuple[int, int, Cell]]) -> set[int]:
    """Indices of bridge edges in a multigraph (iterative Tarjan, parallel edges never bridges)."""
    adjacency: dict[int, list[tuple[int, int]]] = {}
    for index, (a, b, _) in enumerate(edges):
        adjacency.setdefault(a, []).append((b, index))
        adjacency.setdefault(b, []).append((a, index))
    order: dict[int, int] = {}
    low: dict[int, int] = {}
    bridges: set[int] = set()
    counter = 0
    for start in adjacency:
        if start in order:
            continue
        order[start] = low[start] = counter
        counter += 1
        stack: list[tuple[int, int, int]] = [(start, -1, 0)]  # vertex, edge used to enter, next neighbour index
        while stack:
            vertex, entered_by, position = stack[-1]
            neighbours = adjacency[vertex]
            if position < len(neighbours):
                stack[-1] = (vertex, entered_by, position + 1)
                neighbour, edge = neighbours[position]
                if edge == entered_by:
                    continue
                if neighbour in order:
                    low[vertex] = min(low[vertex], order[neighbour])
                else:
                    order[neighbour] = low[neighbour] = counter
                    counter += 1
                    stack.append((neighbour, edge, 0))
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[vertex])
                    if low[vertex] > order[parent]:
                        bridges.add(entered_by)
    return bridges


def unexplained(tree: Tree, known: set[Cell], counts: Mapping[Cell, Counts], unit: int) -> tuple[Counts, list[Cell]]:
    """For a known total T(unit): the group below it that no other known cell accounts for (A2).

    Returns its counts and the unknown cells that make it up.
    """
    parts: list[Cell] = []
    stack = [unit]
    while stack:
        current = stack.pop()
        if not tree.children[current]:
            continue
        for term in tree.equation(current):
            if term in known:
                continue
            if term.kind is Kind.TOTAL and tree.children[term.unit]:
                stack.append(term.unit)  # look inside: parts of it may be known
            else:
                parts.append(term)
    respondents = sum(counts[p].respondents for p in parts)
    invited = sum(counts[p].invited for p in parts)
    return Counts(respondents, invited), parts


def known_cells(tree: Tree, published: Iterable[Cell], counts: Mapping[Cell, Counts]) -> set[Cell]:
    """What an attacker knows: the published cells, and every cell nobody was invited to (it is zero)."""
    return set(published) | empty_cells(tree, counts)


def empty_cells(tree: Tree, counts: Mapping[Cell, Counts]) -> set[Cell]:
    return {c for c in tree.cells() if not holds_anyone(counts[c])}


def audit(tree: Tree, published: Iterable[Cell], counts: Mapping[Cell, Counts], k: int) -> list[tuple[str, Cell]]:
    """Everything that could be derived and must not be. Empty means the published set is safe.

    Findings are ``("derivable", cell)`` for a suppressed cell that the published ones determine (A1), and
    ``("small_group", cell)`` for a published total that leaves a group of fewer than k unexplained, or a
    published remainder or leaf that is itself such a group (A2).
    """
    known = known_cells(tree, published, counts)
    findings: list[tuple[str, Cell]] = []
    for cell in sorted(derivable_cells(tree, known)):
        if holds_anyone(counts[cell]):
            findings.append(("derivable", cell))
    for cell in sorted(set(published)):
        if cell.kind is Kind.TOTAL and tree.children[cell.unit]:
            group, parts = unexplained(tree, known, counts, cell.unit)
            if parts and not is_safe_group(group, k):
                findings.append(("small_group", cell))
        elif not is_safe_group(counts[cell], k):
            # A remainder or a leaf is one atom: nothing inside it can be published, so it is its own group.
            findings.append(("small_group", cell))
    return findings


# --- protection ----------------------------------------------------------------------------------------------


def protect(tree: Tree, counts: Mapping[Cell, Counts], k: int, *, forced: Iterable[Cell] = (),
            known_before: Iterable[Cell] = ()) -> Protection:
    """Decide which cells to publish so that the audit passes.

    :param forced: cells that must stay hidden whatever their size (e.g. hidden in a coarser layer).
    :param known_before: cells already published in an earlier release of the same round; they stay known to
        everyone, so they count as published in every check (and cannot be taken back).
    """
    before = set(known_before)
    hidden_by_caller = set(forced)
    suppressed: dict[Cell, Reason] = {}
    for cell in tree.cells():
        if cell in before:
            continue
        if cell in hidden_by_caller:
            suppressed[cell] = Reason.FORCED
        elif not is_safe_group(counts[cell], k):
            suppressed[cell] = Reason.PRIMARY
    findings: list[str] = []
    all_cells = tree.cells()

    empty = empty_cells(tree, counts)

    def published() -> set[Cell]:
        return {c for c in all_cells if c not in suppressed}

    def known() -> set[Cell]:
        return published() | before | empty

    def suppress_smallest(candidates: Iterable[Cell], why: str) -> bool:
        """Suppress the smallest published cell that holds anyone among the candidates."""
        options = [c for c in candidates if c not in suppressed and c not in before and holds_anyone(counts[c])]
        if not options:
            return False
        chosen = min(options, key=lambda c: (counts[c].respondents, counts[c].invited,
                                             c.kind is Kind.TOTAL, c.unit))
        suppressed[chosen] = Reason.COMPLEMENTARY
        findings.append(f"{why}: suppress {chosen}")
        return True

    for _ in range(4 * len(all_cells) + 4):
        changed = False
        # R1, bottom-up: never exactly one hidden cell that holds anyone in an equation.
        for unit in tree.bottom_up:
            if not tree.children[unit]:
                continue
            equation = [Cell(unit, Kind.TOTAL), *tree.equation(unit)]
            hidden = [c for c in equation if c in suppressed and holds_anyone(counts[c])]
            if len(hidden) == 1:
                terms = [c for c in equation if c != hidden[0]]
                changed |= suppress_smallest(terms, f"R1 at {unit}")
        # R2 and A2: a published total may not leave a small group unexplained.
        current = known()
        for unit in tree.bottom_up:
            total = Cell(unit, Kind.TOTAL)
            if total not in current or not tree.children[unit]:
                continue
            group, parts = unexplained(tree, current, counts, unit)
            if parts and not is_safe_group(group, k):
                if not suppress_smallest([*_frontier(tree, current, unit), total], f"R2 at {unit}"):
                    continue
                changed = True
                current = known()
        # A1: nothing hidden may be computable.
        for cell in sorted(derivable_cells(tree, known())):
            if cell in suppressed and holds_anyone(counts[cell]):
                changed |= suppress_smallest(_neighbours(tree, cell), f"A1 {cell}")
        if not changed:
            break
    remaining = audit(tree, published() | before, counts, k)
    if remaining:
        # The rules above reach a fixed point for every tree we know of; if one ever does not, hide everything
        # rather than publish something unsafe.
        for cell in all_cells:
            if cell not in before:
                suppressed.setdefault(cell, Reason.COMPLEMENTARY)
        findings.append("audit failed after the fixed point: everything new suppressed")
    return Protection(published=published(), suppressed=suppressed, findings=findings)


def _frontier(tree: Tree, known: set[Cell], unit: int) -> list[Cell]:
    """The known cells directly bordering the unexplained group under a known total."""
    result: list[Cell] = []
    stack = [unit]
    while stack:
        current = stack.pop()
        for term in tree.equation(current):
            if term in known:
                result.append(term)
            elif term.kind is Kind.TOTAL and tree.children[term.unit]:
                stack.append(term.unit)
    return result


def _neighbours(tree: Tree, cell: Cell) -> list[Cell]:
    """Cells sharing an equation with ``cell``."""
    result: list[Cell] = []
    unit = cell.unit
    if cell.kind is Kind.REMAINDER or tree.children[unit]:
        result += [Cell(unit, Kind.TOTAL), *tree.equation(unit)]
    parent = tree.parents[unit]
    if cell.kind is Kind.TOTAL and parent is not None:
        result += [Cell(parent, Kind.TOTAL), *tree.equation(parent)]
    return [c for c in result if c != cell]
