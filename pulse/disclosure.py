"""The one gate that decides what may be shown.

Every results page, chart, export and API response — and the respondent's "my unit's results" and the released
comments — is built from what these functions return, and they read only frozen releases (pulse.models.release)
and released comments — never answers, never ad-hoc queries over them. No view reads those tables itself (tested:
tests/unit/test_gate.py). A unit outside the viewer's scope, or not in the release, is reported exactly like a unit
that does not exist.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

# The figures are pulse.domain.figures' (one typed form, one JSON); the gate's callers take them from here.
from pulse.common.cache import MB, PerDatabase, deep_size
from pulse.domain.figures import HIDDEN as HIDDEN
from pulse.domain.figures import Figures as Figures
from pulse.domain.figures import Form as Form
from pulse.domain.figures import read_cell
from pulse.domain.pooling import Period, from_key
from pulse.domain.scales import SCALES
from pulse.domain.stats import Change, bound_value, change, index, whole
from pulse.models import (
    CountingMerge,
    PooledRelease,
    PooledReleaseCell,
    Question,
    Release,
    ReleaseCell,
    Round,
    RoundQuestion,
    Survey,
    Unit,
)
from pulse.services.comments import released_comments
from pulse.services.org import Scope
from pulse.services.rounds import RoundKeys


class NotVisibleError(LookupError):
    """The release or unit does not exist, or the viewer may not see it (the two are never told apart)."""


@dataclass(frozen=True)
class QuestionInfo:
    code: str
    version: int
    area: str
    scale: str
    sensitive: bool
    reverse: bool
    text_sv: str
    text_en: str

    def text(self, language: str) -> str:
        return self.text_en if language == "en" else self.text_sv


@dataclass(frozen=True)
class CellView:
    unit_id: int
    kind: str
    name: str
    published: bool
    respondents: int | None
    invited: int | None
    figures: dict[str, Figures]

    @property
    def participation(self) -> int | None:
        """Whole per cent, only where the participation figure may be shown."""
        if not self.published or not self.invited or self.respondents is None:
            return None
        return int(100 * self.respondents / self.invited)

    def get(self, code: str) -> Figures:
        return self.figures.get(code, HIDDEN)


@dataclass(frozen=True)
class ReleaseInfo:
    id: int
    version: int
    round_id: int
    round_number: int
    survey_id: int
    survey_name: str
    opened_at: dt.datetime
    closed_at: dt.datetime
    created_at: dt.datetime
    k: int
    k_dist: int
    k_comments: int
    questions: tuple[QuestionInfo, ...]


@dataclass(frozen=True)
class ReleaseData:
    """A whole frozen release, parsed once (cached per process: releases never change)."""

    info: ReleaseInfo
    cells: dict[tuple[int, str], CellView]
    parents: dict[int, int | None]
    children: dict[int, list[int]]

    def total(self, unit_id: int) -> CellView:
        return self.cells[(unit_id, "total")]

    def remainder(self, unit_id: int) -> CellView | None:
        return self.cells.get((unit_id, "remainder"))

    def subtree(self, unit_id: int) -> list[int]:
        result, stack = [], [unit_id]
        while stack:
            unit = stack.pop()
            result.append(unit)
            stack.extend(reversed(self.children.get(unit, [])))
        return result


def parse_figures(raw: dict[str, object]) -> Figures:
    """Stored figures as published today (:meth:`pulse.domain.figures.Figures.published`: releases frozen under
    older rules show no more than a new release would)."""
    return Figures.from_json(raw).published()


#: Parsed releases per database: frozen releases never change, so each is parsed once per process while it is
#: used. Bounded by bytes: a release of the reference organisation takes megabytes parsed, a small one kilobytes
#: (docs/ARCHITECTURE.md, "Memory").
RELEASES_CACHED = 64 * MB
#: Cells weighed one by one when a release is cached; a larger release is weighed from this many, spread over it.
WEIGHED_CELLS = 64


def _weigh_release(data: ReleaseData) -> int:
    """A parsed release's bytes, from a sample of its cells: weighing every object of a release of the reference
    organisation took longer than parsing it. Cells are alike (the same questions, figures of the same shape), so
    the sample's mean per cell times the cells is close; objects shared between cells (the hidden figures, the
    question codes) are counted once per sample, which errs a little on the heavy side."""
    cells = list(data.cells.values())
    step = max(1, len(cells) // WEIGHED_CELLS)
    sample = cells[::step]
    per_cell = (deep_size(sample) - sys.getsizeof(sample)) / len(sample) if sample else 0
    keys = sys.getsizeof(data.cells) + deep_size(next(iter(data.cells), None)) * len(cells)
    tree = deep_size(data.parents) + deep_size(data.children)
    return int(per_cell * len(cells)) + keys + tree + deep_size(data.info)


_releases: PerDatabase[ReleaseData] = PerDatabase("parsed releases", RELEASES_CACHED, _weigh_release)
#: Release headers (round, survey, thresholds, questions): small, but one per release ever read.
_infos: PerDatabase[ReleaseInfo] = PerDatabase("release headers", 4 * MB, deep_size)
#: One unit's whole-unit cell per release, as trends and changes read them without parsing whole releases (a trend
#: of 52 rounds is 52 cells; a chart, its table and the page each ask for the same ones). ``(None,)`` records that
#: the release has no cell for the unit.
_unit_cells: PerDatabase[tuple[CellView | None]] = PerDatabase("unit cells", 16 * MB, deep_size)
#: Heatmaps: the index of each area for each unit of a subtree, computed from a parsed release.
_heatmaps: PerDatabase[tuple[list[str], list[HeatRow]]] = PerDatabase("heatmaps", 4 * MB, deep_size)


def load_release(session: Session, release_id: int) -> ReleaseData:
    """The release, parsed.

    :raises NotVisibleError: when there is no such release.
    """
    return _releases(session.get_bind().engine).get_or_make(release_id, lambda: _parse(session, release_id))


def release_info(session: Session, release_id: int) -> ReleaseInfo:
    """A release's round, survey, thresholds and questions — without its cells (cached; cheap when cold).

    :raises NotVisibleError: when there is no such release.
    """
    cache = _infos(session.get_bind().engine)
    cached = cache.get(release_id)
    if cached is not None:
        return cached
    release = session.get(Release, release_id)
    if release is None:
        raise NotVisibleError(release_id)
    rnd = session.get_one(Round, release.round_id)
    survey = session.get_one(Survey, rnd.survey_id)
    questions = tuple(
        QuestionInfo(q.code, q.version, q.area, q.scale, q.sensitive, q.reverse, q.text_sv, q.text_en)
        for q in session.scalars(select(Question).join(RoundQuestion, RoundQuestion.question_id == Question.id)
                                 .where(RoundQuestion.round_id == rnd.id).order_by(RoundQuestion.position)))
    assert rnd.closed_at is not None
    info = ReleaseInfo(release.id, release.version, rnd.id, rnd.number, survey.id, survey.name, rnd.opened_at,
                       rnd.closed_at, release.created_at, release.min_group_size, release.min_dist_size,
                       release.min_comment_size, questions)
    return cache.put(release_id, info)


def _cell_view(cell: ReleaseCell, name: str) -> CellView:
    figures = {code: stored.published() for code, stored in read_cell(cell.stats).items()}
    return CellView(cell.unit_id, cell.kind, name, cell.published, cell.respondents, cell.invited, figures)


def _parse(session: Session, release_id: int) -> ReleaseData:
    info = release_info(session, release_id)
    rows = session.execute(select(ReleaseCell, Unit.name).join(Unit, Unit.id == ReleaseCell.unit_id)
                           .where(ReleaseCell.release_id == release_id)).all()
    cells: dict[tuple[int, str], CellView] = {}
    parents: dict[int, int | None] = {}
    for cell, name in rows:
        cells[(cell.unit_id, cell.kind)] = _cell_view(cell, name)
        if cell.kind == "total":
            parents[cell.unit_id] = cell.parent_id
    children: dict[int, list[int]] = {u: [] for u in parents}
    for unit, parent in parents.items():
        if parent is not None and parent in children:
            children[parent].append(unit)
    for kids in children.values():
        kids.sort(key=lambda u: cells[(u, "total")].name.casefold())
    return ReleaseData(info, cells, parents, children)


def unit_cells(session: Session, release_ids: list[int], unit_id: int) -> dict[int, CellView]:
    """One unit's total cell in several releases, without parsing the rest of them (trends, change)."""
    cache = _unit_cells(session.get_bind().engine)
    found: dict[int, CellView] = {}
    missing: list[int] = []
    for release_id in release_ids:
        hit = cache.get((release_id, unit_id))
        if hit is None:
            missing.append(release_id)
        elif hit[0] is not None:
            found[release_id] = hit[0]
    if missing:
        rows = session.execute(select(ReleaseCell, Unit.name).join(Unit, Unit.id == ReleaseCell.unit_id).where(
            ReleaseCell.release_id.in_(missing), ReleaseCell.unit_id == unit_id, ReleaseCell.kind == "total"))
        fetched = {cell.release_id: _cell_view(cell, name) for cell, name in rows}
        for release_id in missing:
            cache.put((release_id, unit_id), (fetched.get(release_id),))
        found.update(fetched)
    return {release_id: found[release_id] for release_id in release_ids if release_id in found}


