"""What a move changes (pulse/domain/moves.py): who gains or loses sight, where answers count, the gaps."""

from __future__ import annotations

from pulse.domain.moves import CountingChange, Gap, OrgState, gaps, person_move, unit_move

# root(1) → dept(2) → team a(3), team b(4); other(5) under root.
PARENTS = {1: None, 2: 1, 3: 2, 4: 2, 5: 1}
MANAGER, SAFETY, OTHER_BOSS = 100, 101, 102


def state(parents: dict[int, int | None] = PARENTS, **moved: int | None) -> OrgState:
    unit_of: dict[int, int | None] = {i: 3 for i in range(3)} | {i: 4 for i in range(3, 6)}
    unit_of |= {MANAGER: 2, SAFETY: 4, OTHER_BOSS: 5}
    for person, unit in moved.items():
        unit_of[int(person.lstrip("p"))] = unit
    return OrgState(parents, unit_of, {MANAGER: frozenset({2}), OTHER_BOSS: frozenset({5})},
                    {SAFETY: frozenset({2})})


def test_moving_a_person_names_who_gains_and_loses_sight_and_where_answers_count() -> None:
    before, after = state(), state(p0=5)
    effects = person_move(before, after, 0, k=3)
    assert (effects.managers_lost, effects.managers_gained) == ({MANAGER}, {OTHER_BOSS})
    assert (effects.safety_lost, effects.safety_gained) == ({SAFETY}, frozenset())
    # Team A keeps two people, fewer than 3: they move up to the department (alone there too) and on to the root;
    # the mover, alone in Other, counts at the root as well. The root then holds five, so the two managers (whose
    # answers start at the root and were too few to count) can now be counted.
    assert effects.counting == (CountingChange(3, 1, 3), CountingChange(None, 1, 2))
    assert effects.changes_anything


def test_a_move_that_changes_nothing_says_so() -> None:
    effects = person_move(state(), state(), 0, k=3)
    assert not effects.changes_anything and effects.counting == ()


def test_moving_a_unit_carries_its_people_and_subtree() -> None:
    before = state()
    after = state({**PARENTS, 4: 5})  # team b under other
    effects = unit_move(before, after, 4, k=3)
    assert effects.units_moved == {4} and effects.people_moved == 4
    assert effects.managers_gained == {OTHER_BOSS} and effects.managers_lost == {MANAGER}
    assert effects.safety_lost == {SAFETY}


def test_gaps_count_where_answers_start_and_who_covers_a_unit() -> None:
    found = gaps(PARENTS, {2: 1, 3: 3, 5: 4}, {"m": [3]}, {"s": [5]}, k=3, counted={3: 3, 5: 4})
    # The department holds only its manager, whose answer starts above: not "below k", but nobody leads it.
    assert Gap(2, "below_k", 1) not in found
    assert set(found) == {Gap(2, "no_manager", 1), Gap(2, "no_safety_rep", 1), Gap(3, "no_safety_rep", 3),
                          Gap(5, "no_manager", 4)}
    assert Gap(3, "below_k", 2) in gaps(PARENTS, {3: 2}, {"m": [3]}, {"s": [3]}, k=3)
