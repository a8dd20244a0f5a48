"""The organisation tree as plain data: subtrees, ancestors, depth and cycle detection.

Pure: no Flask, no SQLAlchemy. Services load ``(id, parent_id)`` pairs and hand them over.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class CycleError(ValueError):
    """The parent links form a loop."""

    def __init__(self, cycle: list[object]) -> None:
        super().__init__(" → ".join(str(k) for k in cycle))
        self.cycle = cycle


@dataclass
class OrgTree(Generic[K]):
    """A forest given by parent links. Keys are unit ids (or CSV unit keys before an import)."""

    parents: Mapping[K, K | None]
    children: dict[K, list[K]] = field(init=False)

    def __post_init__(self) -> None:
        self.children = {key: [] for key in self.parents}
        for key, parent in self.parents.items():
            if parent is not None and parent in self.children:
                self.children[parent].append(key)

    @property
    def roots(self) -> list[K]:
        return [key for key, parent in self.parents.items() if parent is None or parent not in self.parents]

    def subtree(self, roots: Iterable[K]) -> set[K]:
        """The given nodes and everything below them."""
        seen: set[K] = set()
        stack = [root for root in roots if root in self.parents]
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            stack.extend(self.children.get(node, ()))
        return seen

    def ancestors(self, key: K) -> list[K]:
        """Parent, grandparent, … up to the root (cycle-safe)."""
        result: list[K] = []
        seen = {key}
        parent = self.parents.get(key)
        while parent is not None and parent not in seen:
            result.append(parent)
            seen.add(parent)
            parent = self.parents.get(parent)
        return result

    def depth(self, key: K) -> int:
        return len(self.ancestors(key))

    def walk(self, sort_key: Callable[[K], Any] | None = None) -> list[tuple[K, int]]:
        """Every node with its depth, parents before children (depth-first, iterative for deep trees)."""

        def ordered(nodes: list[K]) -> list[K]:
            return sorted(nodes, key=sort_key) if sort_key is not None else list(nodes)

        result: list[tuple[K, int]] = []
        stack = [(root, 0) for root in reversed(ordered(self.roots))]
        seen: set[K] = set()
        while stack:
            node, depth = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            result.append((node, depth))
            stack.extend((child, depth + 1) for child in reversed(ordered(self.children.get(node, []))))
        return result


def find_cycle(parents: Mapping[K, K | None]) -> list[K] | None:
    """Return one loop in the parent links (first node repeated at the end), or None."""
    state: dict[K, int] = {}  # 1 = on the current path, 2 = known to reach a root
    for start in parents:
        path: list[K] = []
        node: K | None = start
        while node is not None and node in parents and state.get(node) != 2:
            if state.get(node) == 1:
                return path[path.index(node):] + [node]
            state[node] = 1
            path.append(node)
            node = parents[node]
        for visited in path:
            state[visited] = 2
    return None


P = TypeVar("P", bound=Hashable)


@dataclass(frozen=True)
class Grouping(Generic[K, P]):
    """Where each person's answer counts after small groups were moved up the tree."""

    #: person → the unit their answer counts in.
    where: dict[P, K]
    #: unit people started in → the unit they count in instead (None: nowhere held enough people).
    moved: dict[K, K | None]
    #: People who cannot be counted anywhere with at least k others, and so are not invited.
    excluded: frozenset[P]


def group_at_least(tree: OrgTree[K], where: Mapping[P, K | None], k: int) -> Grouping[K, P]:
    """Move the people of every unit where fewer than ``k`` would count up to its parent, deepest first, until
    every unit that holds anyone holds at least ``k`` — so no stored answer ever names a group smaller than
    ``k`` (docs/ANONYMITY.md, "Counting units"). People with no unit (``None``), and people whose group is still
    too small at the top of the tree, are excluded.
    """
    members: dict[K, list[P]] = {}
    excluded: set[P] = set()
    for person, unit in where.items():
        if unit is None or unit not in tree.parents:
            excluded.add(person)
        else:
            members.setdefault(unit, []).append(person)
    started = set(members)
    depth = {unit: tree.depth(unit) for unit in members}
    queue = [(-depth[unit], unit) for unit in members]
    heapq.heapify(queue)
    moved_to: dict[K, K | None] = {}
    while queue:
        _, unit = heapq.heappop(queue)
        people = members.get(unit)
        if not people or len(people) >= k:
            continue
        del members[unit]
        parent = tree.parents.get(unit)
        if parent is None or parent not in tree.parents:
            moved_to[unit] = None
            excluded.update(people)
            continue
        moved_to[unit] = parent
        if parent not in members:
            members[parent] = []
            depth[parent] = depth[unit] - 1
            heapq.heappush(queue, (-depth[parent], parent))
        members[parent].extend(people)

    def final(unit: K) -> K | None:
        target: K | None = unit
        while target is not None and target in moved_to:
            target = moved_to[target]
        return target

    result = {person: unit for unit, people in members.items() for person in people}
    # Report only units people started in (a unit that merely passed people on upwards is no news).
    return Grouping(result, {unit: final(unit) for unit in moved_to if unit in started}, frozenset(excluded))
