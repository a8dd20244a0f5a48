"""Pooled periods: a survey's rounds grouped into fixed, non-overlapping periods, and each complete period's answers
released together, audited jointly with the rounds' own releases (docs/ANONYMITY.md, "Pooled periods").

Which period a round belongs to is pulse.domain.pooling's; the protection and the joint audit are
pulse.domain.protection's (``protect_round`` with ``Parts``: the people as atoms ``(round, unit)``, every version of
every round's release and the period's earlier pooled versions as earlier versions). This module loads, freezes
and lists. The scheduler pools every complete period on its own (pulse.scheduler); ``pulse release pool`` does it
at once.

A period the joint audit refuses (``earlier_unsafe``: it needs a person's review) or can never pool (``purged``) is
remembered with what it was computed from (:class:`~pulse.models.PoolRefusal`): the scheduler reports it once and
tries it again only when that changes — a new version of one of its rounds' releases, or the survey's pooling.
``pulse release pool`` tries again whenever asked.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from pulse.domain.figures import cell_json
from pulse.domain.pooling import Period, RoundState, complete, period_of, validate
from pulse.domain.protection import Earlier, EarlierUnsafeError, Item, Parts, protect_round
from pulse.domain.stats import Tally
from pulse.domain.suppression import Counts, Kind, cell_counts
from pulse.models import PooledRelease, PooledReleaseCell, PoolRefusal, Question, Release, Round, Survey, Unit
from pulse.services.releases import (
    RoundData,
    earlier_versions,
    layer_record,
    load_round,
    shown_versions,
    units_tree,
)


class PoolingError(Exception):
    """No pooled release was made, or the pooling cannot change: ``incomplete`` (a round of the period may still
    come, is open, or has no release), ``purged`` (a round's raw answers were deleted), ``earlier_unsafe`` (what is
    published already reveals something on its own: ``findings``), ``locked`` (the survey's pooling cannot change
    once a pooled release exists: periods would overlap), ``invalid`` (not a pooling)."""

    def __init__(self, code: str, findings: Sequence[dict[str, object]] = ()) -> None:
        super().__init__(code)
        self.code = code
        self.findings = list(findings)


def set_pooling(session: Session, survey: Survey, kind: str | None, size: int | None) -> bool:
    """Choose how a survey's rounds are pooled; True when it changed.

    :raises PoolingError: ``invalid`` for a pooling that does not exist, ``locked`` when a pooled release exists
        and the pooling would change (new periods would overlap the released ones: a pooled figure minus an
        overlapping one is the difference of a few rounds).
    """
    try:
        kind, size = validate(kind, size)
    except ValueError:
        raise PoolingError("invalid") from None
    if (kind, size) == (survey.pooling, survey.pool_rounds):
        return False
    if session.scalar(select(PooledRelease.id).where(PooledRelease.survey_id == survey.id).limit(1)) is not None:
        raise PoolingError("locked")
    survey.pooling, survey.pool_rounds = kind, size
    # The refusals were of the old periods: the new ones are tried afresh.
    session.execute(delete(PoolRefusal).where(PoolRefusal.survey_id == survey.id))
    return True


def periods(session: Session, survey: Survey) -> dict[Period, list[Round]]:
    """The survey's rounds grouped by period (every round in exactly one), in round order; empty without pooling."""
    if not survey.pooling:
        return {}
    grouped: dict[Period, list[Round]] = {}
    for rnd in session.scalars(select(Round).where(Round.survey_id == survey.id).order_by(Round.number)):
        period = period_of(survey.pooling, survey.pool_rounds, number=rnd.number, opened_at=rnd.opened_at)
        grouped.setdefault(period, []).append(rnd)
    return grouped


@dataclass(frozen=True)
class PeriodState:
    """One period of a survey: its rounds, whether it can be pooled, and its latest pooled release."""

    period: Period
    rounds: list[Round]
    complete: bool
    release: PooledRelease | None


