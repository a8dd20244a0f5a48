"""The disclosure gate (pulse/disclosure.py) across rounds: the rounds of a period (the safety representative's report
and the annual follow-up), one question in every round that asked it (an action's measured effect), a unit's trend
in one survey, and the change between two published figures — checked against an organisation, answers and closing
times set up by hand, with two surveys, a rotating question set and a corrected round."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse import disclosure
from pulse.domain.figures import Figures, Form
from pulse.models import Release, Round, Survey, Unit
from pulse.services import answers as answer_service
from pulse.services.org import Scope
from pulse.services.releases import compute_release
from tests.factories import make_person, make_unit, rows_in_another_order
from tests.rounds import MONDAY, close_when_due, keys, make_survey, open_with_credentials

EVERYTHING = Scope(True, frozenset())
#: Survey A rotates two of these three per round: round 1 asks WL1 and SP1, round 2 WL1 and PR1, round 3 SP1 and PR1.
ROTATING = ("OSA-WL1", "OSA-SP1", "OSA-PR1")


@dataclass
class Rounds:
    dept: Unit
    alfa: Unit
    beta: Unit
    root: Unit
    survey_a: Survey
    survey_b: Survey
    #: round label (a1, a2, b1, a3) → its round
    rounds: dict[str, Round]
    #: round label → when the round closed: a1 < a2 = b1 < a3
    closed: dict[str, dt.datetime]
    #: round label → the newest release of the round (a1 corrected: its second version)
    releases: dict[str, int]
    #: the first, replaced version of a1
    replaced: int


def _answer(session: Session, app: Flask, survey: Survey, now: dt.datetime,
            answers: dict[str, list[dict[str, int | None]]]) -> Round:
    opened = open_with_credentials(session, app, survey, now=now)
    for team, members in answers.items():
        for i, values in enumerate(members):
            link, _ = opened.credentials[f"{team}{i}@example.org"]
            answer_service.submit(session, keys(app).token, link, values, None, now=now)
    session.commit()
    return session.get_one(Round, opened.round.id)


def _close(session: Session, app: Flask, rnd: Round) -> Round:
    return close_when_due(session, app, rnd.id)


@pytest.fixture
def made(session: Session, app: Flask) -> Rounds:
    """Kommun → Avdelning → alfa, beta (four each, all answer; k = 3). Survey A (rotating) and survey B (WL1 only)
    both cover the department; a2 and b1 open and close at the same moment, a2 opened first."""
    root = make_unit(session, "root", "Kommun")
    dept = make_unit(session, "dept", "Avdelning", root)
    alfa = make_unit(session, "alfa", "Alfa", dept)
    beta = make_unit(session, "beta", "Beta", dept)
    for team in ("alfa", "beta"):
        for i in range(4):
            make_person(session, f"{team}{i}@example.org", unit=alfa if team == "alfa" else beta, password=None)
    session.commit()
    survey_a = make_survey(session, [dept], name="Puls A", questions=ROTATING, question_mode="rotation",
                           rotation_count=2)
    survey_b = make_survey(session, [dept], name="Puls B", questions=("OSA-WL1",))
    a1 = _close(session, app, _answer(session, app, survey_a, MONDAY, {
        "alfa": [{"OSA-WL1": v, "OSA-SP1": 4} for v in (2, 2, 3, 3)],
        "beta": [{"OSA-WL1": v, "OSA-SP1": 2} for v in (4, 4, 4, 5)]}))
    later = a1.closes_at + dt.timedelta(days=3)
    a2 = _answer(session, app, survey_a, later, {
        "alfa": [{"OSA-WL1": v, "OSA-PR1": 3} for v in (3, 3, 4, 4)],
        "beta": [{"OSA-WL1": 4, "OSA-PR1": 3}] * 4})
    b1 = _answer(session, app, survey_b, later, {
        "alfa": [{"OSA-WL1": v} for v in (1, 2, 2, 2)],
        "beta": [{"OSA-WL1": 5}] * 4})
    a2, b1 = _close(session, app, a2), _close(session, app, b1)
    a3 = _close(session, app, _answer(session, app, survey_a, a2.closes_at + dt.timedelta(days=3), {
        "alfa": [{"OSA-SP1": 5, "OSA-PR1": 4}] * 4,
        "beta": [{"OSA-SP1": 3, "OSA-PR1": 2}] * 4}))
    rounds = {"a1": a1, "a2": a2, "b1": b1, "a3": a3}
    closed = {label: r.closed_at for label, r in rounds.items() if r.closed_at is not None}
    assert closed.keys() == rounds.keys()
    releases = {label: session.scalar(select(Release.id).where(Release.round_id == r.id)) for label, r in rounds.items()}
    replaced = releases["a1"]
    releases["a1"] = compute_release(session, a1, created_by="test", now=closed["a3"] + dt.timedelta(days=1)).id
    session.commit()
    return Rounds(dept, alfa, beta, root, survey_a, survey_b, rounds, closed, releases, replaced)  # type: ignore[arg-type]


#: unit id → its cell as shown: name, kind, published, respondents, question code → mean
Shown = dict[int, tuple[str, str, bool, int | None, dict[str, float | None]]]


def _shown(period: disclosure.PeriodCells) -> Shown:
    return {unit: (cell.name, cell.kind, cell.published, cell.respondents,
                   {code: f.mean for code, f in cell.figures.items()}) for unit, cell in period.cells.items()}


def _expected(made: Rounds, units: tuple[str, ...] = ("dept", "alfa", "beta")) -> dict[str, Shown]:
    """Each round's published whole-unit figures, worked out by hand from the answers (means to one decimal, halves
    away from zero: beta's 4, 4, 4, 5 is 4.25, shown 4.3)."""
    by_unit: dict[str, dict[str, tuple[str, int | None, dict[str, float | None]]]] = {
        "a1": {"dept": ("Avdelning", 8, {"OSA-WL1": 3.4, "OSA-SP1": 3.0}),
               "alfa": ("Alfa", 4, {"OSA-WL1": 2.5, "OSA-SP1": 4.0}),
               "beta": ("Beta", 4, {"OSA-WL1": 4.3, "OSA-SP1": 2.0})},
        "a2": {"dept": ("Avdelning", 8, {"OSA-WL1": 3.8, "OSA-PR1": 3.0}),
               "alfa": ("Alfa", 4, {"OSA-WL1": 3.5, "OSA-PR1": 3.0}),
               "beta": ("Beta", 4, {"OSA-WL1": 4.0, "OSA-PR1": 3.0})},
        "b1": {"dept": ("Avdelning", 8, {"OSA-WL1": 3.4}),
               "alfa": ("Alfa", 4, {"OSA-WL1": 1.8}),
               "beta": ("Beta", 4, {"OSA-WL1": 5.0})},
        "a3": {"dept": ("Avdelning", 8, {"OSA-SP1": 4.0, "OSA-PR1": 3.0}),
               "alfa": ("Alfa", 4, {"OSA-SP1": 5.0, "OSA-PR1": 4.0}),
               "beta": ("Beta", 4, {"OSA-SP1": 3.0, "OSA-PR1": 2.0})}}
    ids = {"dept": made.dept.id, "alfa": made.alfa.id, "beta": made.beta.id}
    return {label: {ids[u]: (name, "total", True, n, means) for u, (name, n, means) in cells.items() if u in units}
            for label, cells in by_unit.items()}


