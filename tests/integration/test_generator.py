"""The deterministic generator behind `pulse demo --size` (benchmarks)."""

from __future__ import annotations

import json
from collections import Counter

from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pulse.models import (
    Comment,
    CountingMerge,
    Management,
    Person,
    Response,
    Round,
    RoundKey,
    RoundParticipation,
    SafetyAreaUnit,
    Unit,
)
from pulse.services.org import load_tree


def test_small_preset_has_the_reference_shape(runner: FlaskCliRunner, session: Session) -> None:
    result = runner.invoke(args=["demo", "--size", "small"])
    assert result.exit_code == 0, result.output
    tree = load_tree(session)
    depths = Counter(tree.depth(uid) for uid in tree.parents)
    assert sorted(depths) == [0, 1, 2, 3, 4]  # municipality → administration → department → unit → group
    people = session.scalar(select(func.count()).select_from(Person)) or 0
    assert 250 <= people <= 350
    sizes = Counter(session.scalars(select(Person.unit_id)))
    groups = [uid for uid, depth in ((u, tree.depth(u)) for u in tree.parents) if depth == 4]
    assert min(sizes[g] for g in groups) >= 3 and max(sizes[g] for g in groups) <= 25
    assert session.scalar(select(func.count()).select_from(Management)) == len(tree.parents)
    assert session.scalar(select(func.count()).select_from(SafetyAreaUnit)) >= 2
    rounds = list(session.scalars(select(Round).order_by(Round.number)))
    assert len(rounds) == 12 and all(r.status == "closed" for r in rounds)
    assert session.scalar(select(func.count()).select_from(RoundKey)) == 0
    for rnd in rounds:
        # As a real round counts them: no unit holds answers of fewer than k invited people.
        assert min(session.scalars(select(RoundParticipation.invited).where(
            RoundParticipation.round_id == rnd.id))) >= rnd.min_group_size
        # Groups whose people count in a unit above are recorded as a real open records them (the results pages
        # of such a group say where it counts), each pointing up the tree.
        counted = set(session.scalars(select(RoundParticipation.unit_id).where(RoundParticipation.round_id == rnd.id)))
        merged = dict(session.execute(select(CountingMerge.unit_id, CountingMerge.counted_in_id).where(
            CountingMerge.round_id == rnd.id)).all())
        assert {g for g in groups if g not in counted} <= set(merged)
        for unit, target in merged.items():
            above, parent = [], tree.parents[unit]
            while parent is not None:
                above.append(parent)
                parent = tree.parents[parent]
            assert target is None or target in above
        stored = session.scalar(select(func.count()).select_from(Response).where(Response.round_id == rnd.id))
        assert stored == rnd.answers == session.scalar(select(func.sum(RoundParticipation.answered)).where(
            RoundParticipation.round_id == rnd.id))
    values = json.loads(session.scalars(select(Response.values)).first() or "[]")
    assert len(values) == 8
    assert session.scalar(select(func.count()).select_from(Comment)) > 0
    assert "pulse-demo-2026" in result.output


def test_generation_is_deterministic(runner: FlaskCliRunner, session: Session) -> None:
    runner.invoke(args=["demo", "--size", "small"])
    first = [u.name for u in session.scalars(select(Unit).order_by(Unit.id))]
    assert first[:3] == ["Storstad kommun", "Förvaltning 1", "Avdelning 1.1"]
    result = runner.invoke(args=["demo", "--size", "small"])
    assert result.exit_code == 1 and "already has people" in result.output
    assert runner.invoke(args=["demo", "--size", "small", "--if-empty"]).exit_code == 0
    assert runner.invoke(args=["demo", "--size", "huge"]).exit_code == 2