def _check_unit(data: ReleaseData, unit_id: int, scope: Scope) -> None:
    if (unit_id, "total") not in data.cells or not scope.allows(unit_id):
        raise NotVisibleError(unit_id)


@dataclass(frozen=True)
class CountedElsewhere:
    """A unit with no results of its own in a round: fewer than k of its people were invited, so their answers
    counted in a unit above (docs/ANONYMITY.md, "Counting units")."""

    unit_name: str
    release: ReleaseInfo
    #: The unit the answers counted in (None: nobody of the unit could be counted in any group of k).
    target_name: str | None
    #: Its id when the viewer may open its results in this release, for a link; None otherwise.
    target_id: int | None


def counted_elsewhere(session: Session, release_id: int, unit_id: int, scope: Scope) -> CountedElsewhere | None:
    """Why a unit inside the viewer's scope has no cell in a release, when the round counted its people in another
    unit; None otherwise (then it is simply not visible). The round's record of this comes from the organisation
    when the round opened (who was invited where), never from answers, and says only that fewer than k were invited.
    """
    if not scope.allows(unit_id):
        return None
    info = release_info(session, release_id)
    merged = session.execute(select(CountingMerge.counted_in_id).where(
        CountingMerge.round_id == info.round_id, CountingMerge.unit_id == unit_id)).first()
    if merged is None:
        return None
    target = merged[0]
    names = dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_({unit_id, target or unit_id}))).all())
    linked = target is not None and scope.allows(target) and holds_unit(session, release_id, target)
    return CountedElsewhere(names[unit_id], info, names.get(target) if target is not None else None,
                            target if linked else None)