def period_states(session: Session, survey: Survey, *, now: dt.datetime) -> list[PeriodState]:
    """Every period of a survey, oldest first."""
    grouped = periods(session, survey)
    if not grouped:
        return []
    released = set(session.scalars(select(Release.round_id).join(Round, Round.id == Release.round_id)
                                   .where(Round.survey_id == survey.id)))
    latest: dict[str, PooledRelease] = {}
    for pooled in session.scalars(select(PooledRelease).where(PooledRelease.survey_id == survey.id)
                                  .order_by(PooledRelease.version)):
        latest[pooled.period] = pooled
    result = []
    for period, rounds in sorted(grouped.items()):
        states = [RoundState(r.number, r.status == "closed", r.id in released) for r in rounds]
        result.append(PeriodState(period, rounds, complete(period, states, now), latest.get(period.key)))
    return result


def pool_due(session: Session, survey: Survey, *, now: dt.datetime, created_by: str = "system",
             refused: list[tuple[Period, PoolingError]] | None = None, retry: bool = False) -> list[PooledRelease]:
    """Freeze the first pooled release of every complete period that has none (flushes; the caller commits).

    A period whose pooling is refused is skipped, the others still pool, and the refusal is remembered
    (:func:`record_refusal`): ``purged`` quietly (rounds whose raw answers went before the survey pooled can never be
    pooled), ``earlier_unsafe`` into ``refused`` (it needs a person's review; the scheduler reports it). A period
    refused before is not tried again — nor reported — until its inputs change (:func:`inputs_of`), unless
    ``retry`` (a person asking)."""
    made = []
    standing = refusals(session, survey)
    for state in period_states(session, survey, now=now):
        if not state.complete or state.release is not None:
            continue
        if not retry and _refused_alike(session, survey, state, standing.get(state.period.key)):
            continue  # reported when it was refused; trying again now would be refused again
        try:
            made.append(compute_pooled(session, survey, state.period, created_by=created_by, now=now))
        except PoolingError as exc:
            record_refusal(session, survey, state.period, exc, now=now)
            if exc.code != "purged" and refused is not None:
                refused.append((state.period, exc))
    return made


def _refused_alike(session: Session, survey: Survey, state: PeriodState, known: PoolRefusal | None) -> bool:
    """Was this period refused from the inputs it has now (so trying again would be refused again)?"""
    return known is not None and known.inputs == inputs_of(session, survey, state.rounds)


def inputs_of(session: Session, survey: Survey, rounds: Sequence[Round]) -> str:
    """What a period's pooled release is computed from, as stored with a refusal: the survey's pooling and every
    version of each of the period's rounds' releases (a correction of a round is a new version)."""
    versions: dict[int, list[int]] = {rnd.id: [] for rnd in rounds}
    for round_id, version in session.execute(select(Release.round_id, Release.version)
                                             .where(Release.round_id.in_(list(versions)))
                                             .order_by(Release.round_id, Release.version)):
        versions[round_id].append(version)
    return json.dumps({"pooling": [survey.pooling, survey.pool_rounds],
                       "rounds": [[round_id, found] for round_id, found in sorted(versions.items())]},
                      separators=(",", ":"))


def refusals(session: Session, survey: Survey) -> dict[str, PoolRefusal]:
    """The survey's standing refusals by period key (for the scheduler, and the survey's admin page)."""
    return {r.period: r for r in session.scalars(select(PoolRefusal).where(PoolRefusal.survey_id == survey.id)
                                                 .order_by(PoolRefusal.period))}


