"""Pooled periods through the real path (docs/ANONYMITY.md, "Pooled periods"): four weekly rounds answered and
closed, pooled into one release, audited jointly with the rounds' own releases.

The office: team B (10 people, all answering), team A (4 people) and team C (5 people, two answering every round),
k = 3. In the issue's attack team A's three answer in rounds 1, 2 and 4 but two in round 3: hidden in round 3 only,
so the pooled team A minus rounds 1, 2 and 4 would be round 3's. Otherwise three of team A answer every week,
and team C, too small every week, gets pooled figures. The attacker takes what the gate publishes — every round's
release and the pooled one — and solves for every group of atoms (round, unit) with a brute force.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Hashable
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from pulse import scheduler
from pulse.cli import main
from pulse.domain.pooling import Period
from pulse.domain.suppression import Counts
from pulse.models import (
    PooledRelease,
    PooledReleaseCell,
    PoolRefusal,
    Release,
    ReleaseCell,
    Round,
    RoundParticipation,
    Survey,
)
from pulse.services import answers as answer_service
from pulse.services import pooling
from pulse.services.releases import ReleaseError, compute_release, purge_raw_answers
from tests.factories import make_person, make_unit
from tests.rounds import MONDAY, keys, make_survey, open_with_credentials

K = 3
WL = "OSA-WL1"
#: per round: how many of each team answer
ANSWERING = {"A": (3, 3, 3, 3), "B": (10, 10, 10, 10), "C": (2, 2, 2, 2)}
#: the issue's attack: team A hidden in round 3 only
HIDDEN_IN_3 = {**ANSWERING, "A": (3, 3, 2, 3)}
SIZES = {"A": 4, "B": 10, "C": 5}


@dataclass
class Period4:
    survey_id: int
    units: dict[str, int]
    rounds: list[int]  # round ids, in order
    #: (round number, unit id) → (answered, invited)
    atoms: dict[Hashable, Counts]


def four_rounds(session: Session, app: Flask, *, close_last: bool = True,
                answering: dict[str, tuple[int, ...]] = ANSWERING) -> Period4:
    root = make_unit(session, "root", "Kommun")
    office = make_unit(session, "office", "Kontoret", root)
    teams = {name: make_unit(session, name.lower(), f"Team {name}", office) for name in SIZES}
    for name, size in SIZES.items():
        for i in range(size):
            make_person(session, f"{name.lower()}{i}@example.org", unit=teams[name], password=None)
    make_person(session, "admin@example.org", unit=root, admin=True, language="en")
    make_person(session, "chef@example.org", unit=root, manages=[office])  # the office's manager, not invited
    session.commit()
    survey = make_survey(session, [office], min_group_size=K, min_dist_size=K, min_comment_size=K)
    survey.pooling, survey.pool_rounds = "rounds", 4
    session.commit()
    rounds = []
    for week in range(4):
        opened = open_with_credentials(session, app, survey, now=MONDAY + dt.timedelta(days=7 * week))
        for name, per_round in answering.items():
            for i in range(per_round[week]):
                link, _ = opened.credentials[f"{name.lower()}{i}@example.org"]
                values = {WL: 1 + (i + week + len(name)) % 5, "OSA-SP1": 2 + i % 3, "OSA-VI1": 0,
                          "OSA-NPS": (i * 3 + week) % 11}
                answer_service.submit(session, keys(app).token, link, values, None, now=opened.round.opened_at)
        session.commit()
        rnd = session.get_one(Round, opened.round.id)
        rounds.append(rnd.id)
        if week < 3 or close_last:
            with app.app_context():
                scheduler.close_round(session, rnd, keys(app), now=rnd.closes_at)
            session.commit()
    atoms: dict[Hashable, Counts] = {}
    for number, round_id in enumerate(rounds, start=1):
        invited = dict(session.execute(select(RoundParticipation.unit_id, RoundParticipation.invited)
                                       .where(RoundParticipation.round_id == round_id)).all())
        for name, unit in teams.items():
            atoms[(number, unit.id)] = Counts(answering[name][number - 1], invited.get(unit.id, 0))
    session.commit()  # end the read transaction: on SQLite it would keep seeing this moment
    return Period4(survey.id, {n: u.id for n, u in teams.items()} | {"office": office.id}, rounds, atoms)


def pooled_cells(session: Session, pooled: PooledRelease) -> dict[tuple[int, str], PooledReleaseCell]:
    return {(c.unit_id, c.kind): c for c in session.scalars(
        select(PooledReleaseCell).where(PooledReleaseCell.pooled_release_id == pooled.id))}


def round_shown(session: Session, made: Period4, unit: str) -> list[bool]:
    return [bool(session.scalar(select(ReleaseCell.published).join(Release).where(
        Release.round_id == r, ReleaseCell.unit_id == made.units[unit], ReleaseCell.kind == "total")))
        for r in made.rounds]


def test_a_unit_too_small_every_round_is_shown_pooled(session: Session, app: Flask) -> None:
    made = four_rounds(session, app)
    survey = session.get_one(Survey, made.survey_id)
    now = MONDAY + dt.timedelta(days=30)
    states = pooling.period_states(session, survey, now=now)
    assert [(s.period.key, len(s.rounds), s.complete) for s in states] == [("rounds-1-4", 4, True)]
    [pooled] = pooling.pool_due(session, survey, now=now)
    session.commit()
    assert pooling.pool_due(session, survey, now=now) == []  # once per period
    cells = pooled_cells(session, pooled)
    assert round_shown(session, made, "C") == [False] * 4
    # Team C: 2 answers a week, never shown; 8 over the period, shown pooled — and so is team A, its complement
    # every week.
    team_c, team_a = cells[(made.units["C"], "total")], cells[(made.units["A"], "total")]
    assert team_c.published and team_c.respondents == 8 and team_c.invited == 20
    assert team_a.published and team_a.respondents == 12


def test_the_issue_pooled_minus_the_published_rounds_is_not_the_hidden_round(session: Session, app: Flask) -> None:
    made = four_rounds(session, app, answering=HIDDEN_IN_3)
    survey = session.get_one(Survey, made.survey_id)
    [pooled] = pooling.pool_due(session, survey, now=MONDAY + dt.timedelta(days=30))
    session.commit()
    assert round_shown(session, made, "A") == [True, True, False, True]
    # Pooled minus rounds 1, 2, 4 would be round 3's: team A's pooled total is not published, nor anything that
    # would give it (team C is its complement in the office's equation).
    cells = pooled_cells(session, pooled)
    team_a = cells[(made.units["A"], "total")]
    assert not team_a.published and team_a.respondents is None and team_a.stats == "{}"
    assert not cells[(made.units["C"], "total")].published
    # The audit record says why, naming the rounds' cells, never a hidden figure.
    record = json.loads(pooled.audit)
    assert any(t.get("round") == 3 or t.get("round") == 1 for e in record["earlier_versions"]["reasons"]
               for t in e["formula"])
    assert "2 respondents" not in pooled.audit


def test_a_round_in_a_pooled_release_gets_no_new_version_and_the_pooling_is_locked(session: Session,
                                                                                  app: Flask) -> None:
    made = four_rounds(session, app)
    survey = session.get_one(Survey, made.survey_id)
    pooling.pool_due(session, survey, now=MONDAY + dt.timedelta(days=30))
    session.commit()
    with pytest.raises(ReleaseError) as refused:
        compute_release(session, session.get_one(Round, made.rounds[1]), created_by="t", now=MONDAY)
    assert refused.value.code == "pooled"
    with pytest.raises(pooling.PoolingError) as locked:
        pooling.set_pooling(session, survey, "rounds", 2)  # rounds 1–2 and 3–4 would overlap rounds 1–4
    assert locked.value.code == "locked"
    assert pooling.set_pooling(session, survey, "rounds", 4) is False  # unchanged is fine
    with pytest.raises(pooling.PoolingError) as invalid:
        pooling.set_pooling(session, survey, "fortnight", None)
    assert invalid.value.code == "invalid"


def test_an_incomplete_period_is_not_pooled(session: Session, app: Flask) -> None:
    made = four_rounds(session, app, close_last=False)
    survey = session.get_one(Survey, made.survey_id)
    assert pooling.pool_due(session, survey, now=MONDAY + dt.timedelta(days=30)) == []
    with pytest.raises(pooling.PoolingError) as refused:
        pooling.compute_pooled(session, survey, Period("rounds", 0, 0, 4), created_by="t", now=MONDAY)
    assert refused.value.code == "incomplete"
    assert session.scalar(select(PooledRelease.id)) is None


def test_the_commands_choose_the_pooling_and_pool(session: Session, app: Flask) -> None:
    made = four_rounds(session, app)
    runner = app.test_cli_runner()
    survey = str(made.survey_id)
    assert "pooling month" in runner.invoke(main, ["survey", "pooling", survey, "month"]).output
    bad = runner.invoke(main, ["survey", "pooling", survey, "rounds", "--rounds", "1"])
    assert bad.exit_code == 1 and "2–13" in bad.output
    assert runner.invoke(main, ["survey", "pooling", survey, "rounds", "--rounds", "4"]).exit_code == 0
    early = runner.invoke(main, ["release", "pool", survey, "--period", "rounds-5-8"])
    assert early.exit_code == 1 and "not complete" in early.output
    done = runner.invoke(main, ["release", "pool", survey])
    assert done.exit_code == 0, done.output
    assert "(rounds-1-4, version 1): audit passed" in done.output
    assert "no complete period" in runner.invoke(main, ["release", "pool", survey]).output
    locked = runner.invoke(main, ["survey", "pooling", survey, "quarter"])
    assert locked.exit_code == 1 and "cannot change" in locked.output
    refused = runner.invoke(main, ["release", "recompute", str(made.rounds[0])])
    assert refused.exit_code == 1 and "pooled release" in refused.output
    assert "in round" not in done.output  # three of team A every week: nothing hidden because of the rounds
    again = runner.invoke(main, ["release", "pool", survey, "--period", "rounds-1-4"])
    assert again.exit_code == 0 and "version 2" in again.output
    session.commit()
    versions = list(session.scalars(select(PooledRelease.version).order_by(PooledRelease.version)))
    assert versions == [1, 2], (done.output, again.output)


def test_the_scheduler_pools_a_period_when_its_last_round_closes(session: Session, app: Flask) -> None:
    made = four_rounds(session, app, close_last=False)
    last = session.get_one(Round, made.rounds[-1])
    with app.app_context():
        report = scheduler.tick(app, now=last.closes_at)
    assert made.rounds[-1] in report.closed and len(report.pooled) == 1, report
    session.commit()
    assert session.scalar(select(PooledRelease.period)) == "rounds-1-4"


def test_a_pooled_release_is_frozen_even_for_sql(session: Session, app: Flask) -> None:
    made = four_rounds(session, app)
    pooling.pool_due(session, session.get_one(Survey, made.survey_id), now=MONDAY + dt.timedelta(days=30))
    session.commit()
    for statement in ("UPDATE pooled_release_cell SET published = TRUE", "DELETE FROM pooled_release_cell",
                      "UPDATE pooled_release SET version = 9", "DELETE FROM pooled_release"):
        with pytest.raises(Exception, match="frozen"):
            session.execute(text(statement))
        session.rollback()


def test_raw_answers_stay_until_their_period_is_pooled(session: Session, app: Flask) -> None:
    """The pooled release is computed from the raw answers: the retention purge waits for it."""
    made = four_rounds(session, app)
    later = MONDAY + dt.timedelta(days=400)
    assert purge_raw_answers(session, now=later, retention_days=30)["rounds"] == 0
    session.commit()
    survey = session.get_one(Survey, made.survey_id)
    assert len(pooling.pool_due(session, survey, now=later)) == 1
    session.commit()
    assert purge_raw_answers(session, now=later, retention_days=30)["rounds"] == 4


def test_the_command_says_why_the_pooled_release_hides_more(session: Session, app: Flask) -> None:
    """Naming the rounds' cells that would be combined, never a hidden figure."""
    made = four_rounds(session, app, answering=HIDDEN_IN_3)
    done = app.test_cli_runner().invoke(main, ["release", "pool", str(made.survey_id)])
    assert done.exit_code == 0, done.output
    assert "Team A in round 3" in done.output or "Team A in round 1" in done.output
    assert "2 respondents" not in done.output