def latest_release_ids(session: Session, survey_id: int | None = None) -> list[int]:
    """The newest version of every released round, newest round first."""
    newest = (select(Release.round_id, func.max(Release.version).label("version")).group_by(Release.round_id)
              .subquery())
    query = (select(Release.id).join(newest, (newest.c.round_id == Release.round_id)
                                     & (newest.c.version == Release.version))
             .join(Round, Round.id == Release.round_id).order_by(Round.closed_at.desc(), Round.id.desc()))
    if survey_id is not None:
        query = query.where(Round.survey_id == survey_id)
    return list(session.scalars(query))


@dataclass(frozen=True)
class Visible:
    """A release and the top units of it that the viewer may see."""

    release: ReleaseInfo
    units: list[CellView]


def visible_releases(session: Session, scope: Scope) -> list[Visible]:
    """Releases the viewer may see, with the highest units of each inside their scope."""
    ids = latest_release_ids(session)
    if not ids:
        return []
    query = (select(ReleaseCell, Unit.name).join(Unit, Unit.id == ReleaseCell.unit_id)
             .where(ReleaseCell.release_id.in_(ids), ReleaseCell.kind == "total"))
    if not scope.everything:
        query = query.where(ReleaseCell.unit_id.in_(scope.unit_ids))
    by_release: dict[int, list[CellView]] = {}
    for cell, name in session.execute(query):
        # The highest units of the release the viewer may see: those whose parent they may not see.
        if cell.parent_id is None or not scope.allows(cell.parent_id):
            by_release.setdefault(cell.release_id, []).append(_cell_view(cell, name))
    return [Visible(release_info(session, i), sorted(by_release[i], key=lambda c: c.name.casefold()))
            for i in ids if i in by_release]


