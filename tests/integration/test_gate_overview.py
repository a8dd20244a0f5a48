"""The disclosure gate (pulse/disclosure.py): one unit's overview page (:func:`pulse.disclosure.unit_result`) — the
strengths and concerns, the index, the flags, the breadcrumbs, the parts and the release it compares with — checked
against values worked out by hand from answers chosen so that every threshold is met exactly where it matters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse import disclosure
from pulse.models import Release, Round, Survey, Unit
from pulse.services import answers as answer_service
from pulse.services.org import Scope
from pulse.services.releases import compute_release
from tests.factories import make_person, make_unit
from tests.rounds import MONDAY, close_when_due, keys, make_survey, open_with_credentials

EVERYTHING = Scope(True, frozenset())
#: In the order the survey asks them: seven agree5 items (OSA-RE1 is freq5 and reversed), a sensitive yes/no item
#: and the eNPS item.
QUESTIONS = ("OSA-WL1", "OSA-WL2", "OSA-PR1", "OSA-SU1", "OSA-RC1", "OSA-RE1", "OSA-IN1", "OSA-VI1", "OSA-NPS")

#: Three answers per question for each team of three (k = k_dist = 3, so every mean is shown exactly, with its SD).
#: Score = (mean − 1) / 4 on agree5, 1 − that on the reversed OSA-RE1, mean / 10 on eNPS.
ANSWERS: dict[str, dict[str, tuple[int, int, int]]] = {
    # Scores: WL1 0, WL2 .075, PR1 .175, SU1 .25 (a fourth below .75), NPS .3, RC1 .5 (third best, exactly .5),
    # RE1 .825 (mean 1.7, reversed), IN1 1. One "yes" to the sensitive item: a flag.
    "alfa": {"OSA-WL1": (1, 1, 1), "OSA-WL2": (1, 1, 2), "OSA-PR1": (1, 2, 2), "OSA-SU1": (2, 2, 2),
             "OSA-RC1": (3, 3, 3), "OSA-RE1": (1, 2, 2), "OSA-IN1": (5, 5, 5), "OSA-VI1": (1, 0, 0),
             "OSA-NPS": (3, 3, 3)},
    # Scores: WL1 .25, WL2 .425, PR1 .75 (third lowest, exactly .75: no concern), NPS .8, SU1 .825, RC1 .925,
    # RE1 1 (mean 1.0, reversed), IN1 1: five strengths to choose three from.
    "beta": {"OSA-WL1": (2, 2, 2), "OSA-WL2": (2, 3, 3), "OSA-PR1": (4, 4, 4), "OSA-SU1": (4, 4, 5),
             "OSA-RC1": (4, 5, 5), "OSA-RE1": (1, 1, 1), "OSA-IN1": (5, 5, 5), "OSA-VI1": (0, 0, 0),
             "OSA-NPS": (8, 8, 8)},
    # Scores: WL1 0, WL2 .075, PR1 .175, SU1 .25, RC1 .325, NPS .4, RE1 .425 (mean 3.3, reversed), IN1 .5: the
    # three best are not concerns, but only IN1 is good enough to be a strength.
    "gamma": {"OSA-WL1": (1, 1, 1), "OSA-WL2": (1, 1, 2), "OSA-PR1": (1, 2, 2), "OSA-SU1": (2, 2, 2),
              "OSA-RC1": (2, 2, 3), "OSA-RE1": (3, 3, 4), "OSA-IN1": (3, 3, 3), "OSA-VI1": (0, 0, 0),
              "OSA-NPS": (4, 4, 4)},
}
#: The section's and the department's own three people each (their remainders).
ANSWERS["sect"] = ANSWERS["dept"] = {code: (3, 3, 3) for code in QUESTIONS[:7]} | {"OSA-VI1": (0, 0, 0),
                                                                                   "OSA-NPS": (5, 5, 5)}


@dataclass
class Made:
    dept: Unit
    sect: Unit
    teams: dict[str, Unit]
    survey: Survey
    #: Survey A's rounds, oldest first.
    rounds: list[Round]
    #: round id → its release ids, oldest version first (survey A's rounds and survey B's one round).
    versions: dict[int, list[int]]
    other_round: Round


def _close(session: Session, app: Flask, rnd: Round) -> Round:
    return close_when_due(session, app, rnd.id)


@pytest.fixture
def made(session: Session, app: Flask) -> Made:
    """Avdelning → Sektionen → Alfa, Beta, Gamma: three people each, the two above the teams three of their own. Survey A (the nine
    questions, k = k_dist = 3) has three released rounds with the same answers; its first round has a second
    version. Survey B covers the same units and its one round (number 1 like A's first) has three versions, so
    B's round is the newest version of an earlier-numbered round if the survey is not looked at."""
    root = make_unit(session, "root", "Kommun")
    dept = make_unit(session, "dept", "Avdelning", root)
    sect = make_unit(session, "sect", "Sektionen", dept)
    teams = {name: make_unit(session, name, name.title(), sect) for name in ("alfa", "beta", "gamma")}
    homes = {**teams, "sect": sect, "dept": dept}
    for name, unit in homes.items():
        for i in range(3):
            make_person(session, f"{name}{i}@example.org", unit=unit, password=None)
    session.commit()
    survey = make_survey(session, [dept], questions=QUESTIONS, min_group_size=3, min_dist_size=3)
    rounds: list[Round] = []
    versions: dict[int, list[int]] = {}
    now = MONDAY
    for _ in range(3):
        opened = open_with_credentials(session, app, survey, now=now)
        for name, answers in ANSWERS.items():
            for i in range(3):
                link, _ = opened.credentials[f"{name}{i}@example.org"]
                values = {code: values[i] for code, values in answers.items()}
                answer_service.submit(session, keys(app).token, link, dict(values), None, now=now)
        session.commit()
        rnd = _close(session, app, opened.round)
        rounds.append(rnd)
        now = rnd.closes_at + dt.timedelta(days=3)
    other = make_survey(session, [dept], name="Årsenkät", questions=("OSA-WL1",))
    other_round = _close(session, app, open_with_credentials(session, app, other, now=now).round)
    for rnd, more in ((rounds[0], 1), (other_round, 2)):
        for _ in range(more):
            compute_release(session, rnd, created_by="test", now=now)
    session.commit()
    for release in session.scalars(select(Release).order_by(Release.version)):
        versions.setdefault(release.round_id, []).append(release.id)
    assert [len(versions[r.id]) for r in (*rounds, other_round)] == [2, 1, 1, 3]
    return Made(dept, sect, teams, survey, rounds, versions, other_round)


def _codes(rows: list[disclosure.QuestionRow]) -> list[str]:
    return [row.question.code for row in rows]


def _result(session: Session, made: Made, unit: Unit, scope: Scope = EVERYTHING,
            round_index: int = 1) -> disclosure.UnitResult:
    return disclosure.unit_result(session, made.versions[made.rounds[round_index].id][-1], unit.id, scope)


def test_strengths_and_concerns_meet_their_thresholds_exactly(session: Session, made: Made) -> None:
    """At most three concerns, the lowest scores below .75 (.75 itself is not a concern); at most three strengths,
    the best scores from .5 up (.5 itself is one) that are not concerns — reversed items and eNPS scored on their
    own scales, the sensitive item never ranked."""
    alfa = _result(session, made, made.teams["alfa"])
    assert _codes(alfa.concerns) == ["OSA-WL1", "OSA-WL2", "OSA-PR1"]
    assert _codes(alfa.strengths) == ["OSA-IN1", "OSA-RE1", "OSA-RC1"]
    beta = _result(session, made, made.teams["beta"])
    assert _codes(beta.concerns) == ["OSA-WL1", "OSA-WL2"]
    assert _codes(beta.strengths) == ["OSA-IN1", "OSA-RE1", "OSA-RC1"]
    gamma = _result(session, made, made.teams["gamma"])
    assert _codes(gamma.concerns) == ["OSA-WL1", "OSA-WL2", "OSA-PR1"]
    assert _codes(gamma.strengths) == ["OSA-IN1"]


def test_the_index_flags_and_rows_of_a_team(session: Session, made: Made) -> None:
    """The index is the mean position of the published agree5 and freq5 means (reversed items flipped), without the
    eNPS and the sensitive item: Alfa (0 + 7.5 + 17.5 + 25 + 50 + 82.5 + 100) / 7 = 40.36 → 40, Beta
    (25 + 42.5 + 75 + 82.5 + 92.5 + 100 + 100) / 7 = 73.93 → 74, Gamma (0 + 7.5 + 17.5 + 25 + 32.5 + 42.5 + 50) / 7
    = 25. A flag is a yes/no item someone answered yes to, shown."""
    alfa, beta, gamma = (_result(session, made, made.teams[name]) for name in ("alfa", "beta", "gamma"))
    assert (alfa.index, beta.index, gamma.index) == (40, 74, 25)
    assert _codes(alfa.flags) == ["OSA-VI1"] and alfa.flags[0].now.yes == 33
    assert beta.flags == [] and gamma.flags == []
    assert _codes(alfa.rows) == list(QUESTIONS)
    assert [row.now.mean for row in alfa.rows] == [1.0, 1.3, 1.7, 2.0, 3.0, 1.7, 5.0, None, 3.0]
    wl1 = alfa.rows[0]
    assert wl1.question.text("sv") == "Jag hinner med mina arbetsuppgifter under min vanliga arbetstid."
    assert wl1.question.text("en") == "I can get my work done within my normal working hours."
    # The same answers a round before: no change, and an interval around it.
    assert wl1.before.mean == 1.0 and wl1.change is not None and wl1.change.difference == 0


def test_breadcrumbs_parts_and_remainder(session: Session, made: Made) -> None:
    """The breadcrumbs walk up the parents, top first, as far as the viewer's scope goes; a unit's parts are its
    children by name and its own people (the remainder), which a team without people of its own lacks."""
    sect = _result(session, made, made.sect)
    assert [c.name for c in sect.breadcrumbs] == ["Avdelning"]
    assert [c.name for c in sect.children] == ["Alfa", "Beta", "Gamma"]
    assert sect.remainder is not None
    assert (sect.remainder.unit_id, sect.remainder.kind, sect.remainder.respondents) == (made.sect.id, "remainder", 3)
    assert sect.unit.respondents == 12
    alfa = _result(session, made, made.teams["alfa"])
    assert [c.name for c in alfa.breadcrumbs] == ["Avdelning", "Sektionen"]
    assert alfa.children == [] and alfa.remainder is None
    section_only = Scope(False, frozenset({made.sect.id, *(t.id for t in made.teams.values())}))
    assert [c.name for c in _result(session, made, made.teams["alfa"], section_only).breadcrumbs] == ["Sektionen"]
    assert _result(session, made, made.sect, section_only).breadcrumbs == []


def test_the_previous_release_is_the_newest_version_of_the_surveys_round_before(session: Session,
                                                                                  made: Made) -> None:
    """Round 2 compares with round 1's second version (not the first, not survey B's round 1 in its third version);
    round 3 with round 2 (not round 1, whose version number is higher); round 1 with nothing."""
    first, second = (made.versions[r.id] for r in made.rounds[:2])
    found = _result(session, made, made.sect, round_index=1).previous
    assert found is not None and (found.id, found.version, found.round_number) == (first[1], 2, 1)
    assert found.survey_id == made.survey.id
    found = _result(session, made, made.sect, round_index=2).previous
    assert found is not None and (found.id, found.version, found.round_number) == (second[0], 1, 2)
    assert _result(session, made, made.sect, round_index=0).previous is None
    assert disclosure.unit_result(session, first[0], made.sect.id, EVERYTHING).previous is None


def test_round_unit_reads_the_newest_version(session: Session, made: Made) -> None:
    """The respondent's "my unit's results" shows the round's newest release, and a unit not in it as hidden."""
    first = made.rounds[0]
    found = disclosure.round_unit(session, first.id, made.teams["alfa"].id)
    assert found is not None and found.release.id == made.versions[first.id][1] and found.name == "Alfa"
    assert found.figures["OSA-SU1"].mean == 2.0 and found.figures["OSA-NPS"].mean == 3.0
    root = session.scalar(select(Unit).where(Unit.key == "root"))
    assert root is not None
    outside = disclosure.round_unit(session, first.id, root.id)
    assert outside is not None and outside.name is None and all(f.hidden for f in outside.figures.values())