def test_a_period_the_audit_refuses_is_reported_by_the_scheduler(session: Session, app: Flask,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A refusal that needs a person (what is published already reveals something) is an error of the tick, and the
    other periods still pool; nothing is stored for it."""
    made = four_rounds(session, app, close_last=False)
    last = session.get_one(Round, made.rounds[-1])

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise pooling.PoolingError("earlier_unsafe")

    monkeypatch.setattr(pooling, "compute_pooled", refuse)
    with app.app_context():
        report = scheduler.tick(app, now=last.closes_at)
    assert report.pooled == [] and any("rounds-1-4: not pooled (earlier_unsafe" in e for e in report.errors)
    session.commit()
    assert session.scalar(select(PooledRelease.id)) is None


def finding(unit_id: int) -> dict[str, object]:
    """An audit finding as protect_round records it: the rounds' published cells that together would give a hidden
    one (units, rounds and versions; never a figure)."""
    return {"role": "earlier", "kind": "derivable", "layers": ["respondents"], "units": [unit_id],
            "cell": {"version": 1, "unit": unit_id, "kind": "total", "coefficient": "1", "round": 3},
            "formula": [{"version": 1, "unit": unit_id, "kind": "total", "coefficient": "1", "round": 1},
                        {"version": 1, "unit": unit_id, "kind": "total", "coefficient": "-1", "round": 2}]}


def test_a_refused_period_is_reported_once_and_tried_again_when_its_inputs_change(
        session: Session, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 7: the tick reports a refusal once and tries the period again only when a round of it gets a new
    release version or the pooling changes; a person's ``pulse release pool --period`` always tries and says why."""
    made = four_rounds(session, app, close_last=False)
    last = session.get_one(Round, made.rounds[-1])
    tried: list[str] = []
    real = pooling.compute_pooled

    def refuse(_session: Session, _survey: Survey, period: Period, **_kwargs: object) -> PooledRelease:
        tried.append(period.key)
        raise pooling.PoolingError("earlier_unsafe", [finding(made.units["A"])])

    monkeypatch.setattr(pooling, "compute_pooled", refuse)

    def tick(at: dt.datetime) -> list[str]:
        with app.app_context():
            report = scheduler.tick(app, now=at)
        session.commit()
        return [e for e in report.errors if "not pooled" in e]

    assert len(tick(last.closes_at)) == 1 and tried == ["rounds-1-4"]
    stored = session.scalars(select(PoolRefusal)).one()
    assert (stored.survey_id, stored.period, stored.code) == (made.survey_id, "rounds-1-4", "earlier_unsafe")
    assert stored.refused_at == last.closes_at and json.loads(stored.findings) == [finding(made.units["A"])]
    # Nothing changed: neither tried nor reported again, however many ticks.
    for hours in (1, 2, 30):
        assert tick(last.closes_at + dt.timedelta(hours=hours)) == []
    assert tried == ["rounds-1-4"]
    # A correction of a round is a new version of its release: the period is tried (and reported) again.
    with app.app_context():
        compute_release(session, session.get_one(Round, made.rounds[1]), created_by="t", now=last.closes_at)
    session.commit()
    assert len(tick(last.closes_at + dt.timedelta(days=2))) == 1 and tried == ["rounds-1-4"] * 2
    assert tick(last.closes_at + dt.timedelta(days=3)) == []
    # By hand it tries again at once, and says why it refused (units and rounds, never a figure).
    runner = app.test_cli_runner()
    by_hand = runner.invoke(main, ["release", "pool", str(made.survey_id), "--period", "rounds-1-4"])
    assert by_hand.exit_code == 1 and "nothing was pooled" in by_hand.output, by_hand.output
    assert "Team A in round 3" in by_hand.output and "Team A in round 1" in by_hand.output
    assert tried == ["rounds-1-4"] * 3
    all_due = runner.invoke(main, ["release", "pool", str(made.survey_id)])
    assert all_due.exit_code == 1 and "rounds-1-4: nothing was pooled" in all_due.output
    assert tried == ["rounds-1-4"] * 4
    session.commit()
    assert session.scalar(select(func.count()).select_from(PoolRefusal)) == 1
    # Another pooling makes other periods: each is tried once, and the old period's refusal is gone.
    survey = session.get_one(Survey, made.survey_id)
    pooling.set_pooling(session, survey, "rounds", 2)
    session.commit()
    assert len(tick(last.closes_at + dt.timedelta(days=4))) == 2
    assert tried[4:] == ["rounds-1-2", "rounds-3-4"]
    assert sorted(session.scalars(select(PoolRefusal.period))) == ["rounds-1-2", "rounds-3-4"]
    assert tick(last.closes_at + dt.timedelta(days=5)) == [] and len(tried) == 6
    # Pooled by hand once the review is done: the refusal no longer stands, and the tick has nothing left to do.
    monkeypatch.setattr(pooling, "compute_pooled", real)
    done = runner.invoke(main, ["release", "pool", str(made.survey_id), "--period", "rounds-1-2"])
    assert done.exit_code == 0, done.output
    session.commit()
    assert list(session.scalars(select(PoolRefusal.period))) == ["rounds-3-4"]
    assert session.scalar(select(PooledRelease.period)) == "rounds-1-2"


def test_a_period_whose_raw_answers_are_gone_is_not_loaded_again_every_tick(session: Session, app: Flask,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """``purged`` is never reported (it cannot change), and remembered like any refusal: the next tick does not
    load the period's rounds again."""
    made = four_rounds(session, app)
    survey = session.get_one(Survey, made.survey_id)
    loads: list[int] = []
    real = pooling.load_round

    def counted(session_: Session, rnd: Round) -> object:
        loads.append(rnd.id)
        return real(session_, rnd)

    monkeypatch.setattr(pooling, "load_round", counted)
    session.execute(text("DELETE FROM response"))
    session.commit()
    refused: list[tuple[Period, pooling.PoolingError]] = []
    later = MONDAY + dt.timedelta(days=30)
    assert pooling.pool_due(session, survey, now=later, refused=refused) == [] and refused == []
    session.commit()
    assert loads and session.scalar(select(PoolRefusal.code)) == "purged"
    count = len(loads)
    assert pooling.pool_due(session, survey, now=later, refused=refused) == [] and len(loads) == count


def test_calendar_months_pool_when_the_month_is_over(session: Session, app: Flask) -> None:
    """Weekly rounds opening 23 and 30 November, 7 and 14 December: November pools once its rounds are released
    and the month is over; December only after 31 December, however many of its rounds are closed."""
    made = four_rounds(session, app)
    survey = session.get_one(Survey, made.survey_id)
    pooling.set_pooling(session, survey, "month", None)
    session.commit()
    in_december = dt.datetime(2026, 12, 20, tzinfo=dt.UTC)
    states = {s.period.key: (len(s.rounds), s.complete) for s in pooling.period_states(session, survey, now=in_december)}
    assert states == {"2026-11": (2, True), "2026-12": (2, False)}
    assert [p.period for p in pooling.pool_due(session, survey, now=in_december)] == ["2026-11"]
    session.commit()
    assert [p.period for p in pooling.pool_due(session, survey, now=dt.datetime(2027, 1, 2, tzinfo=dt.UTC))] == [
        "2026-12"]
    session.commit()
    pooled = {p: json.loads(r) for p, r in session.execute(select(PooledRelease.period, PooledRelease.rounds))}
    assert {p: [entry[1] for entry in rounds] for p, rounds in pooled.items()} == {"2026-11": [1, 2],
                                                                                  "2026-12": [3, 4]}


def test_rotating_questions_pool_over_the_rounds_that_asked_them(session: Session, app: Flask) -> None:
    """With two of four questions a round, each question's pooled figure holds only the answers of the rounds that
    asked it — and is audited with those rounds' figures like any other."""
    from pulse.models import Question, RoundQuestion

    root = make_unit(session, "root", "Kommun")
    office = make_unit(session, "office", "Kontoret", root)
    team = make_unit(session, "t", "Team T", office)
    for i in range(8):
        make_person(session, f"t{i}@example.org", unit=team, password=None)
    session.commit()
    survey = make_survey(session, [office], min_group_size=K, min_dist_size=K, min_comment_size=K,
                         question_mode="rotation", rotation_count=2)
    survey.pooling, survey.pool_rounds = "rounds", 2
    session.commit()
    asked: dict[int, list[str]] = {}
    for week in range(2):
        opened = open_with_credentials(session, app, survey, now=MONDAY + dt.timedelta(days=7 * week))
        codes = list(session.scalars(select(Question.code).join(RoundQuestion, RoundQuestion.question_id == Question.id)
                                     .where(RoundQuestion.round_id == opened.round.id)))
        asked[week + 1] = codes
        for i in range(6):
            link, _ = opened.credentials[f"t{i}@example.org"]
            values = {code: (3 if code != "OSA-VI1" else 0) for code in codes}
            answer_service.submit(session, keys(app).token, link, values, None, now=opened.round.opened_at)
        session.commit()
        rnd = session.get_one(Round, opened.round.id)
        with app.app_context():
            scheduler.close_round(session, rnd, keys(app), now=rnd.closes_at)
        session.commit()
    assert set(asked[1]).isdisjoint(asked[2]) and len(asked[1]) == len(asked[2]) == 2
    [pooled] = pooling.pool_due(session, session.get_one(Survey, survey.id), now=MONDAY + dt.timedelta(days=30))
    session.commit()
    cell = session.scalar(select(PooledReleaseCell).where(PooledReleaseCell.pooled_release_id == pooled.id,
                                                          PooledReleaseCell.unit_id == team.id,
                                                          PooledReleaseCell.kind == "total"))
    assert cell is not None and cell.published and cell.respondents == 12
    figures = json.loads(cell.stats)
    shown = {code: figures[code]["n"] for code in asked[1] + asked[2] if "n" in figures.get(code, {})}
    assert len(shown) >= 3 and set(shown.values()) == {6}  # one round's answers each: the other did not ask it
    assert {q for q, _ in json.loads(pooled.audit)["questions"]} == set(asked[1] + asked[2])
