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
    The figures are :class:`pulse.domain.figures.Figures`, which also say how they are stored.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

from pulse.domain.derivation import (
    DEFAULT_BUDGET,
    EarlierVersion,
    Finding,
    FindingKind,
    VersionCell,
    atom_counts,
    audit_sets,
    protect_version,
    tree_cells,
)
from pulse.domain.figures import HIDDEN, Figures, Form
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
    """An earlier version of the round's release as it was published: the tree it was computed on and, per layer,
    the cells it showed. What it showed stays known; its cells enter the new version's audit as the sets of people
    they held then, never matched to the new version's cells by unit (docs/ANONYMITY.md, "Earlier versions and
    re-organisations")."""

    version: int
    #: Its tree (unit → parent), as stored with its cells.
    parents: Mapping[int, int | None]
    #: Cells whose respondents were shown.
    nodes: frozenset[Cell] = frozenset()
    #: Per question: cells whose answered count and sum were shown exactly (a mean; for yes/no items an answered
    #: count, also the flag alone that releases before yes/no items were protected showed below k_dist — the
    #: cautious reading). A bound is a hidden cell, like any other.
    exact: Mapping[str, frozenset[Cell]] = field(default_factory=dict)
    #: Per question: cells whose distribution was shown.
    dists: Mapping[str, frozenset[Cell]] = field(default_factory=dict)
    #: The round whose release this is, when it enters the audit of a release pooled over rounds ("Pooled
    #: periods"): its units' people are then the atoms ``(round, unit)``.
    round: int | None = None
    #: An earlier pooled release of the same period: unit → its atoms (``(round, unit)`` for each of its rounds).
    atoms: Mapping[int, tuple[Hashable, ...]] | None = None

    @property
    def name(self) -> str:
        """Its label in the audit (unique among the versions and rounds audited together)."""
        return f"version {self.version}" if self.round is None else f"round {self.round} version {self.version}"

    def atoms_of(self, unit: int) -> tuple[Hashable, ...]:
        """The atoms a unit of its tree counted directly."""
        if self.atoms is not None:
            return self.atoms.get(unit, ())
        return (unit,) if self.round is None else ((self.round, unit),)


@dataclass(frozen=True)
class Parts:
    """The people of a release pooled over rounds, split into atoms ``(round, unit)`` (docs/ANONYMITY.md, "Pooled
    periods"): a pooled cell holds the atoms of every round of its period, a round's release cell only those of
    its round, so the joint audit needs the finer atoms."""

    #: unit → its atoms
    units: Mapping[int, tuple[Hashable, ...]]
    #: atom → respondents and invited
    direct: Mapping[Hashable, Counts]
    #: atom → one tally per item (answers counted directly there)
    tallies: Mapping[Hashable, Sequence[Tally]]

    def pooled(self, questions: int) -> tuple[dict[int, Counts], dict[int, list[Tally]]]:
        """Per unit: the counts and tallies of all its atoms together (what the pooled cells aggregate)."""
        direct: dict[int, Counts] = {}
        tallies: dict[int, list[Tally]] = {}
        for unit, atoms in self.units.items():
            direct[unit] = Counts(sum(self.direct[a].respondents for a in atoms),
                                  sum(self.direct[a].invited for a in atoms))
            tallies[unit] = [merged([self.tallies[a][i] for a in atoms if a in self.tallies])
                             for i in range(questions)]
        return direct, tallies

    def counts(self, index: int | None) -> dict[int, dict[Hashable, Counts]]:
        """One layer's counts per unit and atom: respondents (``index`` None) or those who answered an item."""
        result: dict[int, dict[Hashable, Counts]] = {}
        for unit, atoms in self.units.items():
            result[unit] = {}
            for atom in atoms:
                own = self.direct[atom]
                tally = self.tallies.get(atom)
                answered = own.respondents if index is None else (tally[index].answered if tally else 0)
                result[unit][atom] = Counts(answered, own.invited)
        return result

    def sums(self, index: int) -> dict[Hashable, float]:
        """Per atom, the sum of an item's answers."""
        return {a: t[index].total for a, t in self.tallies.items()}


