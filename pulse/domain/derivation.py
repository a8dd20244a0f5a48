"""What published figures reveal together when they come from different trees: the general audit over sets of atoms,
and the protection of a new release version against the versions published before it.

Pure: no Flask, no SQLAlchemy. Read pulse/domain/suppression.py first; docs/ANONYMITY.md, "The audit" and "Earlier
versions and re-organisations", says why this exists.

Atoms and cells
    An *atom* is a finest group an attacker can tell apart: the people counted directly in one unit in one round
    (a unit id for the versions of one round's release; a ``(round, unit)`` pair for results pooled over rounds).
    Each atom has its :class:`~pulse.domain.suppression.Counts`. A *cell* is any set of atoms whose aggregate is
    published or hidden: a unit's total or remainder on the tree of one release version, or pooled over rounds.
    Cells from different trees overlap in ways one tree's cells never do, so the bridge test of
    pulse/domain/suppression.py no longer applies; this module solves the attacker's linear algebra in general.

The audit (:func:`audit_sets`), and why it is complete
    The attacker knows every published cell's value and that atoms nobody was invited to are empty. A group of
    atoms (or a hidden cell) can be derived exactly when its indicator vector lies in the row space ``V`` of the
    published cells' indicator vectors — computed here with exact fractions, never floating point. Findings:
    every hidden cell in ``V`` that holds anyone, and every group in ``V`` that is not a safe group
    (:func:`~pulse.domain.suppression.is_safe_group`). The search for such groups is complete because:

    1. Atoms nobody was invited to are known to be zero: dropping them changes neither what is derivable nor
       whether a group is safe.
    2. Every vector of ``V`` is constant on each *block* (atoms that lie in exactly the same published cells),
       because every row is; so a derivable group is a union of whole blocks, and blocks in no published cell
       are in no derivable group. The search works on blocks.
    3. Gaussian elimination gives a reduced basis: one row per *pivot* block, 1 there and 0 at every other pivot.
       A vector of ``V`` is the sum of the basis rows weighted by its own values at the pivots, so a 0/1 vector
       of ``V`` is fixed by choosing a 0/1 value per pivot, and every such choice whose other values come out
       0 or 1 is one. Enumerating pivot choices therefore enumerates all derivable groups.
    4. Basis rows that share no block form independent *components*: ``V`` is their direct sum, and a derivable
       group is a union of derivable groups of single components. An unsafe group always has an unsafe piece
       in one component (fewer than k respondents in the whole means fewer in every piece; nobody answering out
       of fewer than k invited likewise), so searching each component on its own finds every problem.
    5. The search prunes only what cannot be unsafe: an unsafe group holds fewer than k respondents, so a pivot
       block with k or more is fixed to 0, and a partial choice whose blocks already hold k or more respondents
       is abandoned (respondents only grow as blocks are added).
    A component whose search exceeds the budget is reported as a finding (``too_large``): fail safe, hide more —
    never treated as safe.

Earlier versions (:func:`protect_version`)
    A new version of a release may not reveal, together with the versions published before it, anything that
    neither reveals alone. Earlier versions enter the audit as sets of atoms as they were then (their tree, their
    membership); a finding that the earlier versions already give on their own is not the new version's to fix
    and is reported apart (``earlier``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal, NamedTuple

from pulse.domain.suppression import (
    Cell,
    Counts,
    Kind,
    Protection,
    Reason,
    Tree,
    audit,
    cell_loss,
    is_safe_group,
    protect,
)

#: Search nodes per component before the audit gives up on it and reports it (fail safe).
DEFAULT_BUDGET = 200_000

FindingKind = Literal["derivable", "small_group", "too_large"]


@dataclass(frozen=True)
class Finding:
    """Something the published cells reveal, with the published cells that reveal it."""

    kind: FindingKind
    #: the derived group, the hidden cell's atoms, or a component too large to search
    atoms: frozenset[Hashable]
    counts: Counts
    #: the hidden cell that can be computed (``derivable`` only)
    cell: Hashable | None = None
    #: published cells (labels) and coefficients whose sum is the group (empty for ``too_large``)
    combination: tuple[tuple[Hashable, Number], ...] = ()
    #: the earlier versions (``before``) give it on their own: not this version's to fix
    earlier: bool = False

    def describe(self, atom_name: Callable[[Hashable], str] = str, cell_name: Callable[[Hashable], str] = str, *,
                 counts: bool = True) -> str:
        """A sentence, e.g. "a group of 3 respondents … = + version 1 total(12) − …".

        :param counts: name the group's respondents and invited. Those are hidden figures: whatever is stored or
            shown (the audit record, the command's output, the admin page) says "too small to be shown" instead.
        """
        atoms = ", ".join(sorted(atom_name(a) for a in self.atoms))
        formula = " ".join(f"{'+' if c > 0 else '−'} {'' if abs(c) == 1 else f'{abs(c)}·'}{cell_name(cell)}"
                           for cell, c in self.combination)
        who = (f"{self.counts.respondents} respondents of {self.counts.invited} invited ({atoms})" if counts
               else f"({atoms})")
        if self.kind == "derivable":
            return f"hidden {cell_name(self.cell)} can be computed: {who} = {formula}"
        if self.kind == "small_group":
            return f"a group {'of ' if counts else 'too small to be shown '}{who} can be computed = {formula}"
        return f"a combination too large to search exhaustively, treated as unsafe: {who}"


#: An exact coefficient: an int while it is one (almost always ±1 here, and ints are fast), else a Fraction.
Number = int | Fraction


class _Space:
    """A fully reduced row basis over block columns (exact arithmetic), built one row at a time, remembering which
    input rows make up each basis row."""

    def __init__(self, priority: Mapping[int, tuple[int, ...]], *, track: bool = True) -> None:
        self.priority = priority
        self.track = track
        self.rows: dict[int, dict[int, Number]] = {}  # pivot → row (1 at the pivot, 0 at every other pivot)
        self.made_of: dict[int, dict[int, Number]] = {}  # pivot → input row → coefficient
        self.holding: dict[int, set[int]] = defaultdict(set)  # non-pivot column → pivots whose rows hold it

    def reduce(self, vector: Mapping[int, Number], made_of: Mapping[int, Number]
               ) -> tuple[dict[int, Number], dict[int, Number]]:
        """The vector minus its part in the span, and the input rows that part is made of (negated)."""
        rest = dict(vector)
        sources = dict(made_of)
        for column in [c for c in vector if c in self.rows]:
            factor = rest.get(column)
            if not factor:
                continue
            _subtract(rest, self.rows[column], factor)
            if self.track:
                _subtract(sources, self.made_of[column], factor)
        return rest, sources

    def add(self, vector: Mapping[int, Number], source: int) -> bool:
        """Add an input row; False when it is already in the span."""
        rest, sources = self.reduce(vector, {source: 1})
        if not rest:
            return False
        pivot = max(rest, key=lambda c: self.priority[c])
        scale = rest[pivot]
        if scale != 1:
            rest = {c: _divide(v, scale) for c, v in rest.items()}
            sources = {r: _divide(v, scale) for r, v in sources.items()}
        for other in list(self.holding.pop(pivot, ())):
            row = self.rows[other]
            factor = row[pivot]
            changed = set(rest) | set(row)
            _subtract(row, rest, factor)
            if self.track:
                _subtract(self.made_of[other], sources, factor)
            for column in changed:
                if column == other:
                    continue
                if column in row:
                    self.holding[column].add(other)
                else:
                    self.holding[column].discard(other)
        self.rows[pivot] = rest
        self.made_of[pivot] = sources
        for column in rest:
            if column != pivot:
                self.holding[column].add(pivot)
        return True

    def contains(self, vector: Mapping[int, Number]) -> bool:
        rest, _ = self.reduce(vector, {})
        return not rest


def _divide(value: Number, by: Number) -> Number:
    if by == -1:
        return -value
    quotient = Fraction(value) / by
    return quotient.numerator if quotient.denominator == 1 else quotient


def _subtract(target: dict[int, Number], row: Mapping[int, Number], factor: Number) -> None:
    """target -= factor · row, dropping zeros."""
    for column, value in row.items():
        updated = target.get(column, 0) - factor * value
        if updated:
            target[column] = updated
        else:
            target.pop(column, None)


def audit_sets(atoms: Mapping[Hashable, Counts], published: Mapping[Hashable, Iterable[Hashable]], k: int, *,
               hidden: Mapping[Hashable, Iterable[Hashable]] | None = None,
               before: Mapping[Hashable, Iterable[Hashable]] | None = None,
               budget: int = DEFAULT_BUDGET, limit: int = 20) -> list[Finding]:
    """Everything the published cells reveal that they must not, exactly (see the module docstring for why the
    search is complete). Empty means safe.

    :param atoms: every atom with its counts.
    :param published: label → atoms, the cells published by the release being audited.
    :param hidden: label → atoms, cells that must stay hidden (this version's and earlier versions'): one that
        can be computed and holds anyone is a ``derivable`` finding.
    :param before: label → atoms, cells published earlier (known to everyone); findings they give on their own
        are reported with ``earlier=True``. Labels must differ from ``published``'s.
    :param budget: search nodes per component; beyond it the component is a ``too_large`` finding.
    :param limit: findings per component (the search goes on past findings that are ``earlier``).
    """
    earlier_cells = dict(before or {})
    labels: list[Hashable] = [*earlier_cells, *published]
    if len(set(labels)) != len(labels):
        raise ValueError("a label is used twice (published and before)")
    sets: list[frozenset[Hashable]] = []
    for label in labels:
        members = frozenset(earlier_cells[label] if label in earlier_cells else published[label])
        unknown = [a for a in members if a not in atoms]
        if unknown:
            raise ValueError(f"cell {label} has atoms without counts: {unknown[:5]}")
        sets.append(frozenset(a for a in members if atoms[a].invited > 0))  # 1. empty atoms are known zero
    # 2. Blocks: atoms that lie in exactly the same published cells.
    signature: dict[Hashable, list[int]] = defaultdict(list)
    for index, members in enumerate(sets):
        for atom in members:
            signature[atom].append(index)
    block_of: dict[Hashable, int] = {}
    block_atoms: list[list[Hashable]] = []
    by_signature: dict[tuple[int, ...], int] = {}
    for atom in sorted(signature, key=repr):
        key = tuple(signature[atom])
        if key not in by_signature:
            by_signature[key] = len(block_atoms)
            block_atoms.append([])
        block = by_signature[key]
        block_atoms[block].append(atom)
        block_of[atom] = block
    respondents = [sum(atoms[a].respondents for a in members) for members in block_atoms]
    invited = [sum(atoms[a].invited for a in members) for members in block_atoms]
    # Pivots: large blocks first (fixed to 0 in the search), nobody-answered blocks last (they do not bound it).
    priority = {b: (2 if respondents[b] >= k else 1 if respondents[b] else 0, respondents[b], -b)
                for b in range(len(block_atoms))}
    rows: list[dict[int, Number]] = [{block_of[a]: 1 for a in members} for members in sets]
    space = _Space(priority)
    old_space = _Space(priority, track=False)
    seen: set[frozenset[int]] = set()
    for index in sorted(range(len(rows)), key=lambda i: (len(rows[i]), i)):
        columns = frozenset(rows[index])
        if not columns or columns in seen:
            continue
        seen.add(columns)
        space.add(rows[index], index)
    for index in range(len(earlier_cells)):
        old_space.add(rows[index], index)

    def combination(made_of: Mapping[int, Number]) -> tuple[tuple[Hashable, Number], ...]:
        return tuple((labels[i], c) for i, c in sorted(made_of.items()) if c)

    def group(blocks: Iterable[int]) -> tuple[frozenset[Hashable], Counts]:
        chosen = list(blocks)
        return (frozenset(a for b in chosen for a in block_atoms[b]),
                Counts(sum(respondents[b] for b in chosen), sum(invited[b] for b in chosen)))

    findings: list[Finding] = []
    # A1: hidden cells that can be computed.
    for label, cell_atoms in (hidden or {}).items():
        present = {a for a in cell_atoms if a in atoms and atoms[a].invited > 0}
        if not present or any(a not in block_of for a in present):
            continue  # holds nobody, or holds someone no published cell covers
        blocks = {block_of[a] for a in present}
        if any(not set(block_atoms[b]) <= present for b in blocks):
            continue  # splits a block: every vector of the span is constant on it
        vector: dict[int, Number] = {b: 1 for b in blocks}
        rest, sources = space.reduce(vector, {})
        if rest:
            continue
        members_found, counts = group(blocks)
        findings.append(Finding("derivable", members_found, counts, label,
                                combination({i: -c for i, c in sources.items()}), earlier=old_space.contains(vector)))
    # A2: unsafe groups, component by component.
    parent = list(range(len(block_atoms)))

    def find(b: int) -> int:
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        return b

    for pivot, row in space.rows.items():
        for column in row:
            a, b = find(pivot), find(column)
            if a != b:
                parent[a] = b
    components: dict[int, list[int]] = defaultdict(list)
    for pivot in space.rows:
        components[find(pivot)].append(pivot)
    for pivots in components.values():
        findings += _search_component(space, old_space, sorted(pivots), respondents, invited, k, budget, limit,
                                      group, combination)
    return findings


def _search_component(space: _Space, old_space: _Space, pivots: list[int], respondents: list[int],
                      invited: list[int], k: int, budget: int, limit: int,
                      group: Callable[[Iterable[int]], tuple[frozenset[Hashable], Counts]],
                      combination: Callable[[Mapping[int, Number]], tuple[tuple[Hashable, Number], ...]]
                      ) -> list[Finding]:
    """Every unsafe group of one component (points 3–5 of the module docstring), up to ``limit`` new ones."""
    free = [p for p in pivots if respondents[p] < k]  # 5. a pivot with k or more respondents is 0
    terms: dict[int, list[tuple[int, Number]]] = {p: [(c, v) for c, v in space.rows[p].items() if c != p]
                                                   for p in free}
    order = _search_order(free, terms)
    last: dict[int, int] = {}
    for depth, p in enumerate(order):
        for column, _ in terms[p]:
            last[column] = depth
    completes: list[list[int]] = [[] for _ in order]
    for column, depth in last.items():
        completes[depth].append(column)
    partial: dict[int, Number] = defaultdict(int)
    chosen = [False] * len(order)
    included: list[int] = []
    saved: list[tuple[int, int, int]] = [(0, 0, 0)] * len(order)
    state = [0] * len(order)  # 0: untried, 1: trying "in", 2: trying "out"
    total_respondents = total_invited = 0
    nodes = 0
    found: list[Finding] = []
    depth = 0
    while depth >= 0:
        if depth == len(order):
            members = [p for p, c in zip(order, chosen, strict=True) if c] + included
            if members and not is_safe_group(Counts(total_respondents, total_invited), k):
                vector: dict[int, Number] = {b: 1 for b in members}
                made_of: dict[int, Number] = defaultdict(int)
                for p, c in zip(order, chosen, strict=True):
                    if c:
                        for source, value in space.made_of[p].items():
                            made_of[source] += value
                atoms_found, counts = group(members)
                finding = Finding("small_group", atoms_found, counts, None, combination(made_of),
                                  earlier=old_space.contains(vector))
                found.append(finding)
                if sum(not f.earlier for f in found) >= limit:
                    return found
            depth -= 1
            continue
        pivot = order[depth]
        if state[depth] == 1 or state[depth] == 2:  # undo the current choice
            total_respondents, total_invited, kept = saved[depth]
            del included[kept:]
            if chosen[depth]:
                for column, value in terms[pivot]:
                    partial[column] -= value
                chosen[depth] = False
        if state[depth] == 2:
            state[depth] = 0
            depth -= 1
            continue
        state[depth] += 1
        nodes += 1
        if nodes > budget:
            blocks = sorted({b for p in pivots for b in space.rows[p]})
            atoms_found, counts = group(blocks)
            return [Finding("too_large", atoms_found, counts,
                            earlier=all(old_space.contains(space.rows[p]) for p in pivots))]
        saved[depth] = (total_respondents, total_invited, len(included))
        if state[depth] == 1:  # "in" first: unsafe groups are found early
            chosen[depth] = True
            total_respondents += respondents[pivot]
            total_invited += invited[pivot]
            for column, value in terms[pivot]:
                partial[column] += value
        feasible = True
        for column in completes[depth]:
            value = partial[column]
            if value == 1:
                included.append(column)
                total_respondents += respondents[column]
                total_invited += invited[column]
            elif value != 0:
                feasible = False
                break
        if feasible and total_respondents < k:
            depth += 1
            if depth < len(order):
                state[depth] = 0
    return found


def _search_order(free: list[int], terms: Mapping[int, list[tuple[int, Number]]]) -> list[int]:
    """Pivots in an order that settles shared blocks early (each next pivot shares the most with those before)."""
    if len(free) > 2000:
        return free
    remaining = set(free)
    seen_columns: set[int] = set()
    order: list[int] = []
    while remaining:
        best = max(remaining, key=lambda p: (sum(c in seen_columns for c, _ in terms[p]), -len(terms[p]), -p))
        remaining.discard(best)
        order.append(best)
        seen_columns.update(c for c, _ in terms[best])
    return order


# --- a new version against earlier ones -----------------------------------------------------------------------------


class VersionCell(NamedTuple):
    """A cell of one release version, as a label in the audit ("version 1 total(12)")."""

    version: str
    cell: Hashable

    def __str__(self) -> str:
        return f"{self.version} {self.cell}"


@dataclass(frozen=True)
class EarlierVersion:
    """What an earlier version of a release published and hid, each cell as the set of atoms it held then (its
    tree, its membership)."""

    name: str
    published: Mapping[Hashable, Iterable[Hashable]]
    hidden: Mapping[Hashable, Iterable[Hashable]] = field(default_factory=dict)


@dataclass
class VersionProtection:
    """The new version's protection, and why it hides more than the tree alone would."""

    protection: Protection
    #: one sentence per cell hidden because of the earlier versions
    reasons: list[str]
    #: new cells the earlier versions already give (published whatever happens: hiding them protects nothing)
    known: set[Cell]
    #: what the earlier versions reveal on their own — not the new version's doing, and beyond its repair
    earlier_findings: list[Finding]
    #: the final audit over the earlier versions and the new one (every finding ``earlier``)
    findings: list[Finding]
    #: what the new version, protected on its own tree, would reveal together with the earlier versions (the
    #: first few; ``reasons`` in words)
    revealed: list[Finding] = field(default_factory=list)
    #: each new cell hidden because of the earlier versions, with the finding it was hidden for
    hidden_because: list[tuple[Cell, Finding]] = field(default_factory=list)
    #: every new cell hidden that a protection on its own tree would publish (some because the cells the earlier
    #: versions already give cannot be hidden, and so other cells must be: ``revealed`` says why)
    more: list[Cell] = field(default_factory=list)


def tree_cells(tree: Tree) -> dict[Cell, frozenset[int]]:
    """Every cell of a release tree as its set of atoms: the units whose directly counted people it holds."""
    below: dict[int, frozenset[int]] = {}
    for unit in tree.bottom_up:
        below[unit] = frozenset({unit}).union(*(below[c] for c in tree.children[unit]))
    result = {Cell(u, Kind.TOTAL): members for u, members in below.items()}
    for unit in tree.parents:
        if tree.children[unit]:
            result[Cell(unit, Kind.REMAINDER)] = frozenset({unit})
    return result


def atom_counts(tree: Tree, counts: Mapping[Cell, Counts]) -> dict[int, Counts]:
    """Each unit's directly counted people (its remainder, or a leaf's total) as an atom."""
    return {u: counts[Cell(u, Kind.REMAINDER if tree.children[u] else Kind.TOTAL)] for u in tree.parents}


def protect_version(tree: Tree, counts: Mapping[Cell, Counts], k: int, *, earlier: Sequence[EarlierVersion],
                    forced: Iterable[Cell] = (), version: str = "the new version",
                    other_atoms: Mapping[Hashable, Counts] | None = None,
                    unit_name: Callable[[Hashable], str] = str, budget: int = DEFAULT_BUDGET,
                    parts: Mapping[int, Mapping[Hashable, Counts]] | None = None) -> VersionProtection:
    """Protect a new version of a round's release on ``tree`` (e.g. after a re-organisation) so that, together with
    the versions published before it, it reveals nothing they do not already reveal.

    ``parts`` splits each unit's people into finer atoms, with this layer's counts: a release pooled over rounds
    (docs/ANONYMITY.md, "Pooled periods") counts in unit ``u`` the atoms ``(round, u)`` of every round of its
    period, and the rounds' own releases are "earlier versions" whose cells hold the atoms of one round. Without
    it each unit is one atom (the versions of one round's release).

    How to call it (one call per layer, as ``protect`` is called in ``compute_release``)::

        tree, counts = ...                        # the new version's tree and this layer's cell counts
        earlier = [EarlierVersion(f"version {r.version}",
                                  published={c: cells_then[c] for c in published_cells_of(r)},
                                  hidden={c: cells_then[c] for c in hidden_cells_of(r)})
                   for r in earlier_releases]     # cells_then = tree_cells(tree_of(r)): the tree r was made on,
                                                  # e.g. Tree({row.unit_id: row.parent_id for row in r's total rows})
        result = protect_version(tree, counts, k, earlier=earlier, forced=hidden_in_coarser_layer,
                                 version=f"version {next_version}", unit_name=names.get)
        result.protection                         # use like protect()'s result (it replaces known_before)
        result.reasons                            # write into the audit record and print from the CLI
        result.earlier_findings                   # non-empty: an earlier version already reveals something;
                                                  # refuse, print them, and ask for a review

    Atoms are unit ids: the people counted directly in a unit in this round, the same people in every version of
    the round's release. An earlier cell holding a unit that is not in ``tree`` needs its counts in
    ``other_atoms`` (a unit without participation: ``Counts(0, 0)``).

    When every earlier cell is a cell of ``tree`` with the same people (a recompute without a re-organisation),
    the known cells form one laminar family and the tree's own audit is exact: ``protect`` with them known, as
    fast as a first version — unless the earlier versions reveal something on their own, or the result hides a cell
    that a protection on its own tree would show; the general path then explains (the audit record must say why a
    version hides more than its tree needs).

    The steps (docs/ANONYMITY.md, "Earlier versions and re-organisations"): new cells that the earlier versions
    already give are known (publishing them adds nothing, hiding them protects nothing); then ``protect`` on the
    new tree; then the general audit (:func:`audit_sets`) over every earlier published cell and the new ones,
    with every earlier and new hidden cell. While it finds something the earlier versions do not give on their
    own, one more new cell is hidden: among the new published cells in the finding's combination, the one whose
    hiding (after ``protect`` again) loses least (:class:`~pulse.domain.suppression.Loss`). This ends, and safely:
    each round hides one more new cell, and once every new cell that the earlier versions do not give is hidden,
    the published span is the earlier versions' own, so whatever is left they give on their own.
    """
    if not earlier:  # the first version: the tree's own audit is exact
        first = protect(tree, counts, k, forced=forced)
        return VersionProtection(first, [], set(), [], [])
    cells: dict[Cell, frozenset[Hashable]] = {c: frozenset(m) for c, m in tree_cells(tree).items()}
    if parts is not None:
        split = parts
        cells = {c: frozenset(a for u in members if isinstance(u, int) for a in split.get(u, {}))
                 for c, members in cells.items()}
    if all(isinstance(label, Cell) and cells.get(label) == frozenset(members)
           for v in earlier for label, members in (*v.published.items(), *v.hidden.items())):
        # Every earlier cell is a cell of this tree with the same people (a recompute without a re-organisation):
        # the known cells form one laminar family, so the tree's own audit is exact and the general one is not
        # needed. What it finds derivable that no earlier version hides is known, as below; anything else is
        # something the earlier versions reveal on their own, and the general path below says what.
        # When the result hides more than a protection on its own tree would, the general path says why (the
        # audit record must).
        same = {label for v in earlier for label in v.published if isinstance(label, Cell)}
        hidden_there = {label for v in earlier for label in v.hidden}
        found = audit(tree, same, counts, k)
        if all(kind == "derivable" and cell not in hidden_there for kind, cell in found):
            given = {c for c in same if counts[c].invited > 0} | {cell for _, cell in found}
            fast = protect(tree, counts, k, forced=set(forced) - given, known_before=given)
            own_tree = protect(tree, counts, k, forced=forced)
            if not any(c in own_tree.published for c in fast.suppressed):
                return VersionProtection(fast, [], given, [], [])
    atoms: dict[Hashable, Counts] = dict(other_atoms or {})
    if parts is not None:
        for unit_parts in parts.values():
            atoms.update(unit_parts)
    else:
        for unit, unit_counts in atom_counts(tree, counts).items():
            atoms[unit] = unit_counts
    before: dict[Hashable, frozenset[Hashable]] = {
        VersionCell(v.name, label): frozenset(members) for v in earlier for label, members in v.published.items()}
    hidden_before: dict[Hashable, frozenset[Hashable]] = {
        VersionCell(v.name, label): frozenset(members) for v in earlier for label, members in v.hidden.items()}
    new_label = {c: VersionCell(version, c) for c in cells}
    # The new cells the earlier versions already give, and what the earlier versions give on their own.
    alone = audit_sets(atoms, {}, k, before=before, budget=budget,
                       hidden={**hidden_before, **{new_label[c]: cells[c] for c in cells}})
    known = {label.cell for f in alone if f.kind == "derivable" and isinstance(label := f.cell, VersionCell)
             and label.version == version and isinstance(label.cell, Cell)}
    earlier_findings = [f for f in alone if not (f.kind == "derivable" and f.cell in new_label.values())]
    forced_cells = set(forced) - known
    extra: set[Cell] = set()

    def run(more: set[Cell]) -> Protection:
        return protect(tree, counts, k, forced=forced_cells | more, known_before=known)

    def loss_of(protection: Protection, more: set[Cell]) -> tuple[int, ...]:
        lost = {c for c, why in protection.suppressed.items() if why is Reason.COMPLEMENTARY or c in more}
        return tuple(cell_loss(tree, counts, k, protection.published, lost))

    def name(label: Hashable) -> str:
        if isinstance(label, VersionCell) and isinstance(label.cell, Cell):
            cell = label.cell
            return f"{label.version} {cell.kind.value}({unit_name(cell.unit)})"
        return str(label)

    def audit_new(protection: Protection) -> list[Finding]:
        return audit_sets(
            atoms, {new_label[c]: m for c, m in cells.items() if c in protection.published}, k, before=before,
            budget=budget,
            hidden={**hidden_before, **{new_label[c]: cells[c] for c in protection.suppressed if c not in known}})

    # Why: what the new version, protected on its own tree as if nothing had been published, would reveal.
    alone_protection = protect(tree, counts, k, forced=forced)
    revealed = _explanations(audit_new(alone_protection))[:5]
    reasons = [f"{version}, protected on its own tree, would reveal together with the earlier versions: "
               f"{f.describe(unit_name, name, counts=False)}" for f in revealed]
    hidden_because: list[tuple[Cell, Finding]] = []
    while True:
        protection = run(extra)
        findings = audit_new(protection)
        new = _explanations(findings)
        if not new:
            break
        # One more hidden cell per finding, several findings per round (the next audit tells whether a cell chosen
        # for one finding also removed another, which is then skipped here).
        chosen_now: set[Cell] = set()
        for finding in new:
            candidates = [label.cell for label, _ in finding.combination
                          if isinstance(label, VersionCell) and label.version == version
                          and label.cell in protection.published and label.cell not in known]
            if not candidates:  # too large to search: any new published cell that touches it
                candidates = sorted(c for c in protection.published if c not in known and cells[c] & finding.atoms)
            if any(c in chosen_now for c in candidates):
                continue
            if not candidates:  # cannot happen (see the docstring); hide all the earlier versions do not give
                chosen_now |= {c for c in cells if c not in known}
                reasons.append(f"{version} hides every cell the earlier versions do not give, because otherwise "
                               f"{finding.describe(unit_name, name, counts=False)}")
                hidden_because.extend((c, finding) for c in sorted(chosen_now))
                break
            hidden_now = extra | chosen_now
            options = {c: run(hidden_now | {c}) for c in dict.fromkeys(candidates)}
            chosen = min(options, key=lambda c: (loss_of(options[c], hidden_now | {c}), c))
            chosen_now.add(chosen)
            hidden_because.append((chosen, finding))
            reasons.append(f"{version} hides {chosen.kind.value}({unit_name(chosen.unit)}) as well: otherwise, "
                           f"together with the earlier versions, {finding.describe(unit_name, name, counts=False)}")
        extra |= chosen_now
    for cell in extra:
        if cell in protection.suppressed:
            protection.suppressed[cell] = Reason.COMPLEMENTARY
    more = sorted(c for c in protection.suppressed if c in alone_protection.published)
    if more:
        listed = ", ".join(f"{c.kind.value}({unit_name(c.unit)})" for c in more)
        reasons.insert(min(len(reasons), 5),
                       f"so {version} hides {listed} (a protection on its own tree would publish them)")
    protection.findings.extend(reasons)
    return VersionProtection(protection, reasons, known, earlier_findings, findings, revealed, hidden_because, more)


def _explanations(findings: Iterable[Finding]) -> list[Finding]:
    """The new findings, small groups first, without a hidden cell that is the same people as a small group."""
    new = sorted((f for f in findings if not f.earlier),
                 key=lambda f: ("small_group", "derivable", "too_large").index(f.kind))
    groups = {f.atoms for f in new if f.kind == "small_group"}
    return [f for f in new if not (f.kind == "derivable" and f.atoms in groups)]
