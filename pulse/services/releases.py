"""Computing and freezing a release: aggregate a closed round over the unit tree, protect, audit, store.

Which cells show which figures, layer by layer (censored means, yes/no items, published precision), is decided
by pulse.domain.protection, which is pure; this module loads a closed round's answers, hands them over, and freezes what
comes back.

Cells published by an earlier release of the same round stay known when a new version is computed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from pulse.domain.protection import Earlier, Item, Outcome, protect_round
from pulse.domain.stats import Tally
from pulse.domain.suppression import Cell, Counts, Kind, Protection, Tree, cell_counts
from pulse.models import Comment, Question, Release, ReleaseCell, Response, Round, RoundParticipation, RoundQuestion
from pulse.services.org import load_tree


class ReleaseError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def release_tree(session: Session, round_id: int) -> Tree:
    """The units of a round's release: every unit answers count in, and the units above them up to the lowest
    one they share."""
    units = set(session.scalars(select(RoundParticipation.unit_id).where(RoundParticipation.round_id == round_id)))
    org = load_tree(session)
    if not units:
        return Tree({})
    chains = {u: [u, *org.ancestors(u)] for u in units}
    common = set.intersection(*(set(chain) for chain in chains.values()))
    # The lowest shared unit: the first on any chain that all chains contain.
    top = next((u for u in next(iter(chains.values())) if u in common), None)
    parents: dict[int, int | None] = {}
    for chain in chains.values():
        for unit in chain:
            if unit == top:
                break
            parents[unit] = org.parents.get(unit)
    if top is not None:
        parents[top] = None
    else:  # several separate trees: give them no common parent
        for chain in chains.values():
            parents.setdefault(chain[-1], None)
    return Tree(parents)


@dataclass
class _Round:
    tree: Tree
    questions: list[Question]
    direct_counts: dict[int, Counts]
    tallies: dict[int, list[Tally]]  # unit → one tally per question (answers counted directly there)


def _load(session: Session, rnd: Round) -> _Round:
    tree = release_tree(session, rnd.id)
    questions = list(session.scalars(select(Question).join(RoundQuestion, RoundQuestion.question_id == Question.id)
                                     .where(RoundQuestion.round_id == rnd.id).order_by(RoundQuestion.position)))
    invited = dict(session.execute(select(RoundParticipation.unit_id, RoundParticipation.invited)
                                   .where(RoundParticipation.round_id == rnd.id)).all())
    respondents: dict[int, int] = defaultdict(int)
    tallies: dict[int, list[Tally]] = {}
    for unit_id, values_json in session.execute(select(Response.unit_id, Response.values)
                                                .where(Response.round_id == rnd.id)):
        respondents[unit_id] += 1
        unit_tallies = tallies.get(unit_id)
        if unit_tallies is None:
            unit_tallies = tallies[unit_id] = [Tally() for _ in questions]
        for tally, value in zip(unit_tallies, json.loads(values_json), strict=False):
            tally.add(value)
    direct = {u: Counts(respondents.get(u, 0), invited.get(u, 0)) for u in tree.parents}
    return _Round(tree, questions, direct, tallies)


def _earlier(session: Session, round_id: int) -> Earlier:
    """What earlier releases of the round published, per layer (it stays known)."""
    nodes: set[Cell] = set()
    exact: dict[str, set[Cell]] = defaultdict(set)
    dists: dict[str, set[Cell]] = defaultdict(set)
    rows = session.execute(select(ReleaseCell.unit_id, ReleaseCell.kind, ReleaseCell.published, ReleaseCell.stats)
                           .join(Release, Release.id == ReleaseCell.release_id).where(Release.round_id == round_id))
    for unit_id, kind, published, stats_json in rows:
        cell = Cell(unit_id, Kind(kind))
        if published:
            nodes.add(cell)
        for code, figures in json.loads(stats_json).items():
            if figures.get("n") is not None:
                exact[code].add(cell)
            if figures.get("dist") is not None:
                dists[code].add(cell)
    return Earlier(frozenset(nodes), {c: frozenset(v) for c, v in exact.items()},
                   {c: frozenset(v) for c, v in dists.items()})


def compute_release(session: Session, rnd: Round, *, created_by: str, now: dt.datetime) -> Release:
    """Compute, audit and freeze a new release version of a closed round (flushes; the caller commits).

    :raises ReleaseError: ``not_closed`` for a round that is still open, ``purged`` when its raw answers have
        been deleted after the retention time.
    """
    if rnd.status != "closed":
        raise ReleaseError("not_closed")
    if rnd.answers and not session.scalar(select(Response.id).where(Response.round_id == rnd.id).limit(1)):
        raise ReleaseError("purged")  # the raw answers are gone: the existing releases are all there is
    data = _load(session, rnd)
    tree = data.tree
    k, k_dist = rnd.min_group_size, rnd.min_dist_size
    items = [Item(q.code, q.version, q.scale) for q in data.questions]
    outcome = protect_round(tree, data.direct_counts, data.tallies, items, k, k_dist, _earlier(session, rnd.id))
    all_cells = tree.cells()

    version = (session.scalar(select(func.max(Release.version)).where(Release.round_id == rnd.id)) or 0) + 1
    audit_record = {
        "passed": True,
        "thresholds": {"k": k, "k_dist": k_dist, "k_comments": rnd.min_comment_size},
        "cells": len(all_cells),
        "layers": _layer_record(outcome),
        "earlier_versions_included": version - 1,
    }
    release = Release(round_id=rnd.id, version=version, created_at=now, created_by=created_by, min_group_size=k,
                      min_dist_size=k_dist, min_comment_size=rnd.min_comment_size,
                      audit=json.dumps(audit_record, separators=(",", ":")))
    session.add(release)
    session.flush()
    node_counts = cell_counts(tree, data.direct_counts)
    rows = []
    for cell in all_cells:
        shown = cell in outcome.nodes
        counts = node_counts[cell]
        rows.append({
            "release_id": release.id, "unit_id": cell.unit, "kind": cell.kind.value,
            "parent_id": tree.parents.get(cell.unit) if cell.kind is Kind.TOTAL else cell.unit,
            "published": shown, "respondents": counts.respondents if shown else None,
            "invited": counts.invited if shown and counts.invited >= k else None,
            "stats": json.dumps(outcome.figures[cell] if shown else {}, separators=(",", ":")),
        })
    if rows:
        session.execute(insert(ReleaseCell), rows)
    if version == 1:
        place_comments(session, rnd, tree, data.direct_counts)
    session.flush()
    return release


def _layer_record(outcome: Outcome) -> dict[str, dict[str, object]]:
    """Per layer, for the release's audit record: how much was published, suppressed and censored, and why."""

    def record(layer: Protection, **extra: object) -> dict[str, object]:
        return {"published": len(layer.published), "suppressed": len(layer.suppressed),
                "complementary": sum(1 for r in layer.suppressed.values() if r.value == "complementary"),
                "findings": layer.findings[:50], **extra}

    layers = {"respondents": record(outcome.node_layer)}
    for item in outcome.items.values():
        for name, layer in item.layers.items():
            extra: dict[str, object] = {}
            if name.endswith(":k"):
                extra = {"censored": len(item.bounds), "censoring_findings": item.findings[:50]}
            layers[name] = record(layer, **extra)
    return layers