#: What an :class:`Explanation` is: what the new version, protected on its own tree, would reveal together with the
#: earlier versions (``reveals``); a new cell hidden for one such finding (``hides``); a new cell hidden that a
#: protection on its own tree would publish (``more``: every one of them, whatever the finding); or what the
#: earlier versions reveal on their own (``earlier``: nothing new can be published then).
Role = Literal["reveals", "hides", "more", "earlier"]


@dataclass(frozen=True)
class Term:
    """One published cell of one version in an attacker's combination, with its coefficient (±1 almost always)."""

    version: int
    cell: Cell
    coefficient: Fraction = Fraction(1)
    #: the round whose release the cell is from, in the audit of a pooled release (None: a version of this one)
    round: int | None = None


@dataclass(frozen=True)
class Explanation:
    """Why a new version hides more than its own tree needs, or what earlier versions already reveal: plain data for
    the release's audit record and the messages made from it. It names cells and units, never a hidden figure (how
    many answered in a hidden group is itself hidden)."""

    role: Role
    #: What can be computed (None for ``more``).
    kind: FindingKind | None
    #: The layers it holds in ("respondents", "CODE:k", "CODE:k_dist").
    layers: tuple[str, ...]
    #: The units whose people make up the group (the first few for a combination too large to search).
    units: tuple[int, ...] = ()
    #: Published cells whose sum (with these coefficients) gives the group or the hidden cell.
    formula: tuple[Term, ...] = ()
    #: ``derivable``: the hidden cell that could be computed.
    cell: Term | None = None
    #: ``hides``, ``more``: the new version's cell hidden.
    hides: Cell | None = None

    def record(self) -> dict[str, object]:
        """As JSON for the audit record."""

        def term(t: Term) -> dict[str, object]:
            entry: dict[str, object] = {"version": t.version, "unit": t.cell.unit, "kind": t.cell.kind.value,
                                        "coefficient": str(t.coefficient)}
            if t.round is not None:
                entry["round"] = t.round
            return entry

        result: dict[str, object] = {"role": self.role, "kind": self.kind, "layers": list(self.layers),
                                     "units": list(self.units), "formula": [term(t) for t in self.formula]}
        if self.cell is not None:
            result["cell"] = term(self.cell)
        if self.hides is not None:
            result["hides"] = {"unit": self.hides.unit, "kind": self.hides.kind.value}
        return result


class EarlierUnsafeError(Exception):
    """The earlier versions of the release already reveal something on their own (e.g. a release made before
    censored means were protected): a new version cannot take it back, so none is made."""

    def __init__(self, explanations: list[Explanation]) -> None:
        super().__init__(f"earlier versions already reveal {len(explanations)} thing(s) on their own")
        self.explanations = explanations


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
    #: Per cell: question code → the figures to store (only those shown: no entry when hidden).
    figures: dict[Cell, dict[str, Figures]]
    #: Why the version hides more than its own tree needs, because of the earlier versions (empty for the first).
    explanations: list[Explanation] = field(default_factory=list)


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
                  items: Sequence[Item], k: int, k_dist: int, earlier: Sequence[Earlier] = (), *, version: int = 1,
                  unit_name: Callable[[int], str] = str, parts: Parts | None = None) -> Outcome:
    """Protect every layer of a round and compute the figures to store.

    :param direct: respondents and invited directly in each unit.
    :param tallies: per unit, one tally per item (answers counted directly in the unit).
    :param earlier: the versions of the round's release published before this one (``version``), each on its own
        tree: every layer is protected so that, together with them, it reveals nothing they do not reveal alone.
    :param unit_name: names units in the protection's findings.
    :param parts: a release pooled over rounds: its units' people as atoms ``(round, unit)`` (``direct`` and
        ``tallies`` are then :meth:`Parts.pooled`), and ``earlier`` holds the rounds' releases (``Earlier.round``)
        and the period's earlier pooled versions (``Earlier.atoms``): every layer is audited jointly with them.
    :raises EarlierUnsafeError: when the earlier versions reveal something on their own (nothing is published).
    :raises AuditError: when a layer fails its audit after protection (it never publishes then).
    """
    versions = _Versions(tree, earlier, version, unit_name, parts)
    node_counts = cell_counts(tree, direct)
    node_layer = versions.protect("respondents", node_counts, k, forced=set(), shown=lambda e: e.nodes,
                                  index=None).protection
    nodes = set(node_layer.published)
    versions.check(audit(tree, nodes, node_counts, k), "respondents")
    per_cell = cell_tallies(tree, tallies, len(items))
    hidden_nodes = {c for c in tree.cells() if c not in nodes}
    outcomes: dict[str, ItemOutcome] = {}
    figures: dict[Cell, dict[str, Figures]] = {cell: {} for cell in tree.cells()}
    for index, item in enumerate(items):
        scale = SCALES.get(item.scale)
        if scale is None:  # free text: its answers are comments, never figures
            continue
        counts = {c: Counts(per_cell[c][index].answered, node_counts[c].invited) for c in tree.cells()}
        sums = {c: per_cell[c][index].total for c in tree.cells()}
        if item.scale == "yesno":
            outcome = _protect_yes_no(tree, counts, k_dist, item.code, hidden_nodes, versions, index)
        else:
            outcome = _protect_scale(tree, counts, sums, scale, k, k_dist, item.code, hidden_nodes, versions, index)
        outcomes[item.code] = outcome
        for cell in nodes:
            shown = _figures(item, scale, per_cell[cell][index], node_counts[cell].respondents,
                             exact=cell in outcome.exact, bound=outcome.bounds.get(cell), dist=cell in outcome.dist)
            if not shown.hidden:
                figures[cell][item.code] = shown
    unsafe = [e for e in versions.explanations() if e.role == "earlier"]
    if unsafe:
        raise EarlierUnsafeError(unsafe)
    return Outcome(nodes, node_layer, outcomes, figures, versions.explanations())


