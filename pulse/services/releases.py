"""Computing and freezing a release: aggregate a closed round over the unit tree, protect, audit, store.

Which cells show which figures, layer by layer (censored means, yes/no items, published precision), is decided
by pulse.domain.protection, which is pure; this module loads a closed round's answers, hands them over, and freezes what
comes back.

A correction is a new version of the round's release, never an edit. What earlier versions published stays known,
and their cells enter the new version's audit as the sets of people they held then, on the tree they were computed
on (docs/ANONYMITY.md, "Earlier versions and re-organisations"): after a re-organisation, version 1's "team A" and
version 2's "team A" are different groups. Why a version hides more than its own tree needs is kept in its audit
record and told to whoever asked for it (:func:`explain`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from pulse.domain.figures import cell_json, read_cell
from pulse.domain.protection import Earlier, EarlierUnsafeError, Item, Outcome, protect_round
from pulse.domain.stats import Tally
from pulse.domain.suppression import Cell, Counts, Kind, Protection, Tree, cell_counts
from pulse.models import (
    Comment,
    PooledRelease,
    Question,
    Release,
    ReleaseCell,
    Response,
    Round,
    RoundParticipation,
    RoundQuestion,
    Survey,
    Unit,
)
from pulse.services.org import load_tree


class ReleaseError(Exception):
    """No release was made: ``not_closed``, ``purged``, ``pooled``, or ``earlier_unsafe`` (the earlier versions already
    reveal something on their own; ``findings`` says what, as audit-record entries for :func:`explain`)."""

    def __init__(self, code: str, findings: Sequence[dict[str, object]] = ()) -> None:
        super().__init__(code)
        self.code = code
        self.findings = list(findings)


def release_tree(session: Session, round_id: int) -> Tree:
    """The units of a round's release: every unit answers count in, and the units above them up to the lowest
    one they share."""
    return units_tree(session, set(session.scalars(select(RoundParticipation.unit_id)
                                                   .where(RoundParticipation.round_id == round_id))))


def units_tree(session: Session, units: set[int]) -> Tree:
    """The tree of some counting units on today's organisation: they and the units above them up to the lowest one
    they share (a round's release tree, or a pooled period's over all its rounds' units)."""
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
class RoundData:
    tree: Tree
    questions: list[Question]
    direct_counts: dict[int, Counts]
    tallies: dict[int, list[Tally]]  # unit → one tally per question (answers counted directly there)


def load_round(session: Session, rnd: Round) -> RoundData:
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
    return RoundData(tree, questions, direct, tallies)


def earlier_versions(session: Session, round_id: int) -> list[Earlier]:
    """The round's earlier versions as they were published: each one's tree and, per layer, the cells it showed."""
    rows = session.execute(select(Release.version, ReleaseCell.unit_id, ReleaseCell.kind, ReleaseCell.parent_id,
                                  ReleaseCell.published, ReleaseCell.stats)
                           .join(Release, Release.id == ReleaseCell.release_id).where(Release.round_id == round_id))
    return shown_versions((v, u, k, p, s, j) for v, u, k, p, s, j in rows)


#: A stored cell as :func:`shown_versions` reads it: version, unit, kind, parent, published, stats.
CellRow = tuple[int, int, str, int | None, bool, str]


def shown_versions(rows: Iterable[CellRow]) -> list[Earlier]:
    """Stored cells of one or more release versions (a round's, or a pooled period's) read back as what each version
    showed: its tree and, per layer, the cells shown — as stored, not as shown today."""
    parents: dict[int, dict[int, int | None]] = defaultdict(dict)
    nodes: dict[int, set[Cell]] = defaultdict(set)
    exact: dict[int, dict[str, set[Cell]]] = defaultdict(lambda: defaultdict(set))
    dists: dict[int, dict[str, set[Cell]]] = defaultdict(lambda: defaultdict(set))
    for version, unit_id, kind, parent_id, published, stats_json in rows:
        cell = Cell(unit_id, Kind(kind))
        if cell.kind is Kind.TOTAL:
            parents[version][unit_id] = parent_id
        if not published:
            continue
        nodes[version].add(cell)
        # As stored, not as shown today: what an older release showed stays known (a bound is a hidden cell).
        for code, figures in read_cell(stats_json).items():
            if figures.shows_sum:
                exact[version][code].add(cell)
            if figures.shows_distribution:
                dists[version][code].add(cell)
    return [Earlier(version, tree, frozenset(nodes[version]),
                    {c: frozenset(v) for c, v in exact[version].items()},
                    {c: frozenset(v) for c, v in dists[version].items()}) for version, tree in sorted(parents.items())]


def compute_release(session: Session, rnd: Round, *, created_by: str, now: dt.datetime) -> Release:
    """Compute, audit and freeze a new release version of a closed round (flushes; the caller commits).

    A version after the first is protected together with every earlier one (module docstring); its audit record
    says why it hides more than its own tree needs (``earlier_versions.reasons``, for :func:`explain`).

    :raises ReleaseError: ``not_closed`` for a round that is still open, ``purged`` when its raw answers have
        been deleted after the retention time, ``pooled`` when a pooled release holds the round (a new version
        would not be audited with it: docs/ANONYMITY.md, "Pooled periods"), ``earlier_unsafe`` when the earlier
        versions already reveal something on their own (nothing new is stored; ``findings`` says what).
    """
    if rnd.status != "closed":
        raise ReleaseError("not_closed")
    if rnd.id in pooled_round_ids(session, rnd.survey_id):
        raise ReleaseError("pooled")
    if rnd.answers and not session.scalar(select(Response.id).where(Response.round_id == rnd.id).limit(1)):
        raise ReleaseError("purged")  # the raw answers are gone: the existing releases are all there is
    data = load_round(session, rnd)
    tree = data.tree
    k, k_dist = rnd.min_group_size, rnd.min_dist_size
    items = [Item(q.code, q.version, q.scale) for q in data.questions]
    version = (session.scalar(select(func.max(Release.version)).where(Release.round_id == rnd.id)) or 0) + 1
    earlier = earlier_versions(session, rnd.id) if version > 1 else []
    names = dict(session.execute(select(Unit.id, Unit.name)).all()) if earlier else {}
    try:
        outcome = protect_round(tree, data.direct_counts, data.tallies, items, k, k_dist, earlier, version=version,
                                unit_name=lambda u: names.get(u, str(u)))
    except EarlierUnsafeError as exc:
        raise ReleaseError("earlier_unsafe", [e.record() for e in exc.explanations]) from None
    all_cells = tree.cells()

    audit_record = {
        "passed": True,
        "thresholds": {"k": k, "k_dist": k_dist, "k_comments": rnd.min_comment_size},
        "cells": len(all_cells),
        "layers": layer_record(outcome),
        "earlier_versions_included": version - 1,
    }
    if earlier:
        audit_record["earlier_versions"] = {"versions": [e.version for e in earlier],
                                            "reasons": [e.record() for e in outcome.explanations]}
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
            "stats": cell_json(outcome.figures[cell] if shown else {}),
        })
    if rows:
        session.execute(insert(ReleaseCell), rows)
    if version == 1:
        place_comments(session, rnd, tree, data.direct_counts)
    session.flush()
    return release


