"""What moving a person or a unit changes, worked out before it is saved.

Moving someone to another unit, or a unit under another parent, changes who sees the results that include them
(managers and safety representatives see the subtrees of their units) and where answers are counted (small
groups are merged upwards until they hold at least k people, docs/ANONYMITY.md "Counting units"). The admin
forms show this before the change is stored, so a move that would, say, leave a team below k or take a unit out
of its safety representative's area is a decision and not a surprise.

Pure: the service hands over the organisation before and after as plain mappings.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from pulse.domain.orgtree import OrgTree, group_at_least


@dataclass(frozen=True)
class OrgState:
    """The organisation as far as a move matters: the unit tree, where each active person is, and who leads or
    safeguards which units (person id → unit ids)."""

    parents: Mapping[int, int | None]
    unit_of: Mapping[int, int | None]
    manages: Mapping[int, frozenset[int]]
    safety: Mapping[int, frozenset[int]]
    tree: OrgTree[int] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tree", OrgTree(dict(self.parents)))

    def watchers(self, roles: Mapping[int, frozenset[int]], unit: int | None) -> frozenset[int]:
        """The people whose units (in ``roles``) include ``unit`` or one of the units above it."""
        if unit is None or unit not in self.parents:
            return frozenset()
        above = {unit, *self.tree.ancestors(unit)}
        return frozenset(person for person, units in roles.items() if units & above)

    def starting_unit(self, person: int) -> int | None:
        """Where the person's answer starts out before small groups are merged: their own unit, or for a manager
        the unit above the highest unit they lead (never a unit whose results they see)."""
        led = self.manages.get(person)
        if not led:
            return self.unit_of.get(person)
        top = min((u for u in led if u in self.parents), key=lambda u: (self.tree.depth(u), u), default=None)
        return self.parents.get(top) if top is not None else None

    def counting(self, k: int) -> dict[int, int | None]:
        """Person → the unit their answer counts in with groups of at least ``k`` (None: not invited)."""
        grouping = group_at_least(self.tree, {p: self.starting_unit(p) for p in self.unit_of}, k)
        return {person: grouping.where.get(person) for person in self.unit_of}


@dataclass(frozen=True)
class CountingChange:
    """``people`` people whose answers counted in ``before`` now count in ``after`` (None: nowhere with k)."""

    before: int | None
    after: int | None
    people: int


@dataclass(frozen=True)
class MoveEffects:
    """What a move changes for one subject (the moved person's unit, or the moved unit)."""

    managers_before: frozenset[int]
    managers_after: frozenset[int]
    safety_before: frozenset[int]
    safety_after: frozenset[int]
    counting: tuple[CountingChange, ...]
    #: Units that move with the subject (the unit and everything below it; empty for a person).
    units_moved: frozenset[int] = frozenset()
    #: Active people who move with the subject (in the moved units; 1 for a person who is active).
    people_moved: int = 0

    @property
    def managers_gained(self) -> frozenset[int]:
        return self.managers_after - self.managers_before

    @property
    def managers_lost(self) -> frozenset[int]:
        return self.managers_before - self.managers_after

    @property
    def safety_gained(self) -> frozenset[int]:
        return self.safety_after - self.safety_before

    @property
    def safety_lost(self) -> frozenset[int]:
        return self.safety_before - self.safety_after

    @property
    def changes_anything(self) -> bool:
        return bool(self.managers_gained or self.managers_lost or self.safety_gained or self.safety_lost
                    or self.counting)


def _counting_changes(before: OrgState, after: OrgState, k: int) -> tuple[CountingChange, ...]:
    old, new = before.counting(k), after.counting(k)
    moved: dict[tuple[int | None, int | None], int] = {}
    for person in set(old) | set(new):
        pair = (old.get(person), new.get(person))
        if pair[0] != pair[1]:
            moved[pair] = moved.get(pair, 0) + 1
    return tuple(CountingChange(b, a, n) for (b, a), n in sorted(moved.items(), key=lambda item: (
        item[0][0] is None, item[0][0] or 0, item[0][1] is None, item[0][1] or 0)))


def person_move(before: OrgState, after: OrgState, person: int, k: int) -> MoveEffects:
    """The effects of changing ``person`` (their unit, or the units they lead) from ``before`` to ``after``."""
    old_unit, new_unit = before.unit_of.get(person), after.unit_of.get(person)
    return MoveEffects(
        managers_before=before.watchers(before.manages, old_unit) - {person},
        managers_after=after.watchers(after.manages, new_unit) - {person},
        safety_before=before.watchers(before.safety, old_unit) - {person},
        safety_after=after.watchers(after.safety, new_unit) - {person},
        counting=_counting_changes(before, after, k),
        people_moved=1 if person in after.unit_of else 0,
    )


def unit_move(before: OrgState, after: OrgState, unit: int, k: int) -> MoveEffects:
    """The effects of giving ``unit`` another parent (``after`` has the new parent link)."""
    moved = frozenset(after.tree.subtree([unit]))
    return MoveEffects(
        managers_before=before.watchers(before.manages, unit),
        managers_after=after.watchers(after.manages, unit),
        safety_before=before.watchers(before.safety, unit),
        safety_after=after.watchers(after.safety, unit),
        counting=_counting_changes(before, after, k),
        units_moved=moved,
        people_moved=sum(1 for u in after.unit_of.values() if u in moved),
    )



K = TypeVar("K", bound=Hashable)
P = TypeVar("P", bound=Hashable)


@dataclass(frozen=True, order=True)
class Gap:
    """A unit with people in it that the organisation leaves exposed: ``code`` is ``below_k`` (the answers of
    fewer than k people start there, so they are counted with the unit above), ``no_manager`` (nobody leads it
    or a unit above it, so no manager sees its results) or ``no_safety_rep`` (it is in nobody's safety area)."""

    unit: Hashable
    code: str
    people: int


def gaps(parents: Mapping[K, K | None], headcount: Mapping[K, int], manages: Mapping[P, Iterable[K]],
         safety: Mapping[P, Iterable[K]], k: int, counted: Mapping[K, int] | None = None) -> list[Gap]:
    """The gaps of every unit that has people directly in it (``headcount``: active people per unit).

    ``counted`` is how many answers start in each unit (managers' answers start above the units they lead, so
    a unit of one manager and no staff is not "below k"); without it, the headcount. Managers and safety
    representatives cover their units and everything below them (a safety area includes the units under it, as
    the results do)."""
    tree = OrgTree(parents)
    led = tree.subtree({u for units in manages.values() for u in units})
    guarded = tree.subtree({u for units in safety.values() for u in units})
    found: list[Gap] = []
    for unit, people in headcount.items():
        if people <= 0 or unit not in parents:
            continue
        answers = counted.get(unit, 0) if counted is not None else people
        if 0 < answers < k:
            found.append(Gap(unit, "below_k", answers))
        if unit not in led:
            found.append(Gap(unit, "no_manager", people))
        if unit not in guarded:
            found.append(Gap(unit, "no_safety_rep", people))
    return found