def _protect_scale(tree: Tree, counts: Mapping[Cell, Counts], sums: Mapping[Cell, float], scale: Scale, k: int,
                   k_dist: int, code: str, hidden_nodes: set[Cell], versions: _Versions, index: int) -> ItemOutcome:
    """Layers 2 and 3 of a question on an ordered scale (means)."""
    # Censored cells are suppressed cells: forced, so they get complementary protection (module docstring).
    bounds: dict[Cell, str] = {}
    for cell in tree.cells():
        n = counts[cell].respondents
        if cell not in hidden_nodes and k <= n < k_dist and (bound := censor(sums[cell] / n, scale)):
            bounds[cell] = bound
    forced = hidden_nodes | set(bounds)
    findings: list[str] = []
    unresolved: set[int] = set()
    stuck: set[frozenset[Cell]] = set()
    while True:
        layer = versions.protect(f"{code}:k", counts, k, forced=forced, shown=lambda e: e.exact.get(code, ()),
                                 record=False, index=index)
        at_k = layer.protection
        exact = at_k.published - set(bounds)
        risky = [group for group in censorable_groups(tree, exact, counts, sums, scale, k, k_dist)
                 if group.unit not in unresolved]
        across = [cells for cells in versions.censorable(code, counts, sums, scale, exact, k, k_dist, index)
                  if cells not in stuck]
        if not risky and not across:
            break
        # One suppression per group, several groups per pass (a group whose border was just changed waits for
        # the next pass: the change may have merged it away).
        touched: set[Cell] = set()
        for group in risky:
            if touched & set(group.border):
                continue
            options = [c for c in group.border if c not in layer.known and c not in forced and counts[c].invited > 0]
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
        # The same for groups this version gives together with the earlier ones (after a re-organisation).
        for cells in across:
            if touched & cells:
                continue
            options = [c for c in cells if c not in layer.known and c not in forced and counts[c].invited > 0]
            if not options:
                stuck.add(cells)
                findings.append("censorable group with the earlier versions: they give it already")
                continue
            chosen = min(options, key=lambda c: (counts[c].respondents, counts[c].invited,
                                                 c.kind is Kind.TOTAL, c.unit))
            forced.add(chosen)
            touched.update(cells)
            findings.append(f"censorable group with the earlier versions: suppress {chosen}")
    versions.keep(layer)
    versions.check(audit(tree, exact, counts, k), f"{code}:k")
    at_k_dist = versions.protect(f"{code}:k_dist", counts, k_dist, forced={c for c in tree.cells() if c not in exact},
                                 shown=lambda e: e.dists.get(code, ()), index=index).protection
    dist = at_k_dist.published & exact
    versions.check(audit(tree, dist, counts, k_dist), f"{code}:k_dist")
    return ItemOutcome(exact, bounds, dist, {f"{code}:k": at_k, f"{code}:k_dist": at_k_dist}, findings)


