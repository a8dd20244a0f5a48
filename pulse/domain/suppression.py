"""Protection of published cells on the organisation tree: primary and complementary suppression, and the audit.

Pure: no Flask, no SQLAlchemy. This is the most important code in Pulse; read docs/ANONYMITY.md first.

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
        other published cells — is computable as one group, so it must be empty or a safe group
        (``is_safe_group``); a published remainder or leaf is such a group by itself.

    Why that is everything: the known cells (published, or empty) of one tree are nested or disjoint, so their
    span is spanned by their disjoint *residuals* (a known cell minus the known cells inside it — A2's groups).
    A group of atoms can be derived exactly when it is a union of residuals, and a union of safe groups is safe.
    So no respondent, no suppressed cell and no group smaller than ``k`` can be derived from the published
    numbers (property-tested against brute-force linear algebra on arbitrary published sets in
    tests/unit/test_suppression.py). A failing audit suppresses more; it never publishes. Releases audited
    together with earlier versions on another tree (a re-organisation) need the general audit over sets of
    atoms in pulse/domain/derivation.py (docs/ANONYMITY.md, "Earlier versions and re-organisations").

Complementary suppression (docs/ANONYMITY.md, "Complementary suppression")
    Primary suppression hides every cell that is not a safe group; complementary suppression then hides, among
    all choices that make the audit pass, one that loses the least information (:class:`Loss`: unit totals
    hidden first). The audit's two conditions only link an equation to what each of its hidden terms leaves
    unexplained, summarised in at most 2k + 1 states, so a dynamic programme over the tree finds that choice
    exactly, in linear time (:func:`least_loss_complements`). The first algorithm — rules R1 (in every
    equation, 0 or ≥ 2 suppressed non-empty cells) and R2, each fixed by hiding the smallest published cell, to a
    fixed point — stays available as ``protect(..., method="rules")`` for comparison and as a fallback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, NamedTuple


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


# --- information lost -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InformationLoss:
    """How much of a layer's information suppression costs, in the terms of issue 7 (docs/ANONYMITY.md,
    "Complementary suppression"): unit totals that hold at least k respondents — figures a unit could have had —
    and what became of them. Add them up over rounds with ``+``."""

    #: unit totals with at least k respondents (never hidden for their own sake)
    large: int = 0
    #: of those, published
    published: int = 0
    #: of those, hidden only as complements (to protect other cells)
    complementary: int = 0
    #: of those, hidden because the caller forced it (e.g. hidden in a coarser layer)
    forced: int = 0
    #: unit totals hidden for their own sake (primary), for context
    primary: int = 0

    def __add__(self, other: InformationLoss) -> InformationLoss:
        return InformationLoss(self.large + other.large, self.published + other.published,
                               self.complementary + other.complementary, self.forced + other.forced,
                               self.primary + other.primary)

    @property
    def share_published(self) -> float:
        return self.published / self.large if self.large else 1.0

    @property
    def share_complementary(self) -> float:
        return self.complementary / self.large if self.large else 0.0


def information_loss(counts: Mapping[Cell, Counts], published: Iterable[Cell], suppressed: Mapping[Cell, Reason],
                     k: int) -> InformationLoss:
    """The :class:`InformationLoss` of one layer of a release: its cells' counts, what it published and why it hid
    the rest."""
    shown = set(published)
    large = published_large = complementary = forced = primary = 0
    for cell, size in counts.items():
        if cell.kind is not Kind.TOTAL:
            continue
        why = suppressed.get(cell) if cell not in shown else None
        if size.respondents >= k:
            large += 1
            published_large += cell in shown
            complementary += why is Reason.COMPLEMENTARY
            forced += why is Reason.FORCED
        elif why is Reason.PRIMARY:
            primary += 1
    return InformationLoss(large, published_large, complementary, forced, primary)


# --- protection ----------------------------------------------------------------------------------------------


Method = Literal["least_loss", "rules"]


def protect(tree: Tree, counts: Mapping[Cell, Counts], k: int, *, forced: Iterable[Cell] = (),
            known_before: Iterable[Cell] = (), method: Method = "least_loss") -> Protection:
    """Decide which cells to publish so that the audit passes, losing as little information as possible.

    Primary suppression hides every cell that is not a safe group on its own; complementary suppression then
    hides the published cells that lose the least information (:class:`Loss`) such that the audit passes. The
    choice is exact — the least loss over all safe choices — by dynamic programming on the tree
    (:func:`least_loss_complements`); the audit still decides, and should it ever object, the rules of the first
    algorithm and finally hiding everything new take over (never publishing).

    :param forced: cells that must stay hidden whatever their size (e.g. hidden in a coarser layer).
    :param known_before: cells already published in an earlier release of the same round; they stay known to
        everyone, so they count as published in every check (and cannot be taken back).
    :param method: ``"rules"`` runs the first algorithm instead (for comparisons, e.g. ``make bench``).
    """
    if method == "rules":
        return _protect_by_rules(tree, counts, k, forced=forced, known_before=known_before)
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
    choice = least_loss_complements(tree, counts, k, hidden=set(suppressed), known=before)
    if choice is not None:
        complements, loss = choice
        for cell in complements:
            suppressed[cell] = Reason.COMPLEMENTARY
        findings = [f"{cell}: complement in {', '.join(_equations_of(tree, cell))}" for cell in sorted(complements)]
        findings.append(f"least loss: {loss.totals} unit totals ({loss.lost_whole} figures lost whole), "
                        f"{loss.respondents} respondents, {loss.cells} cells")
        published = {c for c in tree.cells() if c not in suppressed}
        if not audit(tree, published | before, counts, k):
            return Protection(published=published, suppressed=suppressed, findings=findings)
    # Unreachable as far as the proof in least_loss_complements goes (and the property tests check): should the
    # audit ever object, or earlier releases already leave no safe choice, fall back rather than publish.
    fallback = _protect_by_rules(tree, counts, k, forced=hidden_by_caller, known_before=before)
    fallback.findings.insert(0, "least-loss choice unavailable or rejected by the audit: the rules decided")
    return fallback


class Loss(NamedTuple):
    """Information lost by complementary suppression, compared in this order (lexicographically).

    docs/ANONYMITY.md, "Complementary suppression": what people lose first is a unit's figure, so the first
    measure is how many unit totals are hidden as complements (the share of unit totals published is what
    `make bench` reports). Among choices that hide equally many, the fewest figures lost whole: a hidden figure
    whose published parts leave fewer than k of its respondents unaccounted for (a parent whose children are all
    shown, short of a small remainder) can be pieced together to within those few people, a team hidden whole
    cannot. Then the fewest respondents behind hidden figures, then the fewest cells.
    """

    #: unit totals hidden as complements
    totals: int
    #: complements whose published parts leave k or more of their respondents unaccounted for
    lost_whole: int
    #: respondents in the cells hidden as complements
    respondents: int
    #: cells hidden as complements
    cells: int


def cell_loss(tree: Tree, counts: Mapping[Cell, Counts], k: int, published: Iterable[Cell],
              complements: Iterable[Cell]) -> Loss:
    """The :class:`Loss` of hiding ``complements`` when ``published`` (and the empty cells) are known."""
    known = known_cells(tree, published, counts)
    totals = lost_whole = respondents = cells = 0
    for cell in complements:
        cells += 1
        respondents += counts[cell].respondents
        if cell.kind is Kind.TOTAL and tree.children[cell.unit]:
            group, _ = unexplained(tree, known, counts, cell.unit)
            lost_whole += group.respondents >= k
        else:
            lost_whole += counts[cell].respondents >= k
        totals += cell.kind is Kind.TOTAL
    return Loss(totals, lost_whole, respondents, cells)


# The dynamic programme works on "summaries" of the group a hidden cell leaves unexplained (the respondents below
# it that no known cell inside it accounts for): whether that group is a safe group, alone or together with
# others, depends only on its respondents up to k and, when nobody in it answered, its invited up to k. A summary
# is an int: r > 0 for r respondents (capped at k), -i for nobody answering out of i invited (capped at k).
# 0 stands for "known" in a cell's table and for "nothing unexplained yet" while an equation is being summed.


def _summary(counts: Counts, k: int) -> int:
    respondents = min(counts.respondents, k)
    return respondents if respondents else -min(counts.invited, k)


def _join(a: int, b: int, k: int) -> int:
    if not a or not b:
        return a or b
    if a > 0 or b > 0:
        return min(max(a, 0) + max(b, 0), k)
    return max(a + b, -k)


def _safe_summary(summary: int, k: int) -> bool:
    return summary >= k or summary <= -k


def least_loss_complements(tree: Tree, counts: Mapping[Cell, Counts], k: int, *, hidden: set[Cell],
                           known: set[Cell]) -> tuple[set[Cell], Loss] | None:
    """The complements of least :class:`Loss` that make the audit pass, or None when none exist (only when
    ``known`` already discloses something).

    ``hidden`` are cells hidden whatever happens (primary, forced), ``known`` cells known whatever happens (earlier
    releases); every empty cell is known too. Every other cell is free: published, or hidden as a complement.

    Why this is exact (docs/ANONYMITY.md, "Complementary suppression"). On one tree the known cells form a laminar
    family, so their span is spanned by their disjoint *residuals* (a known cell minus the known cells inside
    it). A group can be derived exactly when it is a union of residuals, so the audit passes if and only if
    (S) the residual of every known total is empty or safe — the group it leaves unexplained is the union of what
    its hidden terms leave unexplained (A2) —, and
    (R1) in every equation ``T(v) = R(v) + Σ T(child)`` the hidden non-empty cells number 0 or at least 2 (A1: a
    hidden cell is derivable exactly when it is a known total's whole residual or has no hidden term; with R1
    every residual comes from at least two disjoint hidden parts and every hidden total has a hidden term).
    Both conditions only involve an equation and, from each hidden term, the summary of what it leaves
    unexplained. So a bottom-up dynamic programme whose state per unit is "T(v) known" or the summary of T(v)'s
    unexplained group (at most 2k + 1 states) finds the least loss over all safe choices; the loss is a sum over
    hidden cells of terms known when a cell is decided. The audit runs on the result all the same.
    """
    cells = tree.cells()
    # The lexicographic loss as one int: each unit exceeds the most that all lower measures can add up to.
    per_respondent = len(cells) + 1
    per_lost = per_respondent * (sum(counts[c].respondents for c in cells) + 1)
    per_total = per_lost * (len(cells) + 1)

    def weight(cell: Cell, summary: int) -> int:
        """The loss of hiding a free cell whose unexplained group has the given summary."""
        return ((per_total if cell.kind is Kind.TOTAL else 0) + (per_lost if summary >= k else 0)
                + counts[cell].respondents * per_respondent + 1)

    def options(cell: Cell) -> dict[int, int]:
        """The cell's own table when it is an atom (a remainder or a leaf): state → loss."""
        if cell in known or not holds_anyone(counts[cell]):
            return {0: 0}
        summary = _summary(counts[cell], k)
        if cell in hidden:
            return {summary: 0}
        return {0: 0, summary: weight(cell, summary)}

    # tables[v]: state of T(v) → (least loss in v's subtree, the (hidden terms, summary) it came from)
    tables: dict[int, dict[int, tuple[int, tuple[int, int]]]] = {}
    # steps[v][j]: after the first j + 1 terms of v's equation, (hidden terms 0/1/2+, summary) →
    # (loss, the state before, the term's state)
    steps: dict[int, list[dict[tuple[int, int], tuple[int, tuple[int, int], int]]]] = {}
    for unit in tree.bottom_up:
        total = Cell(unit, Kind.TOTAL)
        if not tree.children[unit]:
            tables[unit] = {state: (loss, (0, 0)) for state, loss in options(total).items()}
            continue
        remainder = Cell(unit, Kind.REMAINDER)
        term_tables = [options(remainder), *({s: v[0] for s, v in tables[c].items()} for c in tree.children[unit])]
        accumulated: dict[tuple[int, int], tuple[int, tuple[int, int], int]] = {(0, 0): (0, (0, 0), 0)}
        unit_steps = []
        for term_table in term_tables:
            following: dict[tuple[int, int], tuple[int, tuple[int, int], int]] = {}
            for key, (loss, _, _) in accumulated.items():
                count, summary = key
                for state, term_loss in term_table.items():
                    after = key if not state else (min(count + 1, 2), _join(summary, state, k))
                    candidate = loss + term_loss
                    best = following.get(after)
                    if best is None or candidate < best[0]:
                        following[after] = (candidate, key, state)
            unit_steps.append(following)
            accumulated = following
        steps[unit] = unit_steps
        fixed_known = total in known or not holds_anyone(counts[total])
        fixed_hidden = not fixed_known and total in hidden
        table: dict[int, tuple[int, tuple[int, int]]] = {}
        for key, (loss, _, _) in accumulated.items():
            count, summary = key
            # T(v) known: R1 (no hidden term, or at least two) and A2 (what they leave unexplained is safe).
            known_ok = not fixed_hidden and (count == 0 or (count == 2 and _safe_summary(summary, k)))
            if known_ok and (0 not in table or loss < table[0][0]):
                table[0] = (loss, key)
            # T(v) hidden: R1 (at least one hidden term, or T(v) could be added up).
            if not fixed_known and count >= 1:
                candidate = loss + (0 if fixed_hidden else weight(total, summary))
                if summary not in table or candidate < table[summary][0]:
                    table[summary] = (candidate, key)
        tables[unit] = table

    chosen: set[Cell] = set()
    total_loss = 0
    stack: list[tuple[int, int]] = []
    for root in tree.roots:
        if not tables[root]:
            return None
        state = min(tables[root], key=lambda s: (tables[root][s][0], s != 0))
        total_loss += tables[root][state][0]
        stack.append((root, state))
    while stack:
        unit, state = stack.pop()
        if state:
            chosen.add(Cell(unit, Kind.TOTAL))
        if not tree.children[unit]:
            continue
        key = tables[unit][state][1]
        term_states = []
        for step in reversed(steps[unit]):
            _, key, term_state = step[key]
            term_states.append(term_state)
        term_states.reverse()
        if term_states[0]:
            chosen.add(Cell(unit, Kind.REMAINDER))
        stack.extend(zip(tree.children[unit], term_states[1:], strict=True))
    complements = {c for c in chosen if c not in hidden}
    totals, rest = divmod(total_loss, per_total)
    lost_whole, rest = divmod(rest, per_lost)
    respondents, cells_hidden = divmod(rest, per_respondent)
    return complements, Loss(totals, lost_whole, respondents, cells_hidden)


def _protect_by_rules(tree: Tree, counts: Mapping[Cell, Counts], k: int, *, forced: Iterable[Cell] = (),
                      known_before: Iterable[Cell] = ()) -> Protection:
    """The first algorithm: rules R1/R2 and audit findings, each fixed by hiding the smallest
    published cell, to a fixed point. Kept for comparison (``protect(..., method="rules")``, ``make bench``)
    and as a fallback; it hides more than needed (docs/ANONYMITY.md, "Complementary suppression")."""
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


def _equations_of(tree: Tree, cell: Cell) -> list[str]:
    """The equations a cell appears in, for findings ("the equation of 12")."""
    result = []
    if cell.kind is Kind.REMAINDER or tree.children[cell.unit]:
        result.append(f"the equation of {cell.unit}")
    parent = tree.parents[cell.unit]
    if cell.kind is Kind.TOTAL and parent is not None:
        result.append(f"the equation of {parent}")
    return result or ["no equation"]