def pooled_round_ids(session: Session, survey_id: int) -> set[int]:
    """The rounds of a survey that a pooled release holds (pulse.services.pooling)."""
    found: set[int] = set()
    for rounds_json in session.scalars(select(PooledRelease.rounds).where(PooledRelease.survey_id == survey_id)):
        found.update(int(entry[0]) for entry in json.loads(rounds_json))
    return found


def reasons(release: Release | PooledRelease) -> list[dict[str, object]]:
    """Why a release version hides more than its own tree needs, from its audit record (empty for a first
    version, and for releases made before versions were audited as sets of people)."""
    record = json.loads(release.audit).get("earlier_versions") or {}
    return list(record.get("reasons") or [])


# --- saying why, in words ---------------------------------------------------------------------------------------

#: A gettext: the message, formatted with the values (flask_babel.gettext on a page, :func:`english` in a command).
Translate = Callable[..., str]


def english(message: str, **values: object) -> str:
    """The untranslated message (commands speak English)."""
    return message % values if values else message


def explain(entries: Iterable[Mapping[str, object]], names: Mapping[int, str], _: Translate = english) -> list[str]:
    """Sentences from audit-record entries (``earlier_versions.reasons``, or a refusal's ``findings``): what the
    new version would reveal together with the earlier versions on today's tree alone, which cells it hides
    instead, or what the earlier versions already reveal — naming units and the published figures that would be
    combined, never a hidden figure."""

    def unit(value: object) -> str:
        return names.get(value, str(value)) if isinstance(value, int) else str(value)

    def cell(entry: object) -> str:
        if not isinstance(entry, dict):
            return ""
        if entry.get("kind") == Kind.REMAINDER.value:
            return _("%(unit)s, directly in the unit", unit=unit(entry.get("unit")))
        return unit(entry.get("unit"))

    def term(entry: object) -> str:
        if not isinstance(entry, dict):
            return ""
        if entry.get("round") is not None:  # a round's release, in the audit of a pooled one
            return _("%(cell)s in round %(r)s", cell=cell(entry), r=entry.get("round"))
        return _("%(cell)s in version %(v)s", cell=cell(entry), v=entry.get("version"))

    def formula(terms: object) -> str:
        parts = []
        listed = [(Fraction(str(t.get("coefficient", "1"))), t) for t in terms] if isinstance(terms, list) else []
        for index, (coefficient, entry) in enumerate(sorted(listed, key=lambda pair: pair[0] < 0)):
            sign = "−" if coefficient < 0 else ("" if index == 0 else "+")
            size = "" if abs(coefficient) == 1 else f"{abs(coefficient)} × "
            parts.append(f"{sign} {size}{term(entry)}".strip())
        return " ".join(parts)

    def layers(entry: Mapping[str, object]) -> str:
        named = []
        listed = entry.get("layers")
        for name in listed if isinstance(listed, list) else []:
            code, _colon, threshold = str(name).partition(":")
            named.append(_("number of respondents") if name == "respondents" else
                         _("%(code)s (distribution)", code=code) if threshold == "k_dist" else code)
        return ", ".join(named)

    result = []
    more: dict[str, list[str]] = {}  # layers → the cells hidden there that today's tree alone would show
    for entry in entries:
        role, kind = entry.get("role"), entry.get("kind")
        units = entry.get("units")
        values = {"units": ", ".join(unit(u) for u in (units if isinstance(units, list) else [])),
                  "formula": formula(entry.get("formula")), "layers": layers(entry),
                  "hidden": term(entry.get("cell")), "cell": cell(entry.get("hides"))}
        if role == "more":
            more.setdefault(values["layers"], []).append(values["cell"])
        elif role == "reveals":
            if kind == "small_group":
                result.append(_("On today's organisation alone, this version would, together with earlier versions, "
                                "let the figures of a group too small to be shown (%(units)s) be worked out as "
                                "%(formula)s. Figures: %(layers)s.", **values))
            elif kind == "derivable":
                result.append(_("On today's organisation alone, this version would, together with earlier versions, "
                                "let the hidden figures of %(hidden)s be worked out as %(formula)s. Figures: "
                                "%(layers)s.", **values))
            else:
                result.append(_("On today's organisation alone, this version would, together with earlier versions, "
                                "publish a combination too large to check exhaustively (%(units)s). Figures: "
                                "%(layers)s.", **values))
        elif role == "hides":
            if kind == "small_group":
                result.append(_("Hides %(cell)s: otherwise, together with earlier versions, the figures of a group "
                                "too small to be shown (%(units)s) could be worked out as %(formula)s. Figures: "
                                "%(layers)s.", **values))
            elif kind == "derivable":
                result.append(_("Hides %(cell)s: otherwise, together with earlier versions, the hidden figures of "
                                "%(hidden)s could be worked out as %(formula)s. Figures: %(layers)s.", **values))
            else:
                result.append(_("Hides %(cell)s: otherwise a combination with earlier versions too large to check "
                                "exhaustively (%(units)s) would be published. Figures: %(layers)s.", **values))
        elif role == "earlier":
            if kind == "small_group":
                result.append(_("The earlier versions already let the figures of a group too small to be shown "
                                "(%(units)s) be worked out as %(formula)s. Figures: %(layers)s.", **values))
            elif kind == "derivable":
                result.append(_("The earlier versions already let the hidden figures of %(hidden)s be worked out as "
                                "%(formula)s. Figures: %(layers)s.", **values))
            else:
                result.append(_("The earlier versions already publish a combination too large to check "
                                "exhaustively (%(units)s). Figures: %(layers)s.", **values))
    for shown_in, cells in more.items():
        result.append(_("So it hides %(cells)s, which today's organisation alone would show. Figures: %(layers)s.",
                        cells=", ".join(dict.fromkeys(cells)), layers=shown_in))
    return result