def _protect_yes_no(tree: Tree, counts: Mapping[Cell, Counts], k_dist: int, code: str, hidden_nodes: set[Cell],
                    versions: _Versions, index: int) -> ItemOutcome:
    """The one layer of a yes/no item: nothing below ``k_dist`` (module docstring).

    An earlier version's cells with an answered count count as shown, the flag alone that releases before yes/no
    items were protected showed below ``k_dist`` included: it cannot be taken back. Such a flag is a published group
    smaller than ``k_dist``, so those releases are reported as revealing something on their own.
    """
    layer = versions.protect(f"{code}:k_dist", counts, k_dist, forced=hidden_nodes,
                             shown=lambda e: e.exact.get(code, ()), index=index).protection
    shown = set(layer.published)
    versions.check(audit(tree, shown, counts, k_dist), f"{code}:k_dist")
    return ItemOutcome(shown, {}, set(shown), {f"{code}:k_dist": layer})


@dataclass
class _Layer:
    """One layer protected against the earlier versions: the protection (whose published cells include those
    the earlier versions already give), those known cells, and why it hides more than its own tree needs."""

    protection: Protection
    known: set[Cell]
    explanations: list[Explanation]


class _Versions:
    """The earlier versions of a round's release, each cell as the set of units (atoms) whose directly counted
    people it held then — a unit's people are the same in every version of one round's release, wherever the
    unit sits (docs/ANONYMITY.md, "Earlier versions and re-organisations")."""

    def __init__(self, tree: Tree, earlier: Sequence[Earlier], version: int, unit_name: Callable[[int], str],
                 parts: Parts | None = None) -> None:
        self.tree = tree
        self.earlier = sorted(earlier, key=lambda e: (e.round is not None, e.round or 0, e.version))
        self.version = version
        self.unit_name = unit_name
        self.parts = parts
        self.cells = [{c: frozenset(a for u in members for a in e.atoms_of(u))
                       for c, members in tree_cells(Tree(e.parents)).items()} for e in self.earlier]
        # Atoms of earlier trees that are not in this one have no people in this round: a release tree holds every
        # unit anyone counts in (pulse.services.releases.release_tree), so only units people were counted below.
        mine: set[Hashable] = (set(tree.parents) if parts is None
                               else {a for atoms in parts.units.values() for a in atoms})
        self.others: dict[Hashable, Counts] = {a: Counts(0, 0) for cells in self.cells for m in cells.values()
                                               for a in m if a not in mine}
        self.numbers = {e.name: (e.version, e.round) for e in self.earlier} | {f"version {version}": (version, None)}
        self._kept: dict[_Key, list[str]] = {}  # insertion-ordered: the order found

    def protect(self, name: str, counts: Mapping[Cell, Counts], k: int, *, forced: set[Cell],
                shown: Callable[[Earlier], Iterable[Cell]], record: bool = True, index: int | None) -> _Layer:
        """Protect one layer (``protect``'s job) so that, with what the earlier versions showed in it, it reveals
        nothing they do not reveal alone. ``record``: keep its explanations (else call :meth:`keep` with the final
        one, when a layer is protected several times)."""
        if not self.earlier:  # the first version: nothing to audit against (and nothing to pay for)
            return _Layer(protect(self.tree, counts, k, forced=forced), set(), [])
        parts = self.parts.counts(index) if self.parts is not None else None
        atoms: dict[Hashable, Counts] = {}
        if parts is None:
            for unit, unit_counts in atom_counts(self.tree, counts).items():
                atoms[unit] = unit_counts
        else:
            atoms = {a: c for unit_parts in parts.values() for a, c in unit_parts.items()}
        earlier = []
        for version, cells in zip(self.earlier, self.cells, strict=True):
            published = {c for c in shown(version) if c in cells}
            hidden: dict[Hashable, Iterable[Hashable]] = {
                c: m for c, m in cells.items() if c not in published and not _nothing_to_hide(atoms, m, k)}
            # In the tree's order, not a set's: the audit's formulas (and so its choices) must not depend on the
            # process's hash seed.
            earlier.append(EarlierVersion(version.name, {c: m for c, m in cells.items() if c in published}, hidden))
        result = protect_version(self.tree, counts, k, earlier=earlier, forced=forced,
                                 version=f"version {self.version}", other_atoms=self.others, parts=parts,
                                 unit_name=self._atom_name)
        if any(not f.earlier for f in result.findings):  # protect_version hides until there is none
            raise AuditError(f"audit against earlier versions failed in layer {name}")
        explanations = [*(self._explain("earlier", f, name) for f in result.earlier_findings),
                        *(self._explain("reveals", f, name) for f in result.revealed),
                        *(self._explain("hides", f, name, cell) for cell, f in result.hidden_because),
                        *(Explanation("more", None, (name,), hides=cell) for cell in result.more)]
        layer = _Layer(result.protection, result.known, explanations)
        if record:
            self.keep(layer)
        return layer

    def _atom_name(self, atom: Hashable) -> str:
        """A unit, or a unit in one round of a pooled period (the atom ``(round, unit)``), as the audit record's
        sentences name it — "round 3 Kontoret", as its formulas name a round's cells."""
        if isinstance(atom, tuple):
            return f"round {atom[0]} {self.unit_name(atom[1])}"
        return self.unit_name(atom) if isinstance(atom, int) else str(atom)

    def check(self, findings: list[tuple[str, Cell]], layer: str) -> None:
        """A layer's audit on its own tree. Cells the earlier versions already give are published whatever happens,
        so when those reveal something on their own, this audit fails too: no version is made then
        (:class:`EarlierUnsafeError`, once every layer has said what), and that is what is reported."""
        if not any(role == "earlier" for role, *_ in self._kept):
            _check(findings, layer)

    def censorable(self, code: str, counts: Mapping[Cell, Counts], sums: Mapping[Cell, float], scale: Scale,
                   exact: set[Cell], k: int, k_dist: int, index: int) -> list[frozenset[Cell]]:
        """Groups of k to k_dist answers whose mean would be censored were they a cell, that this version's exact
        cells give together with the earlier versions' (docs/ANONYMITY.md, "Censored figures": else the censoring
        could be undone across versions): for each, this version's cells in one formula that gives it (hiding one
        takes that formula away; the caller repeats until none is left). None without earlier versions
        (:func:`censorable_groups` on the tree is complete then), and none the earlier versions give on their own
        (nothing can take those back). A combination too large to search counts as one (fail safe)."""
        if not self.earlier:
            return []
        atoms: dict[Hashable, Counts] = dict(self.others)
        atom_sums: dict[Hashable, float]
        cells: dict[Cell, frozenset[Hashable]] = {c: frozenset(m) for c, m in tree_cells(self.tree).items()}
        if self.parts is None:
            for unit, unit_counts in atom_counts(self.tree, counts).items():
                atoms[unit] = unit_counts
            atom_sums = {u: sums[Cell(u, Kind.REMAINDER if self.tree.children[u] else Kind.TOTAL)]
                         for u in self.tree.parents}
        else:
            for unit_parts in self.parts.counts(index).values():
                atoms.update(unit_parts)
            atom_sums = self.parts.sums(index)
            units = self.parts.units
            cells = {c: frozenset(a for u in m if isinstance(u, int) for a in units.get(u, ()))
                     for c, m in cells.items()}
        new = f"version {self.version}"
        before: dict[Hashable, Iterable[Hashable]] = {
            VersionCell(e.name, c): old[c]
            for e, old in zip(self.earlier, self.cells, strict=True) for c in e.exact.get(code, ()) if c in old}
        result = []
        for finding in audit_sets(atoms, {VersionCell(new, c): cells[c] for c in exact}, k_dist, before=before,
                                  limit=_CENSORABLE_LIMIT):
            if finding.earlier:
                continue
            if finding.kind == "too_large":
                result.append(frozenset(c for c in exact if cells[c] & finding.atoms))
                continue
            n = finding.counts.respondents
            if finding.kind == "small_group" and k <= n < k_dist and censor(
                    sum(atom_sums.get(a, 0.0) for a in finding.atoms) / n, scale):
                result.append(frozenset(label.cell for label, _ in finding.combination
                                        if isinstance(label, VersionCell) and label.version == new
                                        and isinstance(label.cell, Cell)))
        return result

    def keep(self, layer: _Layer) -> None:
        """Record a layer's explanations (once per layer; the same one in several layers is recorded once)."""
        for explanation in layer.explanations:
            key = (explanation.role, explanation.kind, explanation.units, explanation.formula, explanation.cell,
                   explanation.hides)
            self._kept.setdefault(key, []).extend(explanation.layers)

    def explanations(self) -> list[Explanation]:
        """Everything recorded, each with every layer it holds in."""
        return [Explanation(role, kind, tuple(layers), units, formula, cell, hides)
                for (role, kind, units, formula, cell, hides), layers in self._kept.items()]

    def _term(self, label: Hashable, coefficient: Fraction | int = 1) -> Term | None:
        if isinstance(label, VersionCell) and isinstance(label.cell, Cell) and label.version in self.numbers:
            version, round_id = self.numbers[label.version]
            return Term(version, label.cell, Fraction(coefficient), round_id)
        return None

    def _explain(self, role: Role, finding: Finding, layer: str, hides: Cell | None = None) -> Explanation:
        units = tuple(sorted({u if isinstance(u, int) else u[1] for u in finding.atoms
                              if isinstance(u, int) or (isinstance(u, tuple) and isinstance(u[1], int))}))
        formula = tuple(t for label, c in finding.combination if (t := self._term(label, c)) is not None)
        cell = self._term(finding.cell) if finding.cell is not None else None
        return Explanation(role, finding.kind, (layer,), units[:_UNITS_NAMED], formula, cell, hides)


