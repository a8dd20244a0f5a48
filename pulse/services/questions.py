"""The question bank in the database: installing the shipped bank, adding and editing questions.

Editing a question's wording never changes the stored row: it adds a new version with the same code, so every
round keeps pointing at exactly the text people saw.

The shipped bank is written by the migrations (``0005`` and any later one that ships new wording), through
:func:`install_shipped`; :func:`install_bank` applies the same rule to a database built without migrations (the
tests' ``create_all``), where it is the only way the bank gets in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from pulse.domain.questionbank import AREAS, BANK, BankQuestion
from pulse.domain.scales import ALL_SCALES
from pulse.models import Question


class QuestionError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def install_bank(session: Session) -> int:
    """Add the shipped questions that are missing (by code); never touch existing ones. Returns how many.

    A no-op on a migrated database, where the migrations installed the bank; databases built from the models
    alone (tests) get it here, by the same rule.
    """
    session.flush()
    return install_shipped(session.connection(), BANK)


#: The question table as the shipped bank is written to it: columns every revision from 0005 on has, not the ORM
#: model, so the migrations that call the functions below keep working whatever the model becomes later.
_question = sa.table(
    "question",
    sa.column("id", sa.Integer), sa.column("code", sa.String), sa.column("version", sa.Integer),
    sa.column("area", sa.String), sa.column("scale", sa.String), sa.column("text_sv", sa.Text),
    sa.column("text_en", sa.Text), sa.column("allow_skip", sa.Boolean), sa.column("sensitive", sa.Boolean),
    sa.column("reverse", sa.Boolean), sa.column("pack", sa.String), sa.column("attribution", sa.String),
    sa.column("current", sa.Boolean), sa.column("retired", sa.Boolean), sa.column("created_at", sa.DateTime),
)
_round = sa.table("round", sa.column("comment_question_id", sa.Integer))
_round_question = sa.table("round_question", sa.column("question_id", sa.Integer))
_survey_question = sa.table("survey_question", sa.column("question_code", sa.String))


def _content(item: BankQuestion) -> tuple[object, ...]:
    return (item.version, item.area, item.scale, item.sv, item.en, item.allow_skip, item.sensitive, item.reverse,
            item.pack, item.attribution)


def _row_content(row: sa.Row[tuple[object, ...]]) -> tuple[object, ...]:
    return (row.version, row.area, row.scale, row.text_sv, row.text_en, bool(row.allow_skip), bool(row.sensitive),
            bool(row.reverse), row.pack, row.attribution)


def _rows(connection: Connection, code: str) -> list[sa.Row[tuple[object, ...]]]:
    return list(connection.execute(select(_question).where(_question.c.code == code)
                                   .order_by(_question.c.version)).all())


def install_shipped(connection: Connection, items: Iterable[BankQuestion], *,
                    replaces: Mapping[str, BankQuestion] | None = None) -> int:
    """Write shipped questions into the bank: the one rule the migrations and :func:`install_bank` share.

    For each item: when no question has its code, it is added as its version, current. When the current version
    of the code is exactly the shipped version the item replaces (``replaces[code]``: same version number, same
    wording and settings), nobody has edited it, so the item becomes the new current version (retired or not as
    before). Otherwise nothing changes: the item is already there, or the organisation edited the question and
    its own wording stays. Returns how many versions were added.
    """
    replaces = replaces or {}
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # stored as naive UTC, like UTCDateTime does
    added = 0
    for item in items:
        rows = _rows(connection, item.code)
        current = next((row for row in rows if row.current), None)
        retired = False
        if rows:
            previous = replaces.get(item.code)
            if current is None or previous is None or _row_content(current) != _content(previous):
                continue
            if item.version <= previous.version:
                raise ValueError(f"{item.code}: a new shipped version must have a higher number")
            retired = bool(current.retired)
            connection.execute(update(_question).where(_question.c.code == item.code).values(current=False))
        connection.execute(sa.insert(_question).values(
            code=item.code, version=item.version, area=item.area, scale=item.scale, text_sv=item.sv,
            text_en=item.en, allow_skip=item.allow_skip, sensitive=item.sensitive, reverse=item.reverse,
            pack=item.pack, attribution=item.attribution, current=True, retired=retired, created_at=now))
        added += 1
    return added


def uninstall_shipped(connection: Connection, items: Iterable[BankQuestion], *,
                      replaces: Mapping[str, BankQuestion] | None = None) -> int:
    """Undo :func:`install_shipped` (a migration's downgrade) where nothing depends on it. Returns rows removed.

    An item's row goes only when it is still current and untouched and no round asked it; the version it replaced
    becomes current again. A code that would disappear altogether also stays while a survey names it.
    """
    replaces = replaces or {}
    used = {id_ for (id_,) in connection.execute(select(_round_question.c.question_id))}
    used |= {id_ for (id_,) in connection.execute(select(_round.c.comment_question_id)) if id_ is not None}
    named = {code for (code,) in connection.execute(select(_survey_question.c.question_code))}
    removed = 0
    for item in items:
        rows = _rows(connection, item.code)
        current = next((row for row in rows if row.current), None)
        if current is None or _row_content(current) != _content(item) or current.id in used:
            continue
        previous = replaces.get(item.code)
        earlier = next((row for row in rows if previous is not None and row.version == previous.version), None)
        if earlier is None and (len(rows) > 1 or item.code in named):
            continue
        connection.execute(sa.delete(_question).where(_question.c.id == current.id))
        if earlier is not None:
            connection.execute(update(_question).where(_question.c.id == earlier.id).values(current=True))
        removed += 1
    return removed


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