def place_comments(session: Session, rnd: Round, tree: Tree, direct: dict[int, Counts]) -> None:
    """Give every comment of the round one home unit, so that each unit's comments come from at least
    ``k_comments`` respondents and comparing two units' comments can never isolate a smaller group.

    Bottom-up, each unit gathers the respondents (and comments) not yet placed below it; once they reach
    ``k_comments`` they are placed there. What never reaches the threshold is never shown.
    """
    comments: dict[int, list[str]] = defaultdict(list)
    for comment_id, unit_id in session.execute(select(Comment.id, Comment.unit_id).where(Comment.round_id == rnd.id)):
        comments[unit_id].append(comment_id)
    pending_people: dict[int, int] = {}
    pending_comments: dict[int, list[str]] = {}
    homes: dict[str, int | None] = {}
    for unit in tree.bottom_up:
        people = direct.get(unit, Counts(0, 0)).respondents
        waiting = list(comments.get(unit, []))
        for child in tree.children[unit]:
            people += pending_people.pop(child)
            waiting += pending_comments.pop(child)
        if people >= rnd.min_comment_size:
            homes.update({c: unit for c in waiting})
            people, waiting = 0, []
        pending_people[unit], pending_comments[unit] = people, waiting
    for waiting in pending_comments.values():
        homes.update({c: None for c in waiting})
    if homes:
        session.execute(update(Comment), [{"id": c, "home_unit_id": home} for c, home in homes.items()])


def purge_raw_answers(session: Session, *, now: dt.datetime, retention_days: int) -> dict[str, int]:
    """Delete the raw answers of rounds whose first release is older than the retention time, and their comments
    that were never released (released and redacted ones are part of the protected output and stay).

    The frozen releases remain; they are what can be exported or requested afterwards.
    """
    from sqlalchemy import delete

    cutoff = now - dt.timedelta(days=retention_days)
    first = (select(Release.round_id).group_by(Release.round_id)
             .having(func.min(Release.created_at) <= cutoff))
    rounds = list(session.scalars(select(Round.id).where(Round.id.in_(first))
                                  .where(Round.id.in_(select(Response.round_id).distinct())
                                         | Round.id.in_(select(Comment.round_id).where(
                                             Comment.status.in_(("pending", "withheld"))).distinct()))))
    if not rounds:
        return {"rounds": 0, "responses": 0, "comments": 0}
    responses = session.execute(delete(Response).where(Response.round_id.in_(rounds)))
    comments = session.execute(delete(Comment).where(Comment.round_id.in_(rounds),
                                                     Comment.status.in_(("pending", "withheld"))))
    session.flush()
    return {"rounds": len(rounds), "responses": getattr(responses, "rowcount", 0) or 0,
            "comments": getattr(comments, "rowcount", 0) or 0}
