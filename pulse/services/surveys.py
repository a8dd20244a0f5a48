"""Surveys: recurring pulse programmes — audience, questions, cadence, thresholds and reminders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pulse.common.config import Thresholds
from pulse.domain.schedule import CADENCES, next_open, parse_time
from pulse.models import Question, Round, Survey, SurveyQuestion, SurveyUnit, Unit

QUESTION_MODES = ("fixed", "rotation")
#: Reminders go to everyone invited, with the same text, or to nobody. "Only those who have not answered" cannot
#: exist: Pulse stores nothing that says who they are (docs/ANONYMITY.md, "Reminders").
REMINDER_POLICIES = ("everyone", "none")
MAX_QUESTIONS = 20


class SurveyError(ValueError):
    """The survey settings are not acceptable; ``code`` says why and ``field`` where."""

    def __init__(self, code: str, field: str | None = None, **params: object) -> None:
        super().__init__(code)
        self.code, self.field, self.params = code, field, params


@dataclass(frozen=True)
class SurveyInput:
    name: str
    unit_ids: tuple[int, ...]
    question_codes: tuple[str, ...]
    cadence: str = "weekly"
    open_weekday: int = 0
    open_time: str = "08:00"
    open_days: int = 5
    language: str = "sv"
    min_group_size: int = 6
    min_dist_size: int = 10
    min_comment_size: int = 10
    question_mode: str = "fixed"
    rotation_count: int | None = None
    comment_enabled: bool = True
    reminder_policy: str = "everyone"
    reminder_after_days: int = 2
    active: bool = True


def defaults(floors: Thresholds) -> dict[str, int]:
    return {"min_group_size": floors.min_group_size, "min_dist_size": floors.min_dist_size,
            "min_comment_size": floors.min_comment_size}


def validate(session: Session, data: SurveyInput, floors: Thresholds) -> None:
    """Check every setting. :raises SurveyError: for the first problem found."""
    if not data.name.strip() or len(data.name) > 200:
        raise SurveyError("name", "name")
    if not data.unit_ids:
        raise SurveyError("no_units", "units")
    found = set(session.scalars(select(Unit.id).where(Unit.id.in_(data.unit_ids), Unit.active.is_(True))))
    if found != set(data.unit_ids):
        raise SurveyError("unknown_unit", "units")
    if not data.question_codes:
        raise SurveyError("no_questions", "questions")
    if len(data.question_codes) > MAX_QUESTIONS or len(set(data.question_codes)) != len(data.question_codes):
        raise SurveyError("too_many_questions", "questions", max=MAX_QUESTIONS)
    questions = {q.code: q for q in session.scalars(
        select(Question).where(Question.code.in_(data.question_codes), Question.current.is_(True)))}
    if set(questions) != set(data.question_codes) or any(q.scale == "text" or q.retired for q in questions.values()):
        raise SurveyError("unknown_question", "questions")
    if data.cadence not in CADENCES:
        raise SurveyError("cadence", "cadence")
    if not 0 <= data.open_weekday <= 6:
        raise SurveyError("weekday", "open_weekday")
    try:
        parse_time(data.open_time)
    except ValueError:
        raise SurveyError("time", "open_time") from None
    if not 1 <= data.open_days <= 20:
        raise SurveyError("open_days", "open_days")
    if data.language not in ("sv", "en"):
        raise SurveyError("language", "language")
    if data.min_group_size < floors.min_group_size:
        raise SurveyError("threshold_low", "min_group_size", floor=floors.min_group_size)
    if data.min_dist_size < max(floors.min_dist_size, data.min_group_size):
        raise SurveyError("threshold_low", "min_dist_size", floor=max(floors.min_dist_size, data.min_group_size))
    if data.min_comment_size < max(floors.min_comment_size, data.min_group_size):
        raise SurveyError("threshold_low", "min_comment_size",
                          floor=max(floors.min_comment_size, data.min_group_size))
    if data.question_mode not in QUESTION_MODES:
        raise SurveyError("question_mode", "question_mode")
    if data.question_mode == "rotation" and not (
            data.rotation_count and 1 <= data.rotation_count < len(data.question_codes)):
        raise SurveyError("rotation_count", "rotation_count", max=len(data.question_codes) - 1)
    if data.reminder_policy not in REMINDER_POLICIES:
        raise SurveyError("reminder_policy", "reminder_policy")
    if data.reminder_policy != "none" and not 1 <= data.reminder_after_days < data.open_days:
        raise SurveyError("reminder_after_days", "reminder_after_days", max=data.open_days - 1)


def _apply(survey: Survey, data: SurveyInput) -> None:
    for name in ("cadence", "open_weekday", "open_time", "open_days", "language", "min_group_size", "min_dist_size",
                 "min_comment_size", "question_mode", "comment_enabled", "reminder_policy", "reminder_after_days",
                 "active"):
        setattr(survey, name, getattr(data, name))
    survey.name = data.name.strip()
    survey.rotation_count = data.rotation_count if data.question_mode == "rotation" else None


def _settings(survey: Survey) -> dict[str, object]:
    return {
        "name": survey.name, "units": sorted(u.unit_id for u in survey.units),
        "questions": [q.question_code for q in survey.questions], "cadence": survey.cadence,
        "open_weekday": survey.open_weekday, "open_time": survey.open_time, "open_days": survey.open_days,
        "language": survey.language, "min_group_size": survey.min_group_size, "min_dist_size": survey.min_dist_size,
        "min_comment_size": survey.min_comment_size, "question_mode": survey.question_mode,
        "rotation_count": survey.rotation_count, "comment_enabled": survey.comment_enabled,
        "reminder_policy": survey.reminder_policy, "reminder_after_days": survey.reminder_after_days,
        "active": survey.active,
    }


def schedule_next(session: Session, survey: Survey, *, now: dt.datetime, tz: ZoneInfo) -> None:
    """Work out when the survey next opens (None for manual or paused surveys)."""
    if not survey.active:
        survey.next_open_at = None
        return
    last = session.scalar(select(func.max(Round.opened_at)).where(Round.survey_id == survey.id))
    survey.next_open_at = next_open(survey.cadence, survey.open_weekday, survey.open_time,
                                    after=max(now, last) if last else now, tz=tz, last_opened=last)


def create_survey(session: Session, data: SurveyInput, *, floors: Thresholds, now: dt.datetime, tz: ZoneInfo
                  ) -> Survey:
    """:raises SurveyError: when a setting is not acceptable."""
    validate(session, data, floors)
    survey = Survey(name=data.name)
    _apply(survey, data)
    survey.units = [SurveyUnit(unit_id=u) for u in sorted(set(data.unit_ids))]
    survey.questions = [SurveyQuestion(position=i, question_code=c) for i, c in enumerate(data.question_codes)]
    session.add(survey)
    session.flush()
    schedule_next(session, survey, now=now, tz=tz)
    session.flush()
    return survey


def update_survey(session: Session, survey: Survey, data: SurveyInput, *, floors: Thresholds, now: dt.datetime,
                  tz: ZoneInfo) -> dict[str, dict[str, object]]:
    """Change a survey; rounds already open keep their settings. Returns what changed, for the audit log.

    :raises SurveyError: when a setting is not acceptable.
    """
    validate(session, data, floors)
    before = _settings(survey)
    _apply(survey, data)
    if sorted(u.unit_id for u in survey.units) != sorted(set(data.unit_ids)):
        survey.units = [SurveyUnit(unit_id=u) for u in sorted(set(data.unit_ids))]
    if [q.question_code for q in survey.questions] != list(data.question_codes):
        survey.questions.clear()
        session.flush()
        survey.questions.extend(SurveyQuestion(position=i, question_code=c) for i, c in enumerate(data.question_codes))
    session.flush()
    schedule_next(session, survey, now=now, tz=tz)
    session.flush()
    after = _settings(survey)
    return {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}


def survey_input(survey: Survey) -> SurveyInput:
    """The survey's current settings as an input (to prefill forms or change a few fields)."""
    return SurveyInput(
        name=survey.name, unit_ids=tuple(sorted(u.unit_id for u in survey.units)),
        question_codes=tuple(q.question_code for q in survey.questions), cadence=survey.cadence,
        open_weekday=survey.open_weekday, open_time=survey.open_time, open_days=survey.open_days,
        language=survey.language, min_group_size=survey.min_group_size, min_dist_size=survey.min_dist_size,
        min_comment_size=survey.min_comment_size, question_mode=survey.question_mode,
        rotation_count=survey.rotation_count, comment_enabled=survey.comment_enabled,
        reminder_policy=survey.reminder_policy, reminder_after_days=survey.reminder_after_days,
        active=survey.active,
    )


def questions_for_round(codes: list[str], mode: str, rotation_count: int | None, number: int) -> list[str]:
    """The question codes a round asks: all of them, or a rotating window so every question returns regularly.

    With M questions and N per round, round n asks questions (n-1)·N … (n-1)·N+N-1 (mod M), in set order.
    """
    if mode != "rotation" or not rotation_count or rotation_count >= len(codes):
        return list(codes)
    start = ((number - 1) * rotation_count) % len(codes)
    picked = {(start + i) % len(codes) for i in range(rotation_count)}
    return [code for i, code in enumerate(codes) if i in picked]