def _nothing_to_hide(atoms: Mapping[Hashable, Counts], members: Iterable[Hashable], k: int) -> bool:
    """A cell that nobody answered in although at least k were invited: it shows nothing (no answers look like too
    few answers), published or not, yet that nobody answered may be known (``is_safe_group``). So it is neither a
    published cell (nobody sees a figure) nor a hidden one to protect."""
    invited = 0
    for unit in members:
        own = atoms.get(unit)
        if own is not None:
            if own.respondents:
                return False
            invited += own.invited
    return invited >= k


_Key = tuple[Role, FindingKind | None, tuple[int, ...], tuple[Term, ...], Term | None, Cell | None]

#: Groups of fewer than k_dist answers to look at per component when searching for censorable ones: all of them.
#: A search finds at most one group per node it visits, so it gives up on a component as too large (and the
#: caller hides what touches it) before it could stop at this many and miss one (a component holds a few hundred
#: at most on the reference organisation).
_CENSORABLE_LIMIT = DEFAULT_BUDGET + 1

#: Units named in an explanation (a combination too large to search can span a whole administration).
_UNITS_NAMED = 20


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
             dist: bool) -> Figures:
    """The figures of one question in one cell, at published precision (hidden when nothing is shown).

    Nobody answering looks exactly like too few answering (docs/ANONYMITY.md, "Release and protection"), so a cell
    with no answers to the question shows nothing for it.
    """
    if bound is not None:
        return Figures(Form.BOUND, item.version, censor=bound)  # the bound and nothing more: no n, no mean
    if not exact or not tally.answered:
        return HIDDEN
    if item.scale == "yesno":
        if not dist:
            return HIDDEN
        yes = sum(tally.options.get(v, 0) for v in scale.flag_values)
        return Figures(Form.EXACT, item.version, tally.answered, yes=whole(share(yes, tally.answered)),
                       dist=tuple(distribution(tally, scale)), skip=whole(share(tally.skipped, respondents)),
                       flag=yes > 0)
    if not dist:
        return Figures(Form.EXACT, item.version, tally.answered, mean=one_decimal(tally.mean))
    return Figures(Form.EXACT, item.version, tally.answered, mean=one_decimal(tally.mean), sd=one_decimal(tally.sd),
                   dist=tuple(distribution(tally, scale)), skip=whole(share(tally.skipped, respondents)),
                   enps=whole(enps(tally)) if item.scale == "enps" else None)


def _check(findings: list[tuple[str, Cell]], layer: str) -> None:
    if findings:
        raise AuditError(f"audit failed after protection in layer {layer}: {findings[:5]}")