def layer_record(outcome: Outcome) -> dict[str, dict[str, object]]:
    """Per layer, for the release's audit record: how much was published, suppressed and censored, and why.

    The record outlives the raw answers, so it holds no hidden figure: not the respondents behind the complements
    (the least-loss summary: with a published parent they would give the cell they protect), and not which groups
    were hidden because their means would have been censored (that tells those answers were all near one end).
    """

    def record(layer: Protection, **extra: object) -> dict[str, object]:
        return {"published": len(layer.published), "suppressed": len(layer.suppressed),
                "complementary": sum(1 for r in layer.suppressed.values() if r.value == "complementary"),
                "findings": [f for f in layer.findings if not f.startswith("least loss:")][:50], **extra}

    layers = {"respondents": record(outcome.node_layer)}
    for item in outcome.items.values():
        for name, layer in item.layers.items():
            layers[name] = record(layer, censored=len(item.bounds)) if name.endswith(":k") else record(layer)
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


def _not_waiting_to_pool(session: Session, round_ids: list[int]) -> list[int]:
    """The rounds whose raw answers may go: not those of a survey that pools its rounds until a pooled release holds
    them (the pooled release is computed from them; docs/ANONYMITY.md, "Pooled periods")."""
    pooling = dict(session.execute(select(Round.id, Round.survey_id).join(Survey, Survey.id == Round.survey_id)
                                   .where(Round.id.in_(round_ids), Survey.pooling.is_not(None))).all())
    pooled: dict[int, set[int]] = {}
    for survey_id in set(pooling.values()):
        pooled[survey_id] = pooled_round_ids(session, survey_id)
    return [r for r in round_ids if r not in pooling or r in pooled[pooling[r]]]


def purge_raw_answers(session: Session, *, now: dt.datetime, retention_days: int) -> dict[str, int]:
    """Delete the raw answers of rounds whose first release is older than the retention time, and their comments
    that were never released (released and redacted ones are part of the protected output and stay). A round of a
    survey that pools its rounds keeps its raw answers until a pooled release holds it.

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
    rounds = _not_waiting_to_pool(session, rounds)
    if not rounds:
        return {"rounds": 0, "responses": 0, "comments": 0}
    responses = session.execute(delete(Response).where(Response.round_id.in_(rounds)))
    comments = session.execute(delete(Comment).where(Comment.round_id.in_(rounds),
                                                     Comment.status.in_(("pending", "withheld"))))
    session.flush()
    return {"rounds": len(rounds), "responses": getattr(responses, "rowcount", 0) or 0,
            "comments": getattr(comments, "rowcount", 0) or 0}