@dataclass(frozen=True)
class UnitComments:
    """The released comments of a unit and the units below it that the viewer may see."""

    release: ReleaseInfo
    unit: CellView
    #: Released (or redacted) texts, shuffled: no dates, no scores, no unit named (docs/ANONYMITY.md, "Free text").
    texts: list[str]


def unit_comments(session: Session, keys: RoundKeys, release_id: int, unit_id: int, scope: Scope) -> UnitComments:
    """The comments a viewer may read at one unit of a release: those the safety representative released (or
    redacted), placed in the unit or a unit below it inside the viewer's scope. Every home unit holds at least
    ``k_comments`` respondents (:func:`pulse.services.releases.place_comments`).

    :raises NotVisibleError: unknown release or unit, or outside the viewer's scope.
    """
    data = load_release(session, release_id)
    _check_unit(data, unit_id, scope)
    units = [u for u in data.subtree(unit_id) if scope.allows(u)]
    texts = released_comments(session, keys, data.info.round_id, units)
    return UnitComments(data.info, data.total(unit_id), texts)


@dataclass(frozen=True)
class RoundUnit:
    """One unit's published figures in the newest release of a round."""

    release: ReleaseInfo
    #: The unit's name; None when the unit is not in the release (then every figure is hidden).
    name: str | None
    #: Question code → figures, for every question of the release (hidden ones included).
    figures: dict[str, Figures]


def round_unit(session: Session, round_id: int, unit_id: int) -> RoundUnit | None:
    """What the newest release of a round publishes for one unit as a whole, or None before the round is released.

    For the respondent's own "my unit's results" link (pulse.respondent), which is signed for one round and one unit
    and names no person: its scope is that unit alone, and it shows exactly the figures every page shows there.
    """
    release_id = session.scalar(select(Release.id).where(Release.round_id == round_id)
                                .order_by(Release.version.desc()).limit(1))
    if release_id is None:
        return None
    info = release_info(session, release_id)
    cell = unit_cells(session, [release_id], unit_id).get(release_id)
    figures = {q.code: cell.get(q.code) if cell is not None else HIDDEN for q in info.questions}
    return RoundUnit(info, cell.name if cell is not None else None, figures)


@dataclass(frozen=True)
class QuestionRow:
    question: QuestionInfo
    now: Figures
    before: Figures
    change: Change | None


@dataclass(frozen=True)
class UnitResult:
    release: ReleaseInfo
    unit: CellView
    remainder: CellView | None
    children: list[CellView]
    rows: list[QuestionRow]
    strengths: list[QuestionRow]
    concerns: list[QuestionRow]
    flags: list[QuestionRow]
    #: 0–100, a whole number computed from the published (rounded) means.
    index: int | None
    previous: ReleaseInfo | None
    breadcrumbs: list[CellView] = field(default_factory=list)


def _comparable(figures: Figures) -> tuple[float, float, int] | None:
    """The published mean, SD and n — rounded as shown, so the change and its interval say nothing finer
    (docs/ANONYMITY.md, "Precision")."""
    if not figures.exact or figures.mean is None or figures.sd is None or figures.n is None:
        return None
    return figures.mean, figures.sd, figures.n