def test_a_period_is_the_newest_release_of_every_round_closed_from_its_start_up_to_its_end(session: Session,
                                                                                           made: Rounds) -> None:
    """A round closing exactly at the start is in, one closing exactly at the end is out; rounds of both surveys, in
    closing order (a2 and b1 closed together: survey A first, though b1 was opened later); a1 as corrected; units
    outside the scope (beta) and units no round covered (Kommun) are not there."""
    closed = made.closed
    assert closed["a1"] < closed["a2"] == closed["b1"] < closed["a3"]
    scope = Scope(False, frozenset({made.root.id, made.dept.id, made.alfa.id}))
    asked = [made.beta.id, made.alfa.id, made.dept.id, made.root.id]
    expected = _expected(made, ("dept", "alfa"))
    tick = dt.timedelta(microseconds=1)

    periods = disclosure.period_cells(session, asked, closed["a1"], closed["a3"], scope)
    assert [(p.release.id, p.release.version, p.release.survey_name, p.release.round_number) for p in periods] == [
        (made.releases["a1"], 2, "Puls A", 1), (made.releases["a2"], 1, "Puls A", 2),
        (made.releases["b1"], 1, "Puls B", 1)]
    assert made.replaced not in {p.release.id for p in periods}
    assert [_shown(p) for p in periods] == [expected["a1"], expected["a2"], expected["b1"]]

    later = disclosure.period_cells(session, asked, closed["a1"] + tick, closed["a3"] + tick, scope)
    assert [p.release.id for p in later] == [made.releases[label] for label in ("a2", "b1", "a3")]
    assert [_shown(p) for p in later] == [expected["a2"], expected["b1"], expected["a3"]]

    assert disclosure.period_cells(session, asked, closed["a1"] - 2 * tick, closed["a1"], scope) == []
    assert disclosure.period_cells(session, [made.beta.id], closed["a1"], closed["a3"], scope) == []
    assert disclosure.period_cells(session, [made.root.id], closed["a1"], closed["a3"], scope) == []


def test_a_period_reads_units_by_the_five_hundred(session: Session, made: Rounds) -> None:
    """The units are read 500 at a time: the first unit, the 501st and the 1001st are each found (ids that are no
    unit fill the places between them)."""
    filler = iter(range(10**6, 10**6 + 1000))
    asked = [made.dept.id, *(next(filler) for _ in range(499)), made.alfa.id, *(next(filler) for _ in range(499)),
             made.beta.id]
    assert asked.index(made.alfa.id) == 500 and asked.index(made.beta.id) == 1000
    closed = made.closed["a3"]
    periods = disclosure.period_cells(session, asked, closed, closed + dt.timedelta(days=1), EVERYTHING)
    assert [p.release.id for p in periods] == [made.releases["a3"]]
    assert _shown(periods[0]) == _expected(made)["a3"]


