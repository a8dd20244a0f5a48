"""The disclosure gate (pulse/disclosure.py): pooled periods, from outside.

One office (teams A and B, four people each, everyone answering every round, k = 3) in a survey pooled in blocks of
two rounds, twelve weekly rounds, pooled through the real path (``pooling.compute_pooled``): rounds 3–4 twice
(versions 1 and 2), rounds 9–10 and rounds 11–12. As strings "rounds-11-12" < "rounds-3-4" < "rounds-9-10"; in time
they come 3–4, 9–10, 11–12. Another survey's four rounds come first, so a round's id is its number + 4.

The questions: OSA-WL1, a sensitive one (X-SENS) and one whose wording changes (X-ED). Both custom questions get a
new wording between rounds 3 and 4, so rounds 3–4 pool OSA-WL1 alone; round 9 asks them in another order than they
were made, round 10 on in a third; X-ED changes again between rounds 11 and 12, so only rounds 9–10 pool it. Every
figure expected is worked out by hand from the answers below.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse import disclosure
from pulse.common.config import Thresholds
from pulse.domain.pooling import Period, from_key
from pulse.domain.questionbank import BANK
from pulse.models import PooledRelease, PooledReleaseCell, Question, Round, Survey
from pulse.services import answers as answer_service
from pulse.services import pooling
from pulse.services import questions as question_service
from pulse.services.org import Scope
from pulse.services.surveys import survey_input, update_survey
from tests.factories import make_person, make_unit, rows_in_another_order
from tests.rounds import MONDAY, TZ, close_when_due, keys, make_survey, open_with_credentials

K = 3
WL = "OSA-WL1"
EVERYONE = Scope(True, frozenset())
#: Each team member's answer to every question: rounds 11 and 12 one higher (means 3.0, then 4.0; SD 0.8, n 8).
ANSWERS = (2, 3, 3, 4)
#: The survey's questions in another order from round 9, and again from round 10 (neither their order of creation).
ORDER = {9: ("X-SENS", "X-ED", WL), 10: (WL, "X-SENS", "X-ED")}
#: When the pooled releases were made, by period and version.
MADE = {("rounds-3-4", 1): MONDAY + dt.timedelta(days=100), ("rounds-9-10", 1): MONDAY + dt.timedelta(days=101),
        ("rounds-11-12", 1): MONDAY + dt.timedelta(days=102), ("rounds-3-4", 2): MONDAY + dt.timedelta(days=103)}


def custom(text: str, *, sensitive: bool) -> question_service.QuestionInput:
    return question_service.QuestionInput("workload", "agree5", f"{text} (sv)", text, allow_skip=False,
                                          sensitive=sensitive, reverse=False)


def reword(session: Session, code: str, text: str, *, sensitive: bool) -> None:
    current = session.scalars(select(Question).where(Question.code == code, Question.current.is_(True))).one()
    question_service.edit_question(session, current, custom(text, sensitive=sensitive))
    session.commit()


def run_round(session: Session, app: Flask, survey: Survey, people: list[str], now: dt.datetime, *,
              step: int = 0) -> Round:
    """One round opened at ``now``, answered by ``people`` (the i-th ``ANSWERS[i % 4] + step`` to every question),
    closed and released."""
    opened = open_with_credentials(session, app, survey, now=now)
    asked = [q.question.code for q in opened.round.questions]
    for i, email in enumerate(people):
        link, _ = opened.credentials[email]
        answer_service.submit(session, keys(app).token, link, {code: ANSWERS[i % 4] + step for code in asked}, None,
                              now=now)
    rnd = close_when_due(session, app, opened.round.id)
    return rnd


@pytest.fixture
def pooled(session: Session, app: Flask) -> dict[str, int]:
    """The office's units, the survey and the annex (a unit in no pooled release) by name."""
    root = make_unit(session, "root", "Kommun")
    office = make_unit(session, "office", "Kontoret", root)
    teams = {name: make_unit(session, name.lower(), f"Team {name}", office) for name in ("A", "B")}
    annex = make_unit(session, "annex", "Annexet", root)
    people = [make_person(session, f"{name.lower()}{i}@example.org", unit=team, password=None).email
              for name, team in teams.items() for i in range(4)]
    for i in range(K):
        make_person(session, f"annex{i}@example.org", unit=annex, password=None)
    session.commit()
    other = make_survey(session, [annex], questions=("OSA-SU1",), min_group_size=K, min_dist_size=K,
                        min_comment_size=K)
    for week in range(4):
        run_round(session, app, other, ["annex0@example.org"], MONDAY + dt.timedelta(days=7 * week))
    question_service.add_question(session, "X-SENS", custom("Sensitive", sensitive=True))
    question_service.add_question(session, "X-ED", custom("Edited", sensitive=False))
    session.commit()
    survey = make_survey(session, [office], questions=(WL, "X-SENS", "X-ED"), min_group_size=K, min_dist_size=K,
                         min_comment_size=K)
    survey.pooling, survey.pool_rounds = "rounds", 2
    session.commit()
    for week in range(12):
        number = week + 1
        if number == 4:
            reword(session, "X-SENS", "Sensitive, reworded", sensitive=True)
            reword(session, "X-ED", "Edited, reworded", sensitive=False)
        if number in ORDER:
            data = survey_input(survey)
            update_survey(session, survey, type(data)(**{**data.__dict__, "question_codes": ORDER[number]}),
                          floors=Thresholds(3, 3, 3), now=MONDAY + dt.timedelta(days=7 * week), tz=TZ)
            session.commit()
        if number == 12:
            reword(session, "X-ED", "Edited, reworded again", sensitive=False)
        rnd = run_round(session, app, survey, people, MONDAY + dt.timedelta(days=7 * week), step=int(number > 10))
        assert (rnd.number, rnd.id) == (number, number + 4)
    for (key, _version), now in MADE.items():
        pooling.compute_pooled(session, session.get_one(Survey, survey.id), from_key(key), created_by="t",
                               now=now)
        session.commit()
    return {"survey": survey.id, "office": office.id, "A": teams["A"].id, "B": teams["B"].id, "annex": annex.id}