def _score(row: QuestionRow) -> float | None:
    """How good a result is on 0–1 (reversed items flipped), for strengths and concerns.

    A censored mean scores as its published bound ("≤ 1,5" as 1.5): everyone at the bottom is the strongest concern
    of all and must not drop out because it is only shown as a bound. The bound is all the release holds, so the
    ranking says nothing finer than the page (docs/ANONYMITY.md, "Censored figures")."""
    scale = SCALES.get(row.question.scale)
    if scale is None or row.question.sensitive or scale.maximum == scale.minimum:
        return None
    value = row.now.mean if row.now.exact else bound_value(row.now.censor, scale) if row.now.bound else None
    if value is None:
        return None
    position = (value - scale.minimum) / (scale.maximum - scale.minimum)
    return 1 - position if row.question.reverse else position


def unit_result(session: Session, release_id: int, unit_id: int, scope: Scope) -> UnitResult:
    """Everything the overview page of one unit shows, from one release (and the one before, for change).

    :raises NotVisibleError: unknown release or unit, or outside the viewer's scope.
    """
    data = load_release(session, release_id)
    _check_unit(data, unit_id, scope)
    previous_id = _previous_id(session, data.info)
    before_cell = unit_cells(session, [previous_id], unit_id).get(previous_id) if previous_id else None
    unit = data.total(unit_id)
    rows = []
    for question in data.info.questions:
        now = unit.get(question.code)
        before = before_cell.get(question.code) if before_cell else HIDDEN
        a, b = _comparable(before), _comparable(now)
        rows.append(QuestionRow(question, now, before, change(a, b) if a and b else None))
    scored = [(s, r) for r in rows if (s := _score(r)) is not None]
    scored.sort(key=lambda pair: pair[0])
    concerns = [r for s, r in scored[:3] if s < 0.75]
    strengths = [r for s, r in reversed(scored[-3:]) if s >= 0.5 and r not in concerns]
    means = [(r.now.mean, SCALES[r.question.scale], r.question.reverse) for r in rows
             if r.now.mean is not None and not r.question.sensitive and r.question.scale in ("agree5", "freq5")]
    crumbs = []
    parent = data.parents.get(unit_id)
    while parent is not None and scope.allows(parent):
        crumbs.append(data.total(parent))
        parent = data.parents.get(parent)
    return UnitResult(
        release=data.info, unit=unit, remainder=data.remainder(unit_id),
        children=[data.total(c) for c in data.children.get(unit_id, [])], rows=rows, strengths=strengths,
        concerns=concerns, flags=[r for r in rows if r.now.exact and r.now.flag],
        index=whole(index(means)) if means else None,
        previous=release_info(session, previous_id) if previous_id else None, breadcrumbs=list(reversed(crumbs)))


def _previous_id(session: Session, info: ReleaseInfo) -> int | None:
    """The newest release of the survey's latest earlier released round."""
    return session.scalar(select(Release.id).join(Round, Round.id == Release.round_id)
                          .where(Round.survey_id == info.survey_id, Round.number < info.round_number)
                          .order_by(Round.number.desc(), Release.version.desc()).limit(1))


@dataclass(frozen=True)
class TrendPoint:
    release: ReleaseInfo
    figures: Figures


@dataclass(frozen=True)
class Trend:
    unit: CellView
    survey_name: str
    #: question code → points in round order (hidden points included, so gaps show).
    series: dict[str, list[TrendPoint]]
    questions: dict[str, QuestionInfo]
    releases: list[ReleaseInfo]
    #: The unit's cell in each release, in the order of ``releases`` (answered and participation per round).
    cells: list[CellView] = field(default_factory=list)


def trend(session: Session, survey_id: int, unit_id: int, scope: Scope) -> Trend:
    """One unit's published figures across every released round of a survey, oldest first."""
    if not scope.allows(unit_id):
        raise NotVisibleError(unit_id)
    ids = list(reversed(latest_release_ids(session, survey_id)))
    cells = unit_cells(session, ids, unit_id)
    infos = [release_info(session, i) for i in ids if i in cells]
    if not infos:
        raise NotVisibleError(unit_id)
    series: dict[str, list[TrendPoint]] = {}
    questions: dict[str, QuestionInfo] = {}
    for info in infos:
        for question in info.questions:
            questions[question.code] = question
    for info in infos:
        asked = {q.code for q in info.questions}
        for code in questions:
            # A question a round did not ask (rotation) is a gap, like a hidden figure.
            figures = cells[info.id].get(code) if code in asked else HIDDEN
            series.setdefault(code, []).append(TrendPoint(info, figures))
    return Trend(cells[infos[-1].id], infos[-1].survey_name, series, questions, infos,
                 [cells[info.id] for info in infos])


