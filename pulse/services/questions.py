"""The question bank in the database: installing the shipped bank, adding and editing questions.

Editing a question's wording never changes the stored row: it adds a new version with the same code, so every
round keeps pointing at exactly the text people saw.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pulse.domain.questionbank import AREAS, BANK
from pulse.domain.scales import ALL_SCALES
from pulse.models import Question


class QuestionError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def install_bank(session: Session) -> int:
    """Add the shipped questions that are missing (by code); never touch existing ones. Returns how many."""
    existing = set(session.scalars(select(Question.code)))
    added = 0
    for item in BANK:
        if item.code in existing:
            continue
        session.add(Question(code=item.code, version=1, area=item.area, scale=item.scale, text_sv=item.sv,
                             text_en=item.en, allow_skip=item.allow_skip, sensitive=item.sensitive,
                             reverse=item.reverse, pack=item.pack, attribution=item.attribution, current=True))
        added += 1
    session.flush()
    return added


def current_questions(session: Session, *, include_retired: bool = False) -> list[Question]:
    query = select(Question).where(Question.current.is_(True)).order_by(Question.pack.desc(), Question.code)
    if not include_retired:
        query = query.where(Question.retired.is_(False))
    return list(session.scalars(query))


def current_by_code(session: Session, codes: list[str] | None = None) -> dict[str, Question]:
    query = select(Question).where(Question.current.is_(True))
    if codes is not None:
        query = query.where(Question.code.in_(codes))
    return {q.code: q for q in session.scalars(query)}


def versions(session: Session, code: str) -> list[Question]:
    return list(session.scalars(select(Question).where(Question.code == code).order_by(Question.version.desc())))


@dataclass(frozen=True)
class QuestionInput:
    area: str
    scale: str
    text_sv: str
    text_en: str
    allow_skip: bool
    sensitive: bool
    reverse: bool


def _check(data: QuestionInput) -> None:
    if data.area not in AREAS:
        raise QuestionError("unknown_area")
    if data.scale not in ALL_SCALES:
        raise QuestionError("unknown_scale")
    if not data.text_sv.strip() or not data.text_en.strip():
        raise QuestionError("missing_text")


def add_question(session: Session, code: str, data: QuestionInput) -> Question:
    """A new question (version 1).

    :raises QuestionError: ``code_taken``, ``bad_code``, ``unknown_area``, ``unknown_scale`` or ``missing_text``.
    """
    code = code.strip().upper()
    if not code or len(code) > 32 or not all(c.isalnum() or c in "-_" for c in code):
        raise QuestionError("bad_code")
    _check(data)
    if session.scalar(select(func.count()).select_from(Question).where(Question.code == code)):
        raise QuestionError("code_taken")
    question = Question(code=code, version=1, area=data.area, scale=data.scale, text_sv=data.text_sv.strip(),
                        text_en=data.text_en.strip(), allow_skip=data.allow_skip, sensitive=data.sensitive,
                        reverse=data.reverse, pack="custom", current=True)
    session.add(question)
    session.flush()
    return question


def edit_question(session: Session, question: Question, data: QuestionInput) -> Question:
    """Save changed wording or settings as a new version of the same code (the old version stays).

    Changing the scale is refused: results across versions must stay comparable.
    :raises QuestionError: ``scale_change``, ``not_current``, ``no_change`` or a validation code.
    """
    if not question.current:
        raise QuestionError("not_current")
    _check(data)
    if data.scale != question.scale:
        raise QuestionError("scale_change")
    fields = (data.area, data.text_sv.strip(), data.text_en.strip(), data.allow_skip, data.sensitive, data.reverse)
    if fields == (question.area, question.text_sv, question.text_en, question.allow_skip, question.sensitive,
                  question.reverse):
        raise QuestionError("no_change")
    session.execute(update(Question).where(Question.code == question.code).values(current=False))
    new = Question(code=question.code, version=question.version + 1, area=data.area, scale=question.scale,
                   text_sv=data.text_sv.strip(), text_en=data.text_en.strip(), allow_skip=data.allow_skip,
                   sensitive=data.sensitive, reverse=data.reverse, pack=question.pack,
                   attribution=question.attribution, current=True, retired=question.retired)
    session.add(new)
    session.flush()
    return new


def set_retired(session: Session, question: Question, retired: bool) -> None:
    """Retire a question (not offered for new surveys) or bring it back; rounds keep using what they asked."""
    session.execute(update(Question).where(Question.code == question.code).values(retired=retired))
    session.flush()