def pooled_id(session: Session, key: str, version: int) -> int:
    found = session.scalar(select(PooledRelease.id).where(PooledRelease.period == key,
                                                          PooledRelease.version == version))
    assert found is not None
    return found


def bank(code: str) -> disclosure.QuestionInfo:
    item = next(q for q in BANK if q.code == code)
    return disclosure.QuestionInfo(code, 1, item.area, item.scale, item.sensitive, item.reverse, item.sv, item.en)


def mine(code: str, version: int, text: str, *, sensitive: bool) -> disclosure.QuestionInfo:
    return disclosure.QuestionInfo(code, version, "workload", "agree5", sensitive, False, f"{text} (sv)", text)


WL_INFO = bank(WL)
SENS_2 = mine("X-SENS", 2, "Sensitive, reworded", sensitive=True)
ED_2 = mine("X-ED", 2, "Edited, reworded", sensitive=False)


def test_the_newest_version_of_each_period_in_time_order_with_what_it_pooled(session: Session,
                                                                            pooled: dict[str, int]) -> None:
    """Each period once, its newest version, ordered by its rounds (not by the key's spelling); each header names
    the rounds, the thresholds and only the questions the period pooled, with their version, in the order its
    first round asked them."""
    survey = pooled["survey"]
    newest = [pooled_id(session, "rounds-3-4", 2), pooled_id(session, "rounds-9-10", 1),
              pooled_id(session, "rounds-11-12", 1)]
    assert disclosure.latest_pooled_ids(session, survey) == newest
    headers = {(info.key, info.version): info for info in (disclosure.period_info(session, i) for i in
               [pooled_id(session, "rounds-3-4", 1), *newest])}
    assert list(headers) == [("rounds-3-4", 1), ("rounds-3-4", 2), ("rounds-9-10", 1), ("rounds-11-12", 1)]
    expected = {"rounds-3-4": (Period("rounds", 0, 1, 2), (3, 4), (WL_INFO,)),
                "rounds-9-10": (Period("rounds", 0, 4, 2), (9, 10), (SENS_2, ED_2, WL_INFO)),
                "rounds-11-12": (Period("rounds", 0, 5, 2), (11, 12), (WL_INFO, SENS_2))}
    for (key, version), info in headers.items():
        assert info.id == pooled_id(session, key, version)
        assert (info.survey_id, info.survey_name) == (survey, "Veckopuls")
        assert (info.period, info.round_numbers, info.questions) == expected[key]
        assert (info.k, info.k_dist, info.created_at) == (K, K, MADE[(key, version)])
    assert disclosure.latest_pooled_ids(session, survey - 1) == []  # the annex's survey pools nothing
    with pytest.raises(disclosure.NotVisibleError):
        disclosure.period_info(session, newest[-1] + 100)


def test_a_pooled_release_frozen_before_its_audit_named_the_questions_shows_none(session: Session,
                                                                                   pooled: dict[str, int]) -> None:
    """Pooled releases frozen before the audit record listed the questions pooled (566ffb4; the gate reads the list
    since b4c7dc5) have no ``questions`` entry: their header names no question rather than failing, and a figure
    is shown only with the question it answers, so their cells' figures stay gaps. Here as a version 2 of rounds
    9–10 with version 1's cells."""
    first = session.get_one(PooledRelease, pooled_id(session, "rounds-9-10", 1))
    audit = json.loads(first.audit)
    del audit["questions"]
    old = PooledRelease(survey_id=first.survey_id, period=first.period, version=2, created_at=first.created_at,
                        created_by="t", min_group_size=K, min_dist_size=K, rounds=first.rounds,
                        audit=json.dumps(audit))
    session.add(old)
    session.flush()
    for cell in session.scalars(select(PooledReleaseCell).where(PooledReleaseCell.pooled_release_id == first.id)):
        session.add(PooledReleaseCell(pooled_release_id=old.id, unit_id=cell.unit_id, kind=cell.kind,
                                      parent_id=cell.parent_id, published=cell.published,
                                      respondents=cell.respondents, invited=cell.invited, stats=cell.stats))
    session.commit()
    info = disclosure.period_info(session, old.id)
    assert (info.key, info.version, info.round_numbers, info.questions) == ("rounds-9-10", 2, (9, 10), ())
    trend = disclosure.pooled_trend(session, pooled["survey"], pooled["A"], EVERYONE)
    assert trend is not None and [p.id for p in trend.periods][1] == old.id
    assert [c.respondents for c in trend.cells] == [8, 8, 8]
    assert {code: [f.mean for f in points] for code, points in trend.series.items()} == {
        WL: [3.0, None, 4.0], "X-SENS": [None, None, 4.0]}