def record_refusal(session: Session, survey: Survey, period: Period, exc: PoolingError, *, now: dt.datetime
                   ) -> PoolRefusal | None:
    """Remember that a period was refused, why and from what (replacing an earlier refusal; flushes). Nothing is
    remembered for ``incomplete``, ``invalid`` or ``locked`` (states of the survey, not of the period), nor for a
    period already pooled: it keeps its release, and the command that asked for a new version says why not."""
    if exc.code not in ("earlier_unsafe", "purged"):
        return None
    if session.scalar(select(PooledRelease.id).where(PooledRelease.survey_id == survey.id,
                                                     PooledRelease.period == period.key).limit(1)) is not None:
        return None
    inputs = inputs_of(session, survey, periods(session, survey).get(period, []))
    findings = json.dumps(exc.findings, separators=(",", ":"))
    refusal = session.scalar(select(PoolRefusal).where(PoolRefusal.survey_id == survey.id,
                                                       PoolRefusal.period == period.key))
    if refusal is None:
        refusal = PoolRefusal(survey_id=survey.id, period=period.key, code=exc.code, findings=findings,
                              inputs=inputs, refused_at=now)
        session.add(refusal)
    else:
        refusal.code, refusal.findings, refusal.inputs, refusal.refused_at = exc.code, findings, inputs, now
    session.flush()
    return refusal


def compute_pooled(session: Session, survey: Survey, period: Period, *, created_by: str, now: dt.datetime
                   ) -> PooledRelease:
    """Compute, audit jointly with the rounds' releases, and freeze a new version of a period's pooled release.

    The figures per unit and question are over all the period's answers, protected layer by layer as a round's are
    (``protect_round``); the people are atoms ``(round number, unit)``, every version of every round's release and
    every earlier pooled version of the period enter as earlier versions, so that no pooled figure minus published
    round figures gives a hidden one (docs/ANONYMITY.md, "Pooled periods").

    :raises PoolingError: ``incomplete``, ``purged`` or ``earlier_unsafe`` (nothing is stored).
    """
    rounds = periods(session, survey).get(period, [])
    state = next((s for s in period_states(session, survey, now=now) if s.period == period), None)
    if state is None or not state.complete:
        raise PoolingError("incomplete")
    loaded: dict[int, RoundData] = {}
    for rnd in rounds:
        data = load_round(session, rnd)
        if rnd.answers and not data.tallies:
            raise PoolingError("purged")  # the raw answers are gone: the rounds' releases are all there is
        loaded[rnd.number] = data
    items, positions = _items(loaded)
    parts = _parts(loaded, items, positions)
    tree = units_tree(session, set(parts.units))
    parts = Parts({u: parts.units.get(u, ()) for u in tree.parents}, parts.direct, parts.tallies)
    direct, tallies = parts.pooled(len(items))
    k = max(r.min_group_size for r in rounds)
    k_dist = max(r.min_dist_size for r in rounds)
    earlier: list[Earlier] = [replace(e, round=rnd.number) for rnd in rounds for e in earlier_versions(session, rnd.id)]
    earlier += [replace(e, atoms={u: tuple((n, u) for n in loaded) for u in e.parents})
                for e in _pooled_versions(session, survey.id, period.key)]
    version = (session.scalar(select(func.max(PooledRelease.version)).where(
        PooledRelease.survey_id == survey.id, PooledRelease.period == period.key)) or 0) + 1
    names = dict(session.execute(select(Unit.id, Unit.name)).all())
    try:
        outcome = protect_round(tree, direct, tallies, items, k, k_dist, earlier, version=version,
                                unit_name=lambda u: names.get(u, str(u)), parts=parts)
    except EarlierUnsafeError as exc:
        raise PoolingError("earlier_unsafe", [e.record() for e in exc.explanations]) from None
    versions = {rnd.id: sorted(e.version for e in earlier if e.round == rnd.number) for rnd in rounds}
    audit_record = {
        "passed": True,
        "thresholds": {"k": k, "k_dist": k_dist},
        "cells": len(tree.cells()),
        "layers": layer_record(outcome),
        "period": period.key,
        "rounds": [rnd.number for rnd in rounds],
        # The questions pooled (code and version), for the gate (pulse.disclosure.pooled_trend) to name them.
        "questions": [[item.code, item.version] for item in items],
        "earlier_versions": {"versions": [e.version for e in earlier if e.round is None],
                             "reasons": [e.record() for e in outcome.explanations]},
    }
    pooled = PooledRelease(survey_id=survey.id, period=period.key, version=version, created_at=now,
                           created_by=created_by, min_group_size=k, min_dist_size=k_dist,
                           rounds=json.dumps([[rnd.id, rnd.number, versions[rnd.id]] for rnd in rounds]),
                           audit=json.dumps(audit_record, separators=(",", ":")))
    session.add(pooled)
    session.flush()
    node_counts = cell_counts(tree, direct)
    rows = []
    for cell in tree.cells():
        shown = cell in outcome.nodes
        counts = node_counts[cell]
        rows.append({
            "pooled_release_id": pooled.id, "unit_id": cell.unit, "kind": cell.kind.value,
            "parent_id": tree.parents.get(cell.unit) if cell.kind is Kind.TOTAL else cell.unit,
            "published": shown, "respondents": counts.respondents if shown else None,
            "invited": counts.invited if shown and counts.invited >= k else None,
            "stats": cell_json(outcome.figures[cell] if shown else {}),
        })
    if rows:
        session.execute(insert(PooledReleaseCell), rows)
    # The period is pooled now: an earlier refusal of it no longer stands.
    session.execute(delete(PoolRefusal).where(PoolRefusal.survey_id == survey.id, PoolRefusal.period == period.key))
    session.flush()
    return pooled


