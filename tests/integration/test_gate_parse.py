"""The disclosure gate (pulse/disclosure.py): a parsed release, its header, unit cells and heatmap, from outside.

A frozen release is parsed once (:func:`pulse.disclosure.load_release`): its header, its cells with their published
figures and its unit tree, children in name order. Each cached parse is weighed for the byte-bounded cache from a
sample of its cells. One unit's whole-unit cell is read across releases without parsing them (trends, changes), and
the heatmap (and the safety desk's :func:`pulse.disclosure.area_indices`) turns a cell's published means into an index
0–100 per question area.

The releases here are written straight into the tables, as the close freezes them, with figures chosen by the test,
so every expected value is worked out by hand below from pulse.domain.stats ``index`` and ``whole``: each mean maps
to 100 · (mean − 1) / 4 on the five-point scales (flipped for a reversed item), an area's index is the mean of its
items' values, rounded half away from zero.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy.orm import Session

from pulse import disclosure
from pulse.common.cache import deep_size
from pulse.models import Question, Release, ReleaseCell, Round, RoundQuestion, Survey, Unit
from pulse.services.org import Scope
from tests.factories import make_unit, rows_in_another_order

EVERYTHING = Scope(True, frozenset())
OPENED = dt.datetime(2026, 3, 2, 7, 0, tzinfo=dt.UTC)
CLOSED = dt.datetime(2026, 3, 6, 15, 0, tzinfo=dt.UTC)

#: The round's questions in the order it asked them: (code, area, scale, sensitive, reverse).
QUESTIONS = (
    ("T-WL1", "workload", "agree5", False, False),
    ("T-WL2", "workload", "freq5", False, True),
    ("T-WL3", "workload", "agree5", True, False),  # sensitive: never in an index
    ("T-WL4", "workload", "enps", False, False),  # another scale: never in an index
    ("T-SU1", "support", "agree5", False, False),
    ("T-SU2", "support", "freq5", False, False),
    ("T-EN1", "engagement", "enps", False, False),  # an area of other scales only: no column at all
    ("T-SA1", "safety", "agree5", True, False),  # an area of sensitive items only: no column at all
)


def _exact(mean: float | None, n: int = 6) -> dict[str, object]:
    """Stored figures at k (and k_dist): n answered and, unless None, the mean."""
    figures: dict[str, object] = {"v": 1, "n": n, "sd": 0.8, "dist": [1, 1, 1, 1, n - 4]}
    if mean is not None:
        figures["mean"] = mean
    return figures


def _bound(censor: str) -> dict[str, object]:
    return {"v": 1, "censor": censor}


def _survey_round(session: Session, number: int = 1, questions: tuple[tuple[str, str, str, bool, bool], ...] = (),
                  survey: Survey | None = None) -> tuple[Round, list[Question]]:
    """A closed round asking ``questions`` in the given order. The question rows are made in another order than the
    round asks them (the round's positions decide)."""
    if survey is None:
        survey = Survey(name="Veckopuls", min_group_size=5, min_dist_size=5, min_comment_size=5)
        session.add(survey)
        session.flush()
    rnd = Round(survey_id=survey.id, number=number, status="closed", opened_at=OPENED, closes_at=CLOSED,
                closed_at=CLOSED, min_group_size=5, min_dist_size=5, min_comment_size=5, public_key=bytes(32))
    session.add(rnd)
    session.flush()
    made = {}
    for code, area, scale, sensitive, reverse in reversed(questions):
        question = session.query(Question).filter_by(code=code).one_or_none()
        if question is None:
            question = Question(code=code, area=area, scale=scale, sensitive=sensitive, reverse=reverse,
                                text_sv=f"Fråga {code}", text_en=f"Question {code}")
            session.add(question)
            session.flush()
        made[code] = question
    # Positions added in reverse too, so neither the questions' ids nor the rows' order is the round's order.
    for position in reversed(range(len(questions))):
        session.add(RoundQuestion(round_id=rnd.id, position=position + 1, question_id=made[questions[position][0]].id))
    session.flush()
    return rnd, [made[q[0]] for q in questions]


Cell = tuple[Unit, str, "Unit | None", dict[str, dict[str, object]], bool, int | None, int | None]


def _release(session: Session, rnd: Round, cells: list[Cell], *, version: int = 1, k: tuple[int, int, int] = (5, 5, 3)
             ) -> int:
    """A frozen release of ``rnd``: per cell (unit, kind, parent, stats, published, respondents, invited)."""
    release = Release(round_id=rnd.id, version=version, created_at=CLOSED + dt.timedelta(minutes=version),
                      created_by="system", min_group_size=k[0], min_dist_size=k[1], min_comment_size=k[2],
                      audit="{}")
    session.add(release)
    session.flush()
    for unit, kind, parent, stats, published, respondents, invited in cells:
        session.add(ReleaseCell(release_id=release.id, unit_id=unit.id, kind=kind,
                                parent_id=unit.id if kind == "remainder" else (parent.id if parent else None),
                                published=published, respondents=respondents, invited=invited,
                                stats=json.dumps(stats)))
        session.flush()  # one row at a time: the table's rows are in exactly this order
    session.commit()
    return release.id


# --- one release, a unit tree and figures chosen for the heatmap ------------------------------------------------------


@pytest.fixture
def made(session: Session) -> dict[str, object]:
    """A department with three teams made in the order beta, Gamma, alfa (so neither their ids nor a case-sensitive
    sort is their name order), a unit below Gamma, and people directly in the department (its remainder cell).

    Indices by hand (five-point scales: 100 · (mean − 1) / 4, reversed items 100 minus that):

    - department: workload (3.0 → 50, reversed 2.0 → 75) → 62.5 → 63; support 4.2 → 80 (the bound is left out);
    - alfa: workload 3.3 → 57.5 → 58 (the reversed item hidden); support (5.0 → 100, 1.0 → 0) → 50;
    - beta: workload 2.7 → 42.5 → 43; support: an answered count without a mean, and a hidden item → none;
    - Gamma: workload (4.6 → 90, reversed 4.6 → 10) → 50; support (1.8 → 20, 3.4 → 60) → 40;
    - Gamma's unit: suppressed, nothing shown;
    - the department's remainder: workload 1.4 → 10; support only a bound → none.

    Left out everywhere: the sensitive items (T-WL3 1.0 would give 0, T-SA1 its own area) and the eNPS items (T-WL4
    7.0 would give 70, T-EN1 its own area)."""
    rnd, _ = _survey_round(session, 1, QUESTIONS)
    dept = make_unit(session, "dept", "Avdelning")
    beta = make_unit(session, "beta", "beta", dept)
    gamma = make_unit(session, "gamma", "Gamma", dept)
    alfa = make_unit(session, "alfa", "alfa", dept)
    below = make_unit(session, "gamma-sub", "Gammas grupp", gamma)
    other = make_unit(session, "other", "Annan")  # in no release
    release = _release(session, rnd, [
        (dept, "total", None, {"T-WL1": _exact(3.0), "T-WL2": _exact(2.0), "T-WL3": _exact(1.0),
                               "T-WL4": {"v": 1, "n": 20, "mean": 7.0, "enps": 10}, "T-SU1": _exact(4.2),
                               "T-SU2": _bound("low"), "T-EN1": {"v": 1, "n": 20, "mean": 9.0, "enps": 60},
                               "T-SA1": _exact(1.0)}, True, 20, 25),
        (beta, "total", dept, {"T-WL1": _exact(2.7), "T-SU1": {"v": 1, "n": 5}, "T-WL3": _exact(1.0)}, True, 5, 6),
        (gamma, "total", dept, {"T-WL1": _exact(4.6), "T-WL2": _exact(4.6), "T-SU1": _exact(1.8),
                                "T-SU2": _exact(3.4), "T-WL4": {"v": 1, "n": 8, "mean": 0.0}}, True, 8, None),
        (alfa, "total", dept, {"T-WL1": _exact(3.3), "T-SU1": _exact(5.0), "T-SU2": _exact(1.0),
                               "T-SA1": _exact(5.0)}, True, 7, 9),
        (below, "total", gamma, {}, False, None, None),
        # After the department's total: the remainder is the last row of the unit.
        (dept, "remainder", None, {"T-WL1": _exact(1.4), "T-SU2": _bound("high"), "T-WL3": _exact(5.0)}, True, 6, 7),
    ], k=(5, 6, 4))
    return {"round": rnd, "release": release, "dept": dept, "beta": beta, "gamma": gamma, "alfa": alfa,
            "below": below, "other": other}


HEAT = {"dept": {"workload": 63, "support": 80}, "alfa": {"workload": 58, "support": 50},
        "beta": {"workload": 43, "support": None}, "gamma": {"workload": 50, "support": 40},
        "below": {"workload": None, "support": None}}


def test_a_release_header_is_its_round_survey_thresholds_and_questions_in_the_round_order(
        session: Session, made: dict[str, object]) -> None:
    rnd: Round = made["round"]  # type: ignore[assignment]
    info = disclosure.release_info(session, made["release"])  # type: ignore[arg-type]
    assert (info.id, info.version, info.round_id, info.round_number, info.survey_id, info.survey_name) == (
        made["release"], 1, rnd.id, 1, rnd.survey_id, "Veckopuls")
    assert (info.opened_at, info.closed_at, info.created_at) == (OPENED, CLOSED, CLOSED + dt.timedelta(minutes=1))
    assert (info.k, info.k_dist, info.k_comments) == (5, 6, 4)  # the release's thresholds, not the round's
    assert [(q.code, q.area, q.scale, q.sensitive, q.reverse) for q in info.questions] == list(QUESTIONS)
    assert {(q.version, q.text("sv"), q.text("en")) for q in info.questions if q.code == "T-WL2"} == {
        (1, "Fråga T-WL2", "Question T-WL2")}
    # Read again (from the cache): the same header.
    assert disclosure.release_info(session, made["release"]) == info  # type: ignore[arg-type]
    assert disclosure.load_release(session, made["release"]).info == info  # type: ignore[arg-type]
    with pytest.raises(disclosure.NotVisibleError):
        disclosure.release_info(session, 999_999)
    with pytest.raises(disclosure.NotVisibleError):
        disclosure.load_release(session, 999_999)


def test_a_parsed_release_holds_every_cell_as_published_and_its_tree_in_name_order(
        session: Session, made: dict[str, object]) -> None:
    units: dict[str, Unit] = {name: made[name] for name in ("dept", "alfa", "beta", "gamma", "below")}  # type: ignore[misc]
    ids = {name: unit.id for name, unit in units.items()}
    data = disclosure.load_release(session, made["release"])  # type: ignore[arg-type]
    assert set(data.cells) == {(u, "total") for u in ids.values()} | {(ids["dept"], "remainder")}
    assert data.parents == {ids["dept"]: None, ids["alfa"]: ids["dept"], ids["beta"]: ids["dept"],
                            ids["gamma"]: ids["dept"], ids["below"]: ids["gamma"]}
    # Children in name order, whatever the case: alfa, beta, Gamma (ids: beta, Gamma, alfa; a plain sort: Gamma first).
    assert data.children == {ids["dept"]: [ids["alfa"], ids["beta"], ids["gamma"]], ids["alfa"]: [], ids["beta"]: [],
                             ids["gamma"]: [ids["below"]], ids["below"]: []}
    assert data.subtree(ids["dept"]) == [ids["dept"], ids["alfa"], ids["beta"], ids["gamma"], ids["below"]]
    assert data.subtree(ids["gamma"]) == [ids["gamma"], ids["below"]]
    assert data.subtree(ids["below"]) == [ids["below"]]

    dept = data.total(ids["dept"])
    assert (dept.unit_id, dept.kind, dept.name, dept.published, dept.respondents, dept.invited) == (
        ids["dept"], "total", "Avdelning", True, 20, 25)
    assert dept.participation == 80
    assert dept.get("T-WL1") == disclosure.Figures(disclosure.Form.EXACT, 1, 6, mean=3.0, sd=0.8, dist=(1, 1, 1, 1, 2))
    assert dept.get("T-SU2") == disclosure.Figures(disclosure.Form.BOUND, 1, censor="low")
    assert dept.get("T-SA9") is disclosure.HIDDEN
    rest = data.remainder(ids["dept"])
    assert rest is not None and (rest.kind, rest.respondents, rest.invited, rest.participation) == (
        "remainder", 6, 7, 85)
    assert data.remainder(ids["alfa"]) is None
    gamma = data.total(ids["gamma"])
    assert (gamma.name, gamma.respondents, gamma.invited, gamma.participation) == ("Gamma", 8, None, None)
    below = data.total(ids["below"])
    assert (below.published, below.respondents, below.invited, below.figures) == (False, None, None, {})
    # Parsed once: the same object while it is cached.
    assert disclosure.load_release(session, made["release"]) is data  # type: ignore[arg-type]


def test_the_heatmap_is_each_units_index_per_area_from_its_exact_means(session: Session,
                                                                      made: dict[str, object]) -> None:
    order = ("dept", "alfa", "beta", "gamma", "below")
    areas, rows = disclosure.heatmap(session, made["release"], made["dept"].id, EVERYTHING)  # type: ignore[arg-type, attr-defined]
    assert areas == ["workload", "support"]
    assert [(r.cell.unit_id, r.cell.kind, r.depth) for r in rows] == [
        (made[name].id, "total", depth) for name, depth in zip(order, (0, 1, 1, 1, 2), strict=True)]  # type: ignore[attr-defined]
    assert [r.areas for r in rows] == [HEAT[name] for name in order]
    # A unit's own heatmap, asked after the department's: its subtree, depth from it.
    areas, rows = disclosure.heatmap(session, made["release"], made["gamma"].id, EVERYTHING)  # type: ignore[arg-type, attr-defined]
    assert areas == ["workload", "support"]
    assert [(r.cell.unit_id, r.depth, r.areas) for r in rows] == [
        (made["gamma"].id, 0, HEAT["gamma"]), (made["below"].id, 1, HEAT["below"])]  # type: ignore[attr-defined]
    # Asked again (from the cache): the same.
    assert disclosure.heatmap(session, made["release"], made["dept"].id, EVERYTHING)[1][0].areas == HEAT["dept"]  # type: ignore[arg-type, attr-defined]
    for unit, scope in ((made["other"], EVERYTHING), (made["dept"], Scope(False, frozenset({made["gamma"].id})))):  # type: ignore[attr-defined]
        with pytest.raises(disclosure.NotVisibleError):
            disclosure.heatmap(session, made["release"], unit.id, scope)  # type: ignore[arg-type, attr-defined]


def test_area_indices_of_one_cell_are_the_heatmaps(session: Session, made: dict[str, object]) -> None:
    """The safety desk's index per area and round (pulse.reporting.desk) for any cell, the remainder included."""
    data = disclosure.load_release(session, made["release"])  # type: ignore[arg-type]
    for name, expected in HEAT.items():
        assert disclosure.area_indices(data.info, data.total(made[name].id)) == expected, name  # type: ignore[attr-defined]
    rest = data.remainder(made["dept"].id)  # type: ignore[attr-defined]
    assert rest is not None
    assert disclosure.area_indices(data.info, rest) == {"workload": 10, "support": None}


def test_an_index_leaves_out_sensitive_items_other_scales_bounds_and_counts_without_a_mean() -> None:
    """area_indices on a cell made here: each kind of figure that must not count, alone in an area or beside one that
    does."""
    questions = tuple(disclosure.QuestionInfo(code, 1, area, scale, sensitive, reverse, code, code)
                      for code, area, scale, sensitive, reverse in QUESTIONS)
    info = disclosure.ReleaseInfo(1, 1, 1, 1, 1, "Puls", OPENED, CLOSED, CLOSED, 5, 5, 5, questions)
    exact = disclosure.Figures

    def cell(figures: dict[str, disclosure.Figures]) -> disclosure.CellView:
        return disclosure.CellView(1, "total", "Enhet", True, 9, 9, figures)

    form = disclosure.Form
    assert disclosure.area_indices(info, cell({})) == {"workload": None, "support": None}
    assert disclosure.area_indices(info, cell({
        "T-WL1": exact(form.EXACT, 1, 9, mean=1.2), "T-WL2": exact(form.EXACT, 1, 9, mean=1.2),
        "T-WL3": exact(form.EXACT, 1, 9, mean=5.0), "T-WL4": exact(form.EXACT, 1, 9, mean=10.0),
        "T-SU1": exact(form.EXACT, 1, 9), "T-SU2": exact(form.BOUND, 1, censor="high"),
        "T-EN1": exact(form.EXACT, 1, 9, mean=5.0), "T-SA1": exact(form.EXACT, 1, 9, mean=3.0)})) == {
        # (1.2 → 5, reversed 1.2 → 95) → 50; nothing else counts.
        "workload": 50, "support": None}
    # One item of an area alone: a freq5 item, not reversed, 3.9 → 72.5 → 73.
    assert disclosure.area_indices(info, cell({"T-SU2": exact(form.EXACT, 1, 9, mean=3.9)})) == {
        "workload": None, "support": 73}


def test_unit_cells_are_a_units_whole_unit_cell_in_each_release_that_holds_it(session: Session,
                                                                             made: dict[str, object]) -> None:
    """Trends and changes read one unit's total per release without parsing the releases: never its remainder (the
    department's remainder is stored after its total), nothing for a release that does not hold the unit."""
    first: int = made["release"]  # type: ignore[assignment]
    dept: Unit = made["dept"]  # type: ignore[assignment]
    beta: Unit = made["beta"]  # type: ignore[assignment]
    survey = session.get_one(Survey, made["round"].survey_id)  # type: ignore[attr-defined]
    rnd, _ = _survey_round(session, 2, QUESTIONS[:2], survey=survey)
    second = _release(session, rnd, [(dept, "total", None, {"T-WL1": _exact(3.5)}, True, 30, 40),
                                     (dept, "remainder", None, {"T-WL1": _exact(1.0)}, True, 30, 40)])
    for _ in range(2):  # cold, then from the cache
        cells = disclosure.unit_cells(session, [second, first, 999_999], dept.id)
        assert list(cells) == [second, first]
        assert [(c.unit_id, c.kind, c.name, c.respondents, c.invited, c.participation) for c in cells.values()] == [
            (dept.id, "total", "Avdelning", 30, 40, 75), (dept.id, "total", "Avdelning", 20, 25, 80)]
        assert cells[second].get("T-WL1").mean == 3.5 and cells[first].get("T-WL1").mean == 3.0
        assert disclosure.unit_cells(session, [first, second], beta.id) == {
            first: disclosure.load_release(session, first).total(beta.id)}
    assert disclosure.unit_cells(session, [second], made["other"].id) == {}  # type: ignore[attr-defined]
    assert disclosure.unit_cells(session, [], dept.id) == {}


def test_what_the_gate_reads_does_not_hang_on_the_order_the_database_returns_rows_in(
        session: Session, made: dict[str, object]) -> None:
    """The round's order of its questions, a unit's total rather than its remainder, children in name order: each
    whatever order the rows come in (the department's remainder is stored after its total; the round's questions
    were stored in reverse)."""
    release: int = made["release"]  # type: ignore[assignment]
    dept: Unit = made["dept"]  # type: ignore[assignment]
    with rows_in_another_order(session):
        assert [q.code for q in disclosure.release_info(session, release).questions] == [q[0] for q in QUESTIONS]
        cells = disclosure.unit_cells(session, [release], dept.id)
        assert [(c.kind, c.respondents, c.invited) for c in cells.values()] == [("total", 20, 25)]
        data = disclosure.load_release(session, release)
        assert [data.total(u).name for u in data.children[dept.id]] == ["alfa", "beta", "Gamma"]
        assert data.total(dept.id).respondents == 20 and data.remainder(dept.id).respondents == 6  # type: ignore[union-attr]


# --- the parsed release's weight in the byte-bounded cache ------------------------------------------------------------


def _sized(session: Session, teams: int, shown: object = lambda i: i % 3 != 2, *, remainder: bool = True
           ) -> disclosure.ReleaseData:
    """A parsed release: a department, ``teams`` teams and (unless not ``remainder``) the department's remainder; a
    team ``i`` with ``shown(i)`` shows every question, the others are suppressed (no figures)."""
    rnd, _ = _survey_round(session, 1, QUESTIONS)
    dept = make_unit(session, "dept", "Förvaltningen")
    cells: list[Cell] = [(dept, "total", None, {q[0]: _exact(3.2) for q in QUESTIONS}, True, 10 * teams, 12 * teams)]
    for i in range(teams):
        team = make_unit(session, f"team-{i}", f"Arbetslag {i:03d}", dept)
        published = shown(i)  # type: ignore[operator]
        stats = {q[0]: _exact(1 + (i % 40) / 10) for q in QUESTIONS} if published else {}
        cells.append((team, "total", dept, stats, published, 10 if published else None, 12 if published else None))
    if remainder:
        cells.append((dept, "remainder", None, {"T-WL1": _exact(2.5)}, True, 5, 6))
    return disclosure.load_release(session, _release(session, rnd, cells))


@pytest.mark.parametrize("teams", [10, 150])
def test_a_parsed_release_is_weighed_close_to_its_size_in_memory_and_never_lighter(session: Session,
                                                                                   teams: int) -> None:
    """12 cells are each weighed; 152 are more than WEIGHED_CELLS, so every second one is. The estimate errs on
    the heavy side (objects the cells share are counted once per cell), by a few per cent here; never lighter, so
    the cache's limit holds."""
    data = _sized(session, teams)
    assert len(data.cells) == teams + 2 and (len(data.cells) > disclosure.WEIGHED_CELLS) is (teams > 64)
    real = deep_size(data)
    assert real <= disclosure._weigh_release(data) <= real * 1.15


def test_a_release_of_few_or_no_cells_is_weighed_close_to_its_size(session: Session) -> None:
    """A release may hold no cells at all (nobody counted in the round); a two-cell one is its header mostly. The
    estimate leaves out the parsed release's own object and its fields' names (some 600 bytes), so here it may be that
    much light."""
    rnd, _ = _survey_round(session, 1, QUESTIONS)
    empty = disclosure.load_release(session, _release(session, rnd, []))
    assert empty.cells == {} and empty.parents == {} and empty.children == {}
    dept = make_unit(session, "dept", "Förvaltningen")
    two = disclosure.load_release(session, _release(session, rnd, [
        (dept, "total", None, {"T-WL1": _exact(3.0)}, True, 10, 12),
        (dept, "remainder", None, {"T-WL1": _exact(3.0)}, True, 10, 12)], version=2))
    for data in (empty, two):
        real = deep_size(data)
        assert real - 1024 <= disclosure._weigh_release(data) <= real * 1.15


def test_every_cell_of_a_small_release_is_weighed(session: Session) -> None:
    """Cells alternately heavy (every figure shown) and light (suppressed): 25 cells are all weighed, none left out —
    weighing only every other one would take them all for light ones but the first."""
    data = _sized(session, 24, lambda i: i % 2 == 0, remainder=False)
    assert [cell.published for cell in data.cells.values()] == [True] + [True, False] * 12  # as stored
    real = deep_size(data)
    assert real <= disclosure._weigh_release(data) <= real * 1.15


def test_a_large_release_is_weighed_from_a_sample_of_its_cells(session: Session,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Weighing every object of a release of the reference organisation took longer than parsing it: a release of
    more than WEIGHED_CELLS cells is weighed from fewer than twice that many."""
    data = _sized(session, 300)
    weighed: list[int] = []

    def spy(value: object) -> int:
        if isinstance(value, list):
            weighed.append(len(value))
        return deep_size(value)

    monkeypatch.setattr(disclosure, "deep_size", spy)
    estimate = disclosure._weigh_release(data)
    assert weighed and max(weighed) < 2 * disclosure.WEIGHED_CELLS
    assert deep_size(data) <= estimate <= deep_size(data) * 1.15
