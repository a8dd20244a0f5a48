"""The gate's functions for comments and for the respondent's "my unit's results" (pulse.disclosure): the same scope
and visibility rules as every other published thing — a unit outside the scope, or not in the release, is not there."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse import disclosure
from pulse.models import Comment, Release, Round, Survey, Unit
from pulse.services import answers as answer_service
from pulse.services import comments as comment_service
from pulse.services.org import Scope
from pulse.services.releases import compute_release
from tests.factories import make_person, make_unit
from tests.rounds import close_when_due, keys, make_survey, open_with_credentials

EVERYTHING = Scope(True, frozenset())
TEAMS = ("alfa", "beta", "gamma")


def _round(session: Session, app: Flask, survey_id: int, label: str, now: dt.datetime) -> Round:
    """One closed round in which everyone answers with a comment naming their team and the round."""
    survey = session.get_one(Survey, survey_id)
    opened = open_with_credentials(session, app, survey, now=now)
    for name in TEAMS:
        for i in range(4):
            link, _ = opened.credentials[f"{name}{i}@example.org"]
            answer_service.submit(session, keys(app).token, link, {"OSA-WL1": 3}, f"{label} {name} {i}", now=now)
    rnd = close_when_due(session, app, opened.round.id)
    return rnd


@pytest.fixture
def made(session: Session, app: Flask) -> dict[str, object]:
    """A department with three teams of four (k_comments = 3, so each team is its comments' home); two rounds.
    Round 1: alfa's comments released, one of beta's redacted and the rest withheld, gamma's still pending.
    Round 2: everything released."""
    root = make_unit(session, "root", "Kommun")
    dept = make_unit(session, "dept", "Avdelning", root)
    units = {name: make_unit(session, name, name.title(), dept) for name in TEAMS}
    for name, unit in units.items():
        for i in range(4):
            make_person(session, f"{name}{i}@example.org", unit=unit, password=None)
    session.commit()
    survey = make_survey(session, [dept], questions=("OSA-WL1",))
    first = _round(session, app, survey.id, "first", survey.next_open_at or dt.datetime.now(dt.UTC))
    second = _round(session, app, survey.id, "second", first.closes_at + dt.timedelta(days=3))
    k = keys(app)
    with app.app_context():
        for rnd, decide in ((first, {"alfa": "released", "beta": "withheld", "gamma": "pending"}),
                            (second, {"alfa": "released", "beta": "released", "gamma": "released"})):
            for name, decision in decide.items():
                ids = list(session.scalars(select(Comment.id).where(Comment.round_id == rnd.id,
                                                                    Comment.home_unit_id == units[name].id)))
                assert len(ids) == 4
                for comment_id in ids:
                    comment_service.moderate(session, k, EVERYTHING, comment_id, decision)
                if rnd is first and name == "beta":
                    comment_service.moderate(session, k, EVERYTHING, ids[0], "redacted", "beta, redacted")
    session.commit()
    releases = {r.round_id: r.id for r in session.scalars(select(Release))}
    return {"dept": dept, "root": root, "units": units, "first": first, "second": second, "releases": releases,
            "keys": k}


def _comments(session: Session, made: dict[str, object], unit: Unit, scope: Scope, rnd: str = "first") -> list[str]:
    release = made["releases"][made[rnd].id]  # type: ignore[index, attr-defined]
    found = disclosure.unit_comments(session, made["keys"], release, unit.id, scope)  # type: ignore[arg-type]
    assert found.unit.unit_id == unit.id and found.release.id == release
    return sorted(found.texts)


def test_comments_follow_moderation_round_and_scope(session: Session, made: dict[str, object]) -> None:
    units: dict[str, Unit] = made["units"]  # type: ignore[assignment]
    dept: Unit = made["dept"]  # type: ignore[assignment]
    # Released and redacted only, of this round only.
    assert _comments(session, made, dept, EVERYTHING) == ["beta, redacted", *(f"first alfa {i}" for i in range(4))]
    assert len(_comments(session, made, dept, EVERYTHING, "second")) == 12
    # A manager of alfa sees alfa's, and the department is outside their scope: not there at all.
    alfa_only = Scope(False, frozenset({units["alfa"].id}))
    assert _comments(session, made, units["alfa"], alfa_only) == [f"first alfa {i}" for i in range(4)]
    with pytest.raises(disclosure.NotVisibleError):
        _comments(session, made, dept, alfa_only)
    with pytest.raises(disclosure.NotVisibleError):
        _comments(session, made, units["beta"], alfa_only)
    # A scope holding the department and alfa but not beta: beta's comments are not shown at the department.
    partial = Scope(False, frozenset({dept.id, units["alfa"].id}))
    assert _comments(session, made, dept, partial) == [f"first alfa {i}" for i in range(4)]
    # Nobody's scope: nothing.
    with pytest.raises(disclosure.NotVisibleError):
        _comments(session, made, dept, Scope(False, frozenset()))


def test_comments_of_unknown_releases_and_units_are_not_there(session: Session, made: dict[str, object]) -> None:
    release = made["releases"][made["first"].id]  # type: ignore[index, attr-defined]
    root: Unit = made["root"]  # type: ignore[assignment]
    for release_id, unit_id in ((release, 999_999), (999_999, root.id), (release, root.id)):
        # The root is above the round's units, so it is not in the release either.
        with pytest.raises(disclosure.NotVisibleError):
            disclosure.unit_comments(session, made["keys"], release_id, unit_id, EVERYTHING)  # type: ignore[arg-type]


def test_round_unit_is_what_every_page_shows_of_that_unit(session: Session, app: Flask,
                                                          made: dict[str, object]) -> None:
    units: dict[str, Unit] = made["units"]  # type: ignore[assignment]
    first: Round = made["first"]  # type: ignore[assignment]
    release = made["releases"][first.id]  # type: ignore[index]
    found = disclosure.round_unit(session, first.id, units["alfa"].id)
    assert found is not None and found.release.id == release and found.name == "Alfa"
    page = disclosure.unit_result(session, release, units["alfa"].id, EVERYTHING)
    assert found.figures == {r.question.code: r.now for r in page.rows}
    assert set(found.figures) == {q.code for q in found.release.questions}
    # A unit not in the release: every figure hidden, no name.
    outside = disclosure.round_unit(session, first.id, made["root"].id)  # type: ignore[attr-defined]
    assert outside is not None and outside.name is None and all(f.hidden for f in outside.figures.values())
    # No release yet (an unknown round, as an open one): None.
    assert disclosure.round_unit(session, 999_999, units["alfa"].id) is None
    # A correction: the newest version.
    rnd = session.get_one(Round, first.id)
    newer = compute_release(session, rnd, created_by="test", now=rnd.closes_at + dt.timedelta(days=1))
    session.commit()
    again = disclosure.round_unit(session, first.id, units["alfa"].id)
    assert again is not None and again.release.id == newer.id and again.release.version == 2


def test_round_unit_before_close_is_none(session: Session, app: Flask) -> None:
    dept = make_unit(session, "dept", "Avdelning")
    team = make_unit(session, "team", "Team", dept)
    for i in range(4):
        make_person(session, f"p{i}@example.org", unit=team, password=None)
    session.commit()
    opened = open_with_credentials(session, app, make_survey(session, [dept]))
    assert disclosure.round_unit(session, opened.round.id, team.id) is None


def test_a_trend_read_before_a_round_closes_grows_with_it(session: Session, app: Flask,
                                                          made: dict[str, object]) -> None:
    """Unit cells are cached per release (frozen ones never change): a new release joins the trend at once, a
    unit that a release does not cover stays a gap, and the cached cells are the stored ones."""
    dept: Unit = made["dept"]  # type: ignore[assignment]
    alfa: Unit = made["units"]["alfa"]  # type: ignore[index]
    before = disclosure.trend(session, made["first"].survey_id, dept.id, EVERYTHING)  # type: ignore[attr-defined]
    assert [r.round_number for r in before.releases] == [1, 2]
    third = _round(session, app, made["first"].survey_id, "third",  # type: ignore[attr-defined]
                   made["second"].closes_at + dt.timedelta(days=3))  # type: ignore[attr-defined]
    after = disclosure.trend(session, third.survey_id, dept.id, EVERYTHING)
    assert [r.round_number for r in after.releases] == [1, 2, 3]
    assert [c.respondents for c in after.cells] == [12, 12, 12]
    again = disclosure.trend(session, third.survey_id, dept.id, EVERYTHING)
    assert again.cells == after.cells and [p.figures.mean for p in again.series["OSA-WL1"]] == [3.0, 3.0, 3.0]
    assert disclosure.unit_cells(session, [r.id for r in after.releases], alfa.id).keys() == \
        {r.id for r in after.releases}
    assert disclosure.unit_cells(session, [r.id for r in after.releases], made["root"].id) == {}  # type: ignore[attr-defined]
