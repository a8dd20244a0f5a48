"""Helpers for tests that need a survey with an open round and its credentials."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy.orm import Session

from pulse import scheduler
from pulse.common.config import Thresholds
from pulse.common.db import get_database
from pulse.models import Round, Survey, Unit
from pulse.services import invitations
from pulse.services import questions as question_service
from pulse.services import rounds as round_service
from pulse.services.surveys import SurveyInput, create_survey

TZ = ZoneInfo("Europe/Stockholm")
#: A Monday morning, so five working days are easy to reason about.
MONDAY = dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)
QUESTIONS = ("OSA-WL1", "OSA-SP1", "OSA-VI1", "OSA-NPS")


def keys(app: Flask) -> round_service.RoundKeys:
    with app.app_context():
        from pulse.scheduler import round_keys

        return round_keys()


def make_survey(session: Session, units: list[Unit], *, questions: tuple[str, ...] = QUESTIONS, **changes: object
                ) -> Survey:
    question_service.install_bank(session)
    data = SurveyInput(name="Veckopuls", unit_ids=tuple(u.id for u in units), question_codes=questions,
                       min_group_size=3, min_dist_size=3, min_comment_size=3)
    data = SurveyInput(**{**data.__dict__, **changes})  # type: ignore[arg-type]
    survey = create_survey(session, data, floors=Thresholds(3, 3, 3), now=MONDAY, tz=TZ)
    session.commit()
    return survey


@dataclass
class OpenRound:
    round: Round
    #: person email → (link token, typed code)
    credentials: dict[str, tuple[str, str]]


def open_with_credentials(session: Session, app: Flask, survey: Survey, *, now: dt.datetime = MONDAY) -> OpenRound:
    """Open a round and run its mail-out with the invitations handed to the test instead of the mail system."""
    k = keys(app)
    rnd = round_service.open_round(session, survey, k, now=now, tz=TZ)
    session.commit()
    handed: list[invitations.Invite] = []
    outcome = invitations.mail_out(get_database(app), rnd.id, k.token, handed.append)
    assert outcome.outcome == "done", outcome
    session.expire_all()
    rnd = session.get_one(Round, rnd.id)
    session.commit()  # end the read transaction: on SQLite it would keep seeing this moment
    return OpenRound(rnd, {i.email: (i.link, i.code) for i in handed})


def close_when_due(session: Session, app: Flask, round_id: int) -> Round:
    """Commit what is pending (answers), then close the round at its closing time as the scheduler does: counted,
    protected and released."""
    session.commit()
    rnd = session.get_one(Round, round_id)
    with app.app_context():
        scheduler.close_round(session, rnd, keys(app), now=rnd.closes_at)
    session.commit()
    return rnd