@dataclass(frozen=True)
class HeatRow:
    cell: CellView
    depth: int
    #: area → index 0–100, a whole number from the published means (None = too few answers)
    areas: dict[str, int | None]


def heatmap(session: Session, release_id: int, unit_id: int, scope: Scope) -> tuple[list[str], list[HeatRow]]:
    """Units of the viewer's subtree × areas, each an index 0–100 from the area's published means.

    Sensitive items are left out: they are never crossed with anything.
    """
    data = load_release(session, release_id)
    _check_unit(data, unit_id, scope)
    # The rows are the release's subtree of the unit, whoever asks (the scope decided above whether they may).
    return _heatmaps(session.get_bind().engine).get_or_make((release_id, unit_id), lambda: _heat_rows(data, unit_id))


def _heat_rows(data: ReleaseData, unit_id: int) -> tuple[list[str], list[HeatRow]]:
    by_area: dict[str, list[QuestionInfo]] = {}
    for question in data.info.questions:
        if not question.sensitive and question.scale in ("agree5", "freq5"):
            by_area.setdefault(question.area, []).append(question)
    areas = list(by_area)
    rows = []
    depth = {unit_id: 0}
    for unit in data.subtree(unit_id):
        if unit != unit_id:
            depth[unit] = depth[data.parents[unit]] + 1  # type: ignore[index]
        cell = data.total(unit)
        values: dict[str, int | None] = {}
        for area, questions in by_area.items():
            means = [(f.mean, SCALES[q.scale], q.reverse) for q in questions
                     if (f := cell.get(q.code)).exact and f.mean is not None]
            values[area] = whole(index(means)) if means else None
        rows.append(HeatRow(cell, depth[unit], values))
    return areas, rows


@dataclass(frozen=True)
class PeriodCells:
    """One released round of a period, and the whole-unit cells it publishes for the units asked about."""

    release: ReleaseInfo
    #: unit id → its total cell (units the round did not cover are missing).
    cells: dict[int, CellView]


def period_cells(session: Session, unit_ids: list[int], start: dt.datetime, end: dt.datetime,
                 scope: Scope) -> list[PeriodCells]:
    """The newest release of every round that closed in ``[start, end)`` and covers any of the units, oldest first,
    with those units' whole-unit cells — for the safety representative's report and the annual follow-up.

    Units outside the viewer's scope are left out, as if they were not in the releases.
    """
    wanted = [u for u in unit_ids if scope.allows(u)]
    if not wanted:
        return []
    ids = [i for i in latest_release_ids(session) if start <= release_info(session, i).closed_at < end]
    if not ids:
        return []
    found: dict[int, dict[int, CellView]] = {}
    for chunk in range(0, len(wanted), 500):
        rows = session.execute(select(ReleaseCell, Unit.name).join(Unit, Unit.id == ReleaseCell.unit_id).where(
            ReleaseCell.release_id.in_(ids), ReleaseCell.unit_id.in_(wanted[chunk:chunk + 500]),
            ReleaseCell.kind == "total"))
        for cell, name in rows:
            found.setdefault(cell.release_id, {})[cell.unit_id] = _cell_view(cell, name)
    periods = [PeriodCells(release_info(session, i), found[i]) for i in ids if i in found]
    return sorted(periods, key=lambda p: (p.release.closed_at, p.release.survey_id, p.release.round_number))


# --- pooled periods (docs/ANONYMITY.md, "Pooled periods") ---------------------------------------------------------