def test_a_question_in_every_round_that_asked_it(session: Session, made: Rounds) -> None:
    """One question for one unit: the newest release of every round of every survey that asked it, oldest first
    (a2 before b1, closed together: the round opened first); rounds that rotated it out are left out."""
    scope = Scope(False, frozenset({made.dept.id, made.alfa.id}))
    points = disclosure.question_series(session, made.alfa.id, "OSA-WL1", scope)
    assert [(p.release.id, p.release.survey_name, p.question.code, p.figures.n, p.figures.mean) for p in points] == [
        (made.releases["a1"], "Puls A", "OSA-WL1", 4, 2.5), (made.releases["a2"], "Puls A", "OSA-WL1", 4, 3.5),
        (made.releases["b1"], "Puls B", "OSA-WL1", 4, 1.8)]
    points = disclosure.question_series(session, made.dept.id, "OSA-SP1", scope)
    assert [(p.release.id, p.question.code, p.question.scale, p.figures.mean) for p in points] == [
        (made.releases["a1"], "OSA-SP1", "agree5", 3.0), (made.releases["a3"], "OSA-SP1", "agree5", 4.0)]
    assert disclosure.question_series(session, made.root.id, "OSA-WL1", EVERYTHING) == []
    assert disclosure.question_series(session, made.alfa.id, "OSA-NPS", scope) == []
    with pytest.raises(disclosure.NotVisibleError):
        disclosure.question_series(session, made.beta.id, "OSA-WL1", scope)


def test_a_trend_is_one_surveys_rounds(session: Session, made: Rounds) -> None:
    """A unit's trend in survey A holds A's rounds only (not b1, which covered the unit too), each point carrying
    its round; a question a round rotated out is a gap."""
    scope = Scope(False, frozenset({made.alfa.id}))
    trend = disclosure.trend(session, made.survey_a.id, made.alfa.id, scope)
    a = [made.releases[label] for label in ("a1", "a2", "a3")]
    assert trend.survey_name == "Puls A" and [r.id for r in trend.releases] == a
    assert {code: [(p.release.id, p.figures.mean) for p in points] for code, points in trend.series.items()} == {
        "OSA-WL1": list(zip(a, [2.5, 3.5, None], strict=True)),
        "OSA-SP1": list(zip(a, [4.0, None, 5.0], strict=True)),
        "OSA-PR1": list(zip(a, [None, 3.0, 4.0], strict=True))}
    other = disclosure.trend(session, made.survey_b.id, made.alfa.id, scope)
    assert other.survey_name == "Puls B" and [r.id for r in other.releases] == [made.releases["b1"]]
    assert [p.figures.mean for p in other.series["OSA-WL1"]] == [1.8]


def _exact(mean: float, sd: float | None, n: int | None) -> Figures:
    return Figures(Form.EXACT, 1, n=n, mean=mean, sd=sd)


def test_compare_is_welchs_difference_of_two_shown_figures() -> None:
    """2.5 → 3.5 with SD 1.0 and 10 answers each: a difference of 1.0, standard error √(0.1 + 0.1) = 0.4472, so
    1.0 ± 1.96 × 0.4472 = 0.1235 … 1.8765. Hidden figures, bounds, one answer or no SD give no change."""
    found = disclosure.compare(_exact(2.5, 1.0, 10), _exact(3.5, 1.0, 10))
    assert found is not None
    assert (found.difference, found.low, found.high) == pytest.approx((1.0, 0.1235, 1.8765), abs=1e-4)
    assert found.clear
    hidden, bound = Figures(), Figures(Form.BOUND, 1, censor="low")
    for before, after in ((hidden, _exact(3.5, 1.0, 10)), (_exact(2.5, 1.0, 10), hidden),
                          (bound, _exact(3.5, 1.0, 10)), (_exact(2.5, 1.0, 10), bound),
                          (_exact(2.5, None, 10), _exact(3.5, 1.0, 10)), (_exact(2.5, 1.0, 1), _exact(3.5, 1.0, 10))):
        assert disclosure.compare(before, after) is None


def test_a_periods_cells_do_not_depend_on_the_order_rows_come_in(session: Session, made: Rounds) -> None:
    """Only whole-unit cells: the department's remainder (nobody directly in it: no figures) never stands in for its
    total, whichever order the database returns rows in — SQLite's reversed, or PostgreSQL's sequential scans and
    nested loops (the order the cells were stored, a total before its remainder) instead of the primary key's order,
    which lists a remainder before its total."""
    closed = made.closed["a3"]
    with rows_in_another_order(session):
        periods = disclosure.period_cells(session, [made.dept.id, made.alfa.id, made.beta.id], closed,
                                          closed + dt.timedelta(days=1), EVERYTHING)
        assert [_shown(p) for p in periods] == [_expected(made)["a3"]]
