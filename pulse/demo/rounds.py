"""Demo history: a survey with closed rounds made through the real open → answer → close path, and an open round
whose invitations are in the outbox."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse import scheduler
from pulse.common.context import record_audit
from pulse.common.db import Database
from pulse.demo import DEMO_COMMENTS, DEMO_SURVEY, HISTORY_ROUNDS, OFFICE_MOOD, simulated_answer
from pulse.demo.sam import load_demo_sam
from pulse.domain.orgtree import OrgTree
from pulse.domain.questionbank import DEFAULT_PULSE
from pulse.models import Invitation, Round, Unit
from pulse.services import answers as answer_service
from pulse.services import invitations, pooling
from pulse.services import questions as question_service
from pulse.services import rounds as round_service
from pulse.services.surveys import SurveyInput, create_survey

#: The demo pools its weekly rounds in threes: rounds 1–3 and 4–6 are pooled, 7–9 waits.
DEMO_POOL_ROUNDS = 3


def _moods(session: Session) -> dict[int, float]:
    """Mood offset per unit id: offices as configured, everything below an office inherits it."""
    units = {u.key: u for u in session.scalars(select(Unit))}
    tree = OrgTree({u.id: u.parent_id for u in units.values()})
    moods: dict[int, float] = {}
    for key, (mood, _) in OFFICE_MOOD.items():
        if key in units:
            for uid in tree.subtree([units[key].id]):
                moods[uid] = mood
    return moods


def _answer_round(database: Database, round_id: int, keys: round_service.RoundKeys, rng: random.Random,
                  moods: dict[int, float], *, share: float, improvement: float, now: dt.datetime) -> int:
    """Answer a round as a share of invitees would, through the real mail-out and submit path (the invitations
    are handed to this function instead of the mail system)."""
    handed: list[invitations.Invite] = []
    invitations.mail_out(database, round_id, keys.token, handed.append)
    answered = 0
    with database.session(write=True) as session:
        questions = [rq.question for rq in session.get_one(Round, round_id).questions]
        where = dict(session.execute(select(Invitation.id, Invitation.unit_id)
                                     .where(Invitation.round_id == round_id)).all())
        for invite in handed:
            if rng.random() > share:
                continue
            mood = moods.get(where[invite.invitation_id], 0.3) + improvement
            answers = {q.code: simulated_answer(rng, q.scale, q.reverse, mood) for q in questions}
            comment = rng.choice(DEMO_COMMENTS) if rng.random() < 0.15 else None
            answer_service.submit(session, keys.token, invite.link, answers, comment, now=now)
            answered += 1
        session.commit()
    return answered


def load_demo_rounds(database: Database, *, now: dt.datetime, seed: int = 7) -> tuple[int, int]:
    """Create the demo survey, its history and an open round. Returns (closed rounds, open round id)."""
    rng = random.Random(seed)  # noqa: S311 - simulated answers, not secrets
    config = current_app.config["PULSE"]
    tz = ZoneInfo(config.timezone)
    keys = scheduler.round_keys()
    with database.session(write=True) as session:
        question_service.install_bank(session)
        audience = session.scalar(select(Unit.id).where(Unit.key == "jarva"))
        assert audience is not None
        first_open = now - dt.timedelta(weeks=HISTORY_ROUNDS, hours=1)
        survey = create_survey(session, SurveyInput(
            name=DEMO_SURVEY, unit_ids=(audience,), question_codes=DEFAULT_PULSE,
            open_weekday=first_open.astimezone(tz).weekday(), open_time=first_open.astimezone(tz).strftime("%H:%M"),
            min_group_size=config.thresholds.min_group_size, min_dist_size=config.thresholds.min_dist_size,
            min_comment_size=config.thresholds.min_comment_size), floors=config.thresholds, now=first_open, tz=tz)
        # Pooled over three weekly rounds (docs/ANONYMITY.md, "Pooled periods"): the citizen offices, too small
        # round by round, get figures per period.
        survey.pooling, survey.pool_rounds = "rounds", DEMO_POOL_ROUNDS
        moods = _moods(session)
        survey_id = survey.id
        session.commit()
    for week in range(HISTORY_ROUNDS):
        opened_at = first_open + dt.timedelta(weeks=week)
        with database.session(write=True) as session:
            survey = session.get_one(type(survey), survey_id)
            round_id = scheduler.open_round(session, survey, keys, now=opened_at, tz=tz).id
            session.commit()
        _answer_round(database, round_id, keys, rng, moods, share=rng.uniform(0.6, 0.85),
                      improvement=OFFICE_MOOD["mbk-rinkeby"][1] * week, now=opened_at)
        with database.session(write=True) as session:
            rnd = session.get_one(Round, round_id)
            scheduler.close_round(session, rnd, keys, now=min(rnd.closes_at, now - dt.timedelta(hours=2)))
            session.commit()
        round_service.scrub_closed(database)
    with database.session(write=True) as session:
        survey = session.get_one(type(survey), survey_id)
        for pooled in pooling.pool_due(session, survey, now=now):
            record_audit(session, "release.pool", f"pooled_release:{pooled.id}",
                         {"survey": survey_id, "period": pooled.period, "version": pooled.version})
        session.commit()
    # Risks, actions, an APT and "you said, we did" from the history, before the open round's invitations go out
    # (they carry the feedback).
    with database.session(write=True) as session:
        load_demo_sam(session, now=now)
        session.commit()
    opened_at = now - dt.timedelta(hours=1)
    with database.session(write=True) as session:
        survey = session.get_one(type(survey), survey_id)
        rnd = scheduler.open_round(session, survey, keys, now=opened_at, tz=tz)
        round_id = rnd.id
        session.commit()
    scheduler.mail_now(database, round_id, keys)
    return HISTORY_ROUNDS, round_id