@dataclass(frozen=True)
class PeriodInfo:
    """One pooled release: a period of a survey, the rounds it pools, its thresholds and questions."""

    id: int
    version: int
    survey_id: int
    survey_name: str
    period: Period
    round_numbers: tuple[int, ...]
    created_at: dt.datetime
    k: int
    k_dist: int
    questions: tuple[QuestionInfo, ...]

    @property
    def key(self) -> str:
        return self.period.key


@dataclass(frozen=True)
class PooledTrend:
    """One unit's pooled figures in every pooled period of a survey, oldest first (hidden ones included, so gaps
    show), with its figures in the newest round for comparison."""

    unit: CellView
    survey_id: int
    survey_name: str
    periods: list[PeriodInfo]
    #: the unit's total in each period, aligned with ``periods``
    cells: list[CellView]
    #: question code → figures per period (a period that did not pool a question shows it hidden)
    series: dict[str, list[Figures]]
    questions: dict[str, QuestionInfo]
    #: question code → the change from the period before to the newest, from the published (rounded) figures as
    #: for rounds; None where either is too few or there is one period
    changes: dict[str, Change | None] = field(default_factory=dict)

    @property
    def latest(self) -> tuple[PeriodInfo, CellView]:
        return self.periods[-1], self.cells[-1]


def latest_pooled_ids(session: Session, survey_id: int) -> list[int]:
    """The newest version of every pooled period of a survey, oldest period first."""
    newest: dict[str, tuple[int, int]] = {}
    for pooled_id, period, version in session.execute(select(PooledRelease.id, PooledRelease.period,
                                                             PooledRelease.version)
                                                      .where(PooledRelease.survey_id == survey_id)):
        if period not in newest or newest[period][1] < version:
            newest[period] = (pooled_id, version)
    return [newest[key][0] for key in sorted(newest, key=from_key)]


def period_info(session: Session, pooled_id: int) -> PeriodInfo:
    """A pooled release's header. :raises NotVisibleError: when there is none."""
    pooled = session.get(PooledRelease, pooled_id)
    if pooled is None:
        raise NotVisibleError(pooled_id)
    survey = session.get_one(Survey, pooled.survey_id)
    rounds = json.loads(pooled.rounds)
    wanted = {(str(code), int(version)) for code, version in json.loads(pooled.audit).get("questions", [])}
    round_ids = [int(entry[0]) for entry in rounds]
    questions: dict[str, QuestionInfo] = {}
    for q in session.scalars(select(Question).join(RoundQuestion, RoundQuestion.question_id == Question.id)
                             .where(RoundQuestion.round_id.in_(round_ids))
                             .order_by(RoundQuestion.round_id, RoundQuestion.position)):
        if (q.code, q.version) in wanted:
            questions[q.code] = QuestionInfo(q.code, q.version, q.area, q.scale, q.sensitive, q.reverse, q.text_sv,
                                             q.text_en)
    return PeriodInfo(pooled.id, pooled.version, survey.id, survey.name, from_key(pooled.period),
                      tuple(int(entry[1]) for entry in rounds), pooled.created_at, pooled.min_group_size,
                      pooled.min_dist_size, tuple(questions.values()))


def pooled_trend(session: Session, survey_id: int, unit_id: int, scope: Scope) -> PooledTrend | None:
    """One unit's figures pooled over each period of a survey, as frozen and published (the same reading as a
    round's: :meth:`pulse.domain.figures.Figures.published`); None when no pooled release holds the unit yet.

    :raises NotVisibleError: no such survey or unit, or outside the viewer's scope.
    """
    if not scope.allows(unit_id) or session.get(Survey, survey_id) is None or session.get(Unit, unit_id) is None:
        raise NotVisibleError(unit_id)
    ids = latest_pooled_ids(session, survey_id)
    if not ids:
        return None
    rows = session.execute(select(PooledReleaseCell, Unit.name).join(Unit, Unit.id == PooledReleaseCell.unit_id)
                           .where(PooledReleaseCell.pooled_release_id.in_(ids), PooledReleaseCell.unit_id == unit_id,
                                  PooledReleaseCell.kind == "total"))
    cells: dict[int, CellView] = {}
    for cell, name in rows:
        figures = {code: stored.published() for code, stored in read_cell(cell.stats).items()}
        cells[cell.pooled_release_id] = CellView(cell.unit_id, cell.kind, name, cell.published, cell.respondents,
                                                 cell.invited, figures)
    infos = [period_info(session, i) for i in ids if i in cells]
    if not infos:
        return None
    questions: dict[str, QuestionInfo] = {}
    for info in infos:
        for question in info.questions:
            questions[question.code] = question
    series = {code: [cells[info.id].get(code) if any(q.code == code for q in info.questions) else HIDDEN
                     for info in infos] for code in questions}
    changes: dict[str, Change | None] = {}
    for code, points in series.items():
        before, now = (_comparable(points[-2]), _comparable(points[-1])) if len(points) > 1 else (None, None)
        changes[code] = change(before, now) if before and now and not questions[code].sensitive else None
    return PooledTrend(cells[infos[-1].id], survey_id, infos[-1].survey_name, infos,
                       [cells[info.id] for info in infos], series, questions, changes)