def _items(loaded: dict[int, RoundData]) -> tuple[list[Item], dict[int, dict[str, int]]]:
    """The questions pooled: every code asked in the period with one version of its wording (a code whose version
    changed within the period is not pooled: its answers answer different questions), in the latest round's order;
    and per round, each code's position in that round's answers."""
    asked: dict[str, set[tuple[int, str]]] = {}
    order: dict[str, tuple[int, int]] = {}
    positions: dict[int, dict[str, int]] = {}
    for number in sorted(loaded):
        questions: list[Question] = loaded[number].questions
        positions[number] = {q.code: i for i, q in enumerate(questions)}
        for index, question in enumerate(questions):
            asked.setdefault(question.code, set()).add((question.version, question.scale))
            order[question.code] = (number, index)
    items = [Item(code, next(iter(versions))[0], next(iter(versions))[1])
             for code, versions in sorted(asked.items(), key=lambda pair: order[pair[0]])
             if len(versions) == 1]
    return items, positions


def _parts(loaded: dict[int, RoundData], items: list[Item], positions: dict[int, dict[str, int]]) -> Parts:
    """The period's people as atoms ``(round number, unit)``: each round's counting units, counts and answers."""
    units: dict[int, list[Hashable]] = {}
    direct: dict[Hashable, Counts] = {}
    tallies: dict[Hashable, list[Tally]] = {}
    for number, data in sorted(loaded.items()):
        where = positions[number]
        for unit, counts in data.direct_counts.items():
            if counts.invited == 0 and counts.respondents == 0:
                continue  # a unit above the counting units: nobody counted there in this round
            atom = (number, unit)
            units.setdefault(unit, []).append(atom)
            direct[atom] = counts
            own = data.tallies.get(unit)
            tallies[atom] = [own[where[item.code]] if own is not None and item.code in where else Tally()
                             for item in items]
    return Parts({u: tuple(atoms) for u, atoms in units.items()}, direct, tallies)


def _pooled_versions(session: Session, survey_id: int, period: str) -> list[Earlier]:
    """The period's earlier pooled versions as they were published."""
    rows = session.execute(select(PooledRelease.version, PooledReleaseCell.unit_id, PooledReleaseCell.kind,
                                  PooledReleaseCell.parent_id, PooledReleaseCell.published, PooledReleaseCell.stats)
                           .join(PooledRelease, PooledRelease.id == PooledReleaseCell.pooled_release_id)
                           .where(PooledRelease.survey_id == survey_id, PooledRelease.period == period))
    return shown_versions((v, u, k, p, s, j) for v, u, k, p, s, j in rows)