def test_a_team_pooled_period_by_period(session: Session, pooled: dict[str, int]) -> None:
    """Team A: 8 answers in each period (four people, two rounds); every mean 3.0 (SD 0.8) but 4.0 in rounds
    11–12. A question a period did not pool is a gap; the change is from rounds 9–10 to 11–12 only, and none for the
    sensitive question."""
    trend = disclosure.pooled_trend(session, pooled["survey"], pooled["A"], EVERYONE)
    assert trend is not None
    assert (trend.survey_id, trend.survey_name) == (pooled["survey"], "Veckopuls")
    assert [(p.key, p.version) for p in trend.periods] == [("rounds-3-4", 2), ("rounds-9-10", 1),
                                                           ("rounds-11-12", 1)]
    team = (pooled["A"], "total", "Team A", True, 8, 8)
    assert [(c.unit_id, c.kind, c.name, c.published, c.respondents, c.invited) for c in trend.cells] == [team] * 3
    latest, cell = trend.latest
    assert latest.key == "rounds-11-12" and cell is trend.unit
    assert (trend.unit.unit_id, trend.unit.kind, trend.unit.invited, trend.unit.participation) == (
        pooled["A"], "total", 8, 100)
    assert trend.questions == {WL: WL_INFO, "X-SENS": SENS_2, "X-ED": ED_2}
    shown = {code: [(f.exact, f.mean, f.sd, f.n) for f in points] for code, points in trend.series.items()}
    three, four, gap = (True, 3.0, 0.8, 8), (True, 4.0, 0.8, 8), (False, None, None, None)
    assert shown == {WL: [three, three, four], "X-SENS": [gap, three, four], "X-ED": [gap, three, gap]}
    assert set(trend.changes) == {WL, "X-SENS", "X-ED"}
    assert trend.changes["X-SENS"] is None and trend.changes["X-ED"] is None
    found = trend.changes[WL]
    assert found is not None  # 4.0 − 3.0 ± 1.96 · √(0.8²/8 + 0.8²/8)
    assert (found.difference, found.low, found.high) == pytest.approx((1.0, 0.216, 1.784), abs=1e-3)


def test_a_unit_with_a_remainder_shows_its_total(session: Session, pooled: dict[str, int]) -> None:
    """The office has a total and a remainder cell (nobody directly in it) in every period: its trend is its total
    — both teams, 16 answers."""
    trend = disclosure.pooled_trend(session, pooled["survey"], pooled["office"], EVERYONE)
    assert trend is not None
    assert [(c.unit_id, c.kind, c.name, c.respondents, c.invited) for c in trend.cells] == [
        (pooled["office"], "total", "Kontoret", 16, 16)] * 3
    assert [f.mean for f in trend.series[WL]] == [3.0, 3.0, 4.0]
    with rows_in_another_order(session):  # not because the database lists a remainder before its total
        again = disclosure.pooled_trend(session, pooled["survey"], pooled["office"], EVERYONE)
        assert again is not None and [(c.kind, c.respondents) for c in again.cells] == [("total", 16)] * 3


def test_what_the_pooled_trend_does_not_show(session: Session, pooled: dict[str, int]) -> None:
    """An unknown survey or unit, or a unit outside the viewer's scope, is not visible; a unit no pooled release
    holds, or a survey pooled never, has no pooled trend."""
    survey, team_a = pooled["survey"], pooled["A"]
    team_a_manager = Scope(False, frozenset({team_a}))
    for survey_id, unit_id, scope in ((survey + 100, team_a, EVERYONE), (survey, pooled["annex"] + 100, EVERYONE),
                                      (survey, pooled["B"], team_a_manager),
                                      (survey, pooled["office"], team_a_manager)):
        with pytest.raises(disclosure.NotVisibleError):
            disclosure.pooled_trend(session, survey_id, unit_id, scope)
    mine_only = disclosure.pooled_trend(session, survey, team_a, team_a_manager)
    assert mine_only is not None and mine_only.unit.name == "Team A"
    assert disclosure.pooled_trend(session, survey, pooled["annex"], EVERYONE) is None
    assert disclosure.pooled_trend(session, survey - 1, pooled["annex"], EVERYONE) is None