@dataclass(frozen=True)
class QuestionPoint:
    """One question's published figures for one unit in one release."""

    release: ReleaseInfo
    question: QuestionInfo
    figures: Figures


def question_series(session: Session, unit_id: int, code: str, scope: Scope) -> list[QuestionPoint]:
    """One question's published figures for one unit in every released round that asked it (newest release of
    each round, every survey), oldest first — for an action's measured effect. Hidden figures stay hidden.

    :raises NotVisibleError: the unit is outside the viewer's scope.
    """
    if not scope.allows(unit_id):
        raise NotVisibleError(unit_id)
    asked: list[tuple[ReleaseInfo, QuestionInfo]] = []
    for release_id in latest_release_ids(session):
        info = release_info(session, release_id)
        question = next((q for q in info.questions if q.code == code), None)
        if question is not None:
            asked.append((info, question))
    cells = unit_cells(session, [info.id for info, _ in asked], unit_id)
    points = [QuestionPoint(info, question, cells[info.id].get(code)) for info, question in asked if info.id in cells]
    points.sort(key=lambda p: (p.release.closed_at, p.release.round_id))
    return points


def compare(before: Figures, after: Figures) -> Change | None:
    """The change between two published figures with its 95 % interval, from the figures as shown (None when either
    is hidden, a bound, or too small to compare)."""
    a, b = _comparable(before), _comparable(after)
    return change(a, b) if a and b else None


def holds_unit(session: Session, release_id: int, unit_id: int) -> bool:
    """Whether a release has a cell for the unit (a risk or feedback may only cite a release its unit is in).

    One indexed look-up, without parsing the release."""
    return session.scalar(select(ReleaseCell.unit_id).where(
        ReleaseCell.release_id == release_id, ReleaseCell.unit_id == unit_id, ReleaseCell.kind == "total")) is not None


def releases_holding(session: Session, unit_id: int) -> list[int]:
    """The newest release of every released round that has a cell for the unit, newest round first — one query,
    without parsing any release (the SAM forms and the start page list them for every unit)."""
    newest = latest_release_ids(session)
    if not newest:
        return []
    holding = set(session.scalars(select(ReleaseCell.release_id).where(
        ReleaseCell.release_id.in_(newest), ReleaseCell.unit_id == unit_id, ReleaseCell.kind == "total")))
    return [r for r in newest if r in holding]
def area_indices(info: ReleaseInfo, cell: CellView) -> dict[str, int | None]:
    """Each question area's index 0–100 in one cell, from its published exact means — as the heatmap computes it
    (sensitive items left out; None where no mean of the area is shown)."""
    by_area: dict[str, list[QuestionInfo]] = {}
    for question in info.questions:
        if not question.sensitive and question.scale in ("agree5", "freq5"):
            by_area.setdefault(question.area, []).append(question)
    values: dict[str, int | None] = {}
    for area, questions in by_area.items():
        means = [(f.mean, SCALES[q.scale], q.reverse) for q in questions
                 if (f := cell.get(q.code)).exact and f.mean is not None]
        values[area] = whole(index(means)) if means else None
    return values
