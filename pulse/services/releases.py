"""Computing and freezing a release: aggregate a closed round over the unit tree, protect, audit, store.

Layers, each protected and audited on its own (pulse.suppression), each at most what the one before shows:

1. respondents per cell, threshold ``k``;
2. per question, the answered count and mean (``k``; near the scale ends a mean shown only as a bound below
   ``k_dist``), hidden wherever layer 1 is hidden;
3. per question, the distribution, standard deviation, eNPS and shares per option (``k_dist``), hidden wherever
   layer 2 is hidden.

Cells published by an earlier release of the same round stay known when a new version is computed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from pulse.models import Comment, Question, Release, ReleaseCell, Response, Round, RoundParticipation, RoundQuestion
from pulse.scales import SCALES
from pulse.services.org import load_tree
from pulse.stats import Tally, censor, distribution, enps, merged, share
from pulse.suppression import Cell, Counts, Kind, Protection, Tree, audit, cell_counts, protect


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


def _question_counts(data: _Round, index: int) -> dict[Cell, Counts]:
    direct = {}
    for unit, counts in data.direct_counts.items():
        tallies = data.tallies.get(unit)
        answered = tallies[index].answered if tallies else 0
        direct[unit] = Counts(answered, counts.invited)
    return cell_counts(data.tree, direct)


def _cell_tallies(data: _Round) -> dict[Cell, list[Tally]]:
    """Per cell and question, the tallies (totals add their subtree up)."""
    empty = [Tally() for _ in data.questions]
    totals: dict[int, list[Tally]] = {}
    for unit in data.tree.bottom_up:
        own = data.tallies.get(unit, empty)
        totals[unit] = [merged([own[i], *(totals[c][i] for c in data.tree.children[unit])])
                        for i in range(len(data.questions))]
    result = {Cell(u, Kind.TOTAL): t for u, t in totals.items()}
    for unit in data.tree.parents:
        if data.tree.children[unit]:
            result[Cell(unit, Kind.REMAINDER)] = data.tallies.get(unit, empty)
    return result


def _earlier(session: Session, round_id: int) -> tuple[set[Cell], dict[str, set[Cell]], dict[str, set[Cell]]]:
    """What earlier releases of the round published, per layer (it stays known)."""
    nodes: set[Cell] = set()
    items: dict[str, set[Cell]] = defaultdict(set)
    dists: dict[str, set[Cell]] = defaultdict(set)
    rows = session.execute(select(ReleaseCell.unit_id, ReleaseCell.kind, ReleaseCell.published, ReleaseCell.stats)
                           .join(Release, Release.id == ReleaseCell.release_id).where(Release.round_id == round_id))
    for unit_id, kind, published, stats_json in rows:
        cell = Cell(unit_id, Kind(kind))
        if published:
            nodes.add(cell)
        for code, figures in json.loads(stats_json).items():
            if figures.get("n") is not None:
                items[code].add(cell)
            if figures.get("dist") is not None:
                dists[code].add(cell)
    return nodes, items, dists


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
    known_nodes, known_items, known_dists = _earlier(session, rnd.id)
    node_counts = cell_counts(tree, data.direct_counts)
    node_layer = protect(tree, node_counts, k, known_before=known_nodes)
    node_published = node_layer.published | known_nodes
    layers: dict[str, Protection] = {"respondents": node_layer}
    item_published: dict[str, set[Cell]] = {}
    dist_published: dict[str, set[Cell]] = {}
    all_cells = tree.cells()
    for index, question in enumerate(data.questions):
        question_counts = _question_counts(data, index)
        item = protect(tree, question_counts, k, forced=[c for c in all_cells if c not in node_published],
                       known_before=known_items.get(question.code, set()))
        item_published[question.code] = item.published | known_items.get(question.code, set())
        hidden_at_k = [c for c in all_cells if c not in item_published[question.code]]
        dist = protect(tree, question_counts, k_dist, forced=hidden_at_k,
                       known_before=known_dists.get(question.code, set()))
        dist_published[question.code] = dist.published | known_dists.get(question.code, set())
        layers[f"{question.code}:k"] = item
        layers[f"{question.code}:k_dist"] = dist
        for name, published, threshold in ((f"{question.code}:k", item_published[question.code], k),
                                           (f"{question.code}:k_dist", dist_published[question.code], k_dist)):
            if audit(tree, published, question_counts, threshold):
                raise AssertionError(f"audit failed after protection in layer {name}")  # never publishes
    if audit(tree, node_published, node_counts, k):
        raise AssertionError("audit failed after protection in the respondents layer")

    version = (session.scalar(select(func.max(Release.version)).where(Release.round_id == rnd.id)) or 0) + 1
    audit_record = {
        "passed": True,
        "thresholds": {"k": k, "k_dist": k_dist, "k_comments": rnd.min_comment_size},
        "cells": len(all_cells),
        "layers": {name: {"published": len(p.published), "suppressed": len(p.suppressed),
                          "complementary": sum(1 for r in p.suppressed.values() if r.value == "complementary"),
                          "findings": p.findings[:50]} for name, p in layers.items()},
        "earlier_versions_included": version - 1,
    }
    release = Release(round_id=rnd.id, version=version, created_at=now, created_by=created_by, min_group_size=k,
                      min_dist_size=k_dist, min_comment_size=rnd.min_comment_size,
                      audit=json.dumps(audit_record, separators=(",", ":")))
    session.add(release)
    session.flush()
    tallies = _cell_tallies(data)
    rows = []
    for cell in all_cells:
        shown = cell in node_published
        counts = node_counts[cell]
        stats: dict[str, dict[str, object]] = {}
        if shown:
            for index, question in enumerate(data.questions):
                figures = _figures(question, tallies[cell][index], cell in item_published[question.code],
                                   cell in dist_published[question.code], counts.respondents)
                if figures:
                    stats[question.code] = figures
        rows.append({
            "release_id": release.id, "unit_id": cell.unit, "kind": cell.kind.value,
            "parent_id": tree.parents.get(cell.unit) if cell.kind is Kind.TOTAL else cell.unit,
            "published": shown, "respondents": counts.respondents if shown else None,
            "invited": counts.invited if shown and counts.invited >= k else None,
            "stats": json.dumps(stats, separators=(",", ":")),
        })
    if rows:
        session.execute(insert(ReleaseCell), rows)
    if version == 1:
        place_comments(session, rnd, tree, data.direct_counts)
    session.flush()
    return release


def _figures(question: Question, tally: Tally, at_k: bool, at_k_dist: bool, respondents: int
             ) -> dict[str, object]:
    """The published figures of one question in one cell (nothing when hidden)."""
    if not at_k or question.scale not in SCALES:
        return {}
    scale = SCALES[question.scale]
    figures: dict[str, object] = {"v": question.version, "n": tally.answered}
    if question.scale == "yesno":
        yes = sum(tally.options.get(v, 0) for v in scale.flag_values)
        # Any "yes" where the item is releasable raises a flag for risk assessment; the share needs k_dist.
        figures["flag"] = yes > 0
        if at_k_dist:
            figures["yes"] = share(yes, tally.answered)
            figures["dist"] = distribution(tally, scale)
            figures["skip"] = share(tally.skipped, respondents)
        return figures
    mean = tally.mean
    if mean is not None:
        bound = None if at_k_dist else censor(mean, scale)
        if bound is None:
            figures["mean"] = mean
        else:
            figures["censor"] = bound
    if at_k_dist:
        figures["sd"] = tally.sd
        figures["dist"] = distribution(tally, scale)
        figures["skip"] = share(tally.skipped, respondents)
        if question.scale == "enps":
            figures["enps"] = enps(tally)
    return figures


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
