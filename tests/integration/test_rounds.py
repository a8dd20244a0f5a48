"""Opening, answering and closing rounds: the storage rules of docs/ANONYMITY.md, proven against a real database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading

import pytest
from flask import Flask
from sqlalchemy import ForeignKey, event, func, inspect, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.types import Date, DateTime

from pulse.common.db import Base, get_database
from pulse.domain import crypto
from pulse.domain.sealing import open_payload
from pulse.models import (
    Comment,
    CountingMerge,
    Credential,
    CredentialHash,
    Invitation,
    PendingResponse,
    PersonStatus,
    Question,
    Response,
    Round,
    RoundKey,
    RoundParticipation,
    RoundQuestion,
)
from pulse.services import answers as answer_service
from pulse.services import invitations
from pulse.services import questions as question_service
from pulse.services import rounds as round_service
from tests.factories import make_person
from tests.rounds import MONDAY, TZ, keys, make_survey, open_with_credentials

LATER = MONDAY + dt.timedelta(hours=2)


def test_opening_snapshots_invitees_and_where_they_count(session: Session, app: Flask, org) -> None:  # type: ignore[no-untyped-def]
    make_person(session, "away@example.org", unit=org.team_a, status=PersonStatus.ON_LEAVE)
    make_person(session, "gone@example.org", unit=org.team_a, status=PersonStatus.LEFT)
    survey = make_survey(session, [org.dept])
    opened = open_with_credentials(session, app, survey)
    rows = dict(session.execute(select(Invitation.person_id, Invitation.unit_id)).all())
    assert set(opened.credentials) == {"manager@example.org", "safety@example.org", "employee@example.org"}
    # The manager leads team A: their answer counts one level up (the department), never in team A. The teams
    # have one person each, fewer than k = 3: their answers count in the department too, so no stored answer
    # names a group of fewer than k.
    assert rows == {org.manager.id: org.dept.id, org.employee.id: org.dept.id, org.safety.id: org.dept.id}
    merges = dict(session.execute(select(CountingMerge.unit_id, CountingMerge.counted_in_id)).all())
    assert merges == {org.team_a.id: org.dept.id, org.team_b.id: org.dept.id}
    rnd = opened.round
    assert (rnd.invited, rnd.headcount) == (3, 4)  # the person on leave counts in the headcount only
    assert (rnd.min_group_size, rnd.min_dist_size, rnd.min_comment_size) == (3, 3, 3)
    assert [rq.question.code for rq in rnd.questions] == ["OSA-WL1", "OSA-SP1", "OSA-VI1", "OSA-NPS"]
    assert rnd.closes_at == dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)  # five working days later
    with pytest.raises(round_service.RoundError, match="already_open"):
        round_service.open_round(session, survey, keys(app), now=LATER, tz=TZ)


def test_a_round_uses_the_question_version_current_when_it_opened(session: Session, app: Flask, org) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(session, [org.dept])
    first = open_with_credentials(session, app, survey).round
    question = question_service.current_by_code(session, ["OSA-WL1"])["OSA-WL1"]
    edited = question_service.edit_question(session, question, question_service.QuestionInput(
        area=question.area, scale=question.scale, text_sv="Ny lydelse.", text_en="New wording.",
        allow_skip=True, sensitive=False, reverse=False))
    session.commit()
    assert edited.version == 2
    assert first.questions[0].question.version == 1
    assert first.questions[0].question.text_sv != "Ny lydelse."


def test_pending_answers_are_sealed_and_the_invitation_is_spent(session: Session, app: Flask, org) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(session, [org.dept])
    opened = open_with_credentials(session, app, survey)
    link, _ = opened.credentials["employee@example.org"]
    answer_service.submit(session, keys(app).token, link, {"OSA-WL1": 4, "OSA-SP1": None, "OSA-VI1": 0,
                                                           "OSA-NPS": 9}, "Mer fika, tack", now=LATER)
    session.commit()
    sealed = session.scalar(select(PendingResponse.sealed))
    assert sealed is not None and b"fika" not in sealed and b"OSA" not in sealed
    # One size for every answer: a pending row's size does not reveal whether a comment was written.
    assert len(sealed) == len(crypto.seal(opened.round.public_key, bytes(answer_service.SEALED_SIZE), b"x"))
    with pytest.raises(crypto.SealError):
        crypto.unseal(crypto.new_private_key(), sealed, round_service.round_context(opened.round.id))
    assert session.scalar(select(func.count()).select_from(Credential).where(Credential.spent.is_(True))) == 1
    with pytest.raises(answer_service.CredentialError, match="used"):
        answer_service.submit(session, keys(app).token, link, {}, None, now=LATER)
    # The same size as the longest comment in the widest script, written out (tests/unit/test_sealing.py).
    longest, _ = opened.credentials["safety@example.org"]
    answer_service.submit(session, keys(app).token, longest, {"OSA-WL1": 1}, "🙂" * 2000, now=LATER)
    session.commit()
    assert [len(s) for s in session.scalars(select(PendingResponse.sealed))] == [9086, 9086]


def test_the_typed_code_works_in_any_case_and_with_dashes(session: Session, app: Flask, org) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(session, [org.dept])
    _, code = open_with_credentials(session, app, survey).credentials["safety@example.org"]
    typed = " " + invitations.format_code(code).lower() + " "
    found = answer_service.find_credential(session, keys(app).token, typed, now=LATER)
    assert found.unit_id == org.dept.id


@pytest.mark.parametrize(("answers", "comment", "problem"), [
    ({"NOPE": 1}, None, {"NOPE": "unknown_question"}),
    ({"OSA-WL1": 6}, None, {"OSA-WL1": "out_of_scale"}),
    ({"OSA-WL1": "3"}, None, {"OSA-WL1": "out_of_scale"}),
    ({"OSA-WL1": True}, None, {"OSA-WL1": "out_of_scale"}),
    ({"OSA-VI1": 3}, None, {"OSA-VI1": "out_of_scale"}),
    ({}, "x" * (answer_service.MAX_COMMENT + 1), {"comment": "comment_too_long"}),
])
def test_bad_answers_are_refused_and_the_invitation_stays_usable(session: Session, app: Flask, org, answers,  # type: ignore[no-untyped-def]
                                                                  comment, problem) -> None:
    survey = make_survey(session, [org.dept])
    link, _ = open_with_credentials(session, app, survey).credentials["employee@example.org"]
    with pytest.raises(answer_service.AnswerError) as caught:
        answer_service.submit(session, keys(app).token, link, answers, comment, now=LATER)
    assert caught.value.problems == problem
    session.rollback()
    answer_service.submit(session, keys(app).token, link, {"OSA-WL1": 3}, None, now=LATER)


def test_required_question_without_skip(session: Session, app: Flask, org) -> None:  # type: ignore[no-untyped-def]
    question_service.install_bank(session)
    nps = question_service.current_by_code(session, ["OSA-NPS"])["OSA-NPS"]
    question_service.edit_question(session, nps, question_service.QuestionInput(
        area=nps.area, scale=nps.scale, text_sv=nps.text_sv, text_en=nps.text_en, allow_skip=False,
        sensitive=False, reverse=False))
    session.commit()
    survey = make_survey(session, [org.dept])
    link, _ = open_with_credentials(session, app, survey).credentials["employee@example.org"]
    with pytest.raises(answer_service.AnswerError) as caught:
        answer_service.submit(session, keys(app).token, link, {"OSA-NPS": None}, None, now=LATER)
    assert caught.value.problems == {"OSA-NPS": "required"}


def test_credentials_of_other_rounds_garbage_and_closed_rounds(session: Session, app: Flask, org) -> None:  # type: ignore[no-untyped-def]
    first = open_with_credentials(session, app, make_survey(session, [org.dept]))
    other = open_with_credentials(session, app, make_survey(session, [org.other, org.dept], name="Annan"))
    link_first, _ = first.credentials["employee@example.org"]
    link_other, _ = other.credentials["employee@example.org"]
    token = keys(app).token
    # Each credential opens exactly its own round.
    assert answer_service.find_credential(session, token, link_first, now=LATER).round.id == first.round.id
    assert answer_service.find_credential(session, token, link_other, now=LATER).round.id == other.round.id
    for garbage in ("", "x", "A" * 500, "\x00", "ÅÄÖ-1234", link_first[:-1]):
        with pytest.raises(answer_service.CredentialError, match="unknown"):
            answer_service.find_credential(session, token, garbage, now=LATER)
    # After the closing time (even before the scheduler has run) the round refuses answers.
    with pytest.raises(answer_service.CredentialError, match="closed"):
        answer_service.submit(session, token, link_first, {}, None, now=first.round.closes_at)


def _answer_all(session: Session, app: Flask, opened, values: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    for email, (link, _) in opened.credentials.items():
        answer_service.submit(session, keys(app).token, link, {"OSA-WL1": values.get(email, 3)},
                              f"kommentar från {email}", now=LATER)
    session.commit()


def test_closing_shuffles_stores_and_purges(session: Session, app: Flask, org) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(session, [org.dept])
    opened = open_with_credentials(session, app, survey)
    _answer_all(session, app, opened, {"employee@example.org": 5})
    rnd = session.get_one(Round, opened.round.id)
    result = round_service.close_round(session, rnd, keys(app), now=rnd.closes_at)
    session.commit()
    assert (result.answers, result.comments, result.unreadable) == (3, 3, 0)
    assert rnd.status == "closed" and session.get(RoundKey, rnd.id) is None
    for table in (PendingResponse, Invitation, Credential, CredentialHash, RoundKey):
        assert session.scalar(select(func.count()).select_from(table)) == 0, table
    stored = session.execute(select(Response.unit_id, Response.values)).all()
    assert sorted((u, json.loads(v)[0]) for u, v in stored) == [(org.dept.id, 3), (org.dept.id, 3), (org.dept.id, 5)]
    participation = {row.unit_id: (row.invited, row.answered) for row in session.scalars(select(RoundParticipation))}
    assert participation == {org.dept.id: (3, 3)}
    comments = list(session.scalars(select(Comment)))
    assert len(comments) == 3 and all(b"kommentar" not in c.sealed for c in comments)
    ckey = round_service.comment_key(keys(app), rnd.id)
    texts = {crypto.decrypt(ckey, c.sealed, round_service.round_context(rnd.id)).decode() for c in comments}
    assert texts == {f"kommentar från {email}" for email in opened.credentials}
    with pytest.raises(round_service.RoundError, match="not_open"):
        round_service.close_round(session, rnd, keys(app), now=rnd.closes_at)


def test_a_tampered_pending_answer_is_not_counted(session: Session, app: Flask, org) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(session, [org.dept])
    opened = open_with_credentials(session, app, survey)
    _answer_all(session, app, opened, {})
    pending = session.scalars(select(PendingResponse)).first()
    assert pending is not None
    pending.sealed = pending.sealed[:-1] + bytes([pending.sealed[-1] ^ 1])
    session.commit()
    result = round_service.close_round(session, session.get_one(Round, opened.round.id), keys(app), now=LATER)
    assert (result.answers, result.unreadable) == (2, 1)


def test_answer_and_comment_tables_hold_no_time_and_no_link_to_people() -> None:
    ledger = {"invitation", "credential", "credential_hash", "person", "round_participation"}
    for table_name in ("response", "comment", "pending_response"):
        table = Base.metadata.tables[table_name]
        assert not [c.name for c in table.columns if isinstance(c.type, DateTime | Date)
                    or "DateTime" in type(c.type).__name__], table_name
        targets = {fk.column.table.name for fk in table.foreign_keys}
        assert targets <= {"round", "unit"}, (table_name, targets)
        assert not targets & ledger
    for table_name in ("invitation", "credential", "credential_hash"):
        table = Base.metadata.tables[table_name]
        assert not [c.name for c in table.columns if "DateTime" in type(c.type).__name__]
        assert not {fk.column.table.name for fk in table.foreign_keys} & {"response", "comment", "pending_response"}
    assert ForeignKey  # imported for readers: foreign keys are what is being checked


def test_the_database_schema_matches_the_rule(session: Session) -> None:
    inspector = inspect(session.get_bind())
    for table_name in ("response", "comment"):
        assert {fk["referred_table"] for fk in inspector.get_foreign_keys(table_name)} <= {"round", "unit"}
        columns = {c["name"]: str(c["type"]).upper() for c in inspector.get_columns(table_name)}
        assert not [n for n, t in columns.items() if "DATE" in t or "TIME" in t]


def _spearman(xs: list[int], ys: list[int]) -> float:
    n = len(xs)
    rank_x = {v: i for i, v in enumerate(sorted(xs))}
    rank_y = {v: i for i, v in enumerate(sorted(ys))}
    d2 = sum((rank_x[x] - rank_y[y]) ** 2 for x, y in zip(xs, ys, strict=True))
    return 1 - 6 * d2 / (n * (n * n - 1))


def _encode(position: int) -> dict[str, int]:
    """A unique answer set for each submission position (< 825), so stored rows can be traced to their time."""
    rest, nps = divmod(position, 11)
    rest, vi = divmod(rest, 3)
    wl, sp = divmod(rest, 5)
    return {"OSA-WL1": wl + 1, "OSA-SP1": sp + 1, "OSA-VI1": vi, "OSA-NPS": nps}


def _decode(values: list[int]) -> int:
    wl, sp, vi, nps = values
    return (((wl - 1) * 5 + (sp - 1)) * 3 + vi) * 11 + nps


def _submit_in_order(session: Session, app: Flask, org, count: int):  # type: ignore[no-untyped-def]
    people = [make_person(session, f"p{i:03d}@example.org", unit=org.team_b, password=None) for i in range(count)]
    session.commit()
    opened = open_with_credentials(session, app, make_survey(session, [org.team_b]))
    for position, person in enumerate(people):
        answer_service.submit(session, keys(app).token, opened.credentials[person.email][0], _encode(position),
                              None, now=LATER)
        session.commit()
    return opened


def _pending_order(session: Session, app: Flask, round_id: int) -> list[int]:
    """The submission positions of the pending pool, in the order a reader of the table gets them."""
    context = round_service.round_context(round_id)
    private = crypto.unwrap_round_key(keys(app).wrap, session.get_one(RoundKey, round_id).wrapped_private_key,
                                      context)
    return [_decode(open_payload(crypto.unseal(private, sealed, context))[1])
            for sealed in session.scalars(select(PendingResponse.sealed).where(PendingResponse.round_id == round_id))]


def _stored_orders(session: Session) -> list[list[int]]:
    by_key = [_decode(json.loads(v)) for v in session.scalars(select(Response.values).order_by(Response.id))]
    physical_column = "rowid" if session.get_bind().dialect.name == "sqlite" else "ctid"
    physical = [_decode(json.loads(v)) for (v,) in session.execute(
        text(f'SELECT "values" FROM response ORDER BY {physical_column}'))]
    return [by_key, physical]


def test_stored_order_is_independent_of_submission_order(session: Session, app: Flask, org) -> None:  # type: ignore[no-untyped-def]
    opened = _submit_in_order(session, app, org, 200)
    pending = _pending_order(session, app, opened.round.id)
    assert sorted(pending) == list(range(200))
    if session.get_bind().dialect.name == "sqlite":
        # On SQLite the pending pool already says nothing about the order of submission (random keys, no rowid).
        # PostgreSQL's heap keeps rows in the order they came: that order is tied to nobody (no write in an
        # answer's transaction touches a person), and it does not survive the close.
        assert abs(_spearman(list(range(200)), pending)) < 0.3
    round_service.close_round(session, session.get_one(Round, opened.round.id), keys(app), now=LATER)
    session.commit()
    # ...and what is stored at close follows neither the submission order nor the pool's order. Storage order as
    # any reader of the table could see it: by primary key, and physical (rowid / ctid).
    for stored in _stored_orders(session):
        assert sorted(stored) == list(range(200))
        # Under independence |rho| > 0.3 has p < 2e-5 for n = 200; a leak of an order gives rho near 1.
        assert abs(_spearman(list(range(200)), stored)) < 0.3
        assert abs(_spearman([pending.index(v) for v in range(200)], [stored.index(v) for v in range(200)])) < 0.3


def test_the_order_test_detects_a_missing_shuffle(session: Session, app: Flask, org) -> None:  # type: ignore[no-untyped-def]
    """Without the shuffle, the physical order at close follows the order the pool was read in: the test above
    would catch that."""
    opened = _submit_in_order(session, app, org, 60)
    pending = _pending_order(session, app, opened.round.id)
    round_service.close_round(session, session.get_one(Round, opened.round.id), keys(app), now=LATER,
                              shuffle=lambda items: None)
    session.commit()
    physical = _stored_orders(session)[1]
    assert _spearman([pending.index(v) for v in range(60)], [physical.index(v) for v in range(60)]) > 0.9


@pytest.mark.parametrize("path", ["submit", "store"])
def test_concurrent_submissions_of_one_credential_store_exactly_one(app: Flask, session: Session, org,  # type: ignore[no-untyped-def]
                                                                     path: str) -> None:
    survey = make_survey(session, [org.dept])
    opened = open_with_credentials(session, app, survey)
    link, _ = opened.credentials["employee@example.org"]
    database = get_database(app)
    token = keys(app).token
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        try:
            if path == "store":  # the answer API's way: its own connection, one statement on PostgreSQL
                answer_service.store(database, token, link, {"OSA-WL1": 2}, None, now=LATER)
            else:  # the answer form's way: the request's session
                with database.session(write=True) as own:
                    answer_service.submit(own, token, link, {"OSA-WL1": 2}, None, now=LATER)
                    own.commit()
            outcomes.append("stored")
        except answer_service.CredentialError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["stored"] + ["used"] * 7
    session.rollback()
    assert session.scalar(select(func.count()).select_from(PendingResponse)) == 1
    assert session.scalar(select(func.count()).select_from(Credential).where(Credential.spent.is_(True))) == 1


def test_an_answer_arriving_while_the_round_closes_is_counted_or_refused_never_lost(  # type: ignore[no-untyped-def]
        app: Flask, session: Session, org) -> None:
    """A round closed early (from a page or the command line) while people still answer: an answer sent after the
    close has read the sealed pool must wait for the close and be told the round closed — not be stored, deleted
    with the pool uncounted, and its credential counted as answered."""
    survey = make_survey(session, [org.dept])
    opened = open_with_credentials(session, app, survey)
    database = get_database(app)
    token = keys(app).token
    first, late = opened.credentials["employee@example.org"][0], opened.credentials["manager@example.org"][0]
    answer_service.store(database, token, first, {"OSA-WL1": 2}, None, now=LATER)
    outcome: list[str] = []

    def answer_late() -> None:
        try:
            answer_service.store(database, token, late, {"OSA-WL1": 4}, None, now=LATER)
            outcome.append("stored")
        except answer_service.CredentialError as exc:
            outcome.append(exc.code)

    racer = threading.Thread(target=answer_late)

    def in_the_middle(items: list[object]) -> None:
        # The pool has been read; the close has not committed. The late answer starts now and gets a moment.
        if not racer.is_alive() and not outcome:
            racer.start()
            racer.join(timeout=1.5)

    with database.session(write=True) as closing:
        result = round_service.close_round(closing, closing.get_one(Round, opened.round.id), keys(app), now=LATER,
                                           shuffle=in_the_middle)
        closing.commit()
    racer.join(timeout=30)
    assert outcome == ["closed"]
    session.expire_all()
    assert result.answers == 1
    participation = session.scalars(select(RoundParticipation).where(
        RoundParticipation.round_id == opened.round.id)).all()
    assert sum(p.answered for p in participation) == 1  # the answered count and the stored answers agree
    assert session.scalar(select(func.count()).select_from(Response)) == 1
    assert session.scalar(select(func.count()).select_from(PendingResponse)) == 0


def test_question_bank_install_is_idempotent(session: Session) -> None:
    assert question_service.install_bank(session) > 20
    assert question_service.install_bank(session) == 0
    assert session.scalar(select(func.count()).select_from(Question).where(Question.pack == "hme")) == 9


def test_a_round_view_holds_only_its_own_round(session: Session, app: Flask, org) -> None:  # type: ignore[no-untyped-def]
    """Two rounds open at once, over overlapping people: each round's view (what the answer page and the answer
    check use) has its own questions, name, thresholds and invited counts — counted by hand from the set-up, not
    from the invitations table: Förvaltningen has three people (Maja, Sam, Erik), Exempelstad those and Ada."""
    narrow = make_survey(session, [org.dept], questions=("OSA-WL1",), name="Förvaltningspuls", min_group_size=3)
    wide = make_survey(session, [org.root], questions=("OSA-SP1", "OSA-NPS"), name="Kommunpuls", min_group_size=4,
                       min_dist_size=4, min_comment_size=4)
    first = open_with_credentials(session, app, narrow)
    second = open_with_credentials(session, app, wide)
    assert len(first.credentials) == 3 and len(second.credentials) == 4
    for rnd, name, codes, k, invited in ((first.round, "Förvaltningspuls", ["OSA-WL1"], 3, 3),
                                         (second.round, "Kommunpuls", ["OSA-SP1", "OSA-NPS"], 4, 4)):
        for _ in range(2):  # read from the database, then from the cache
            view = answer_service.round_view(session, rnd.id)
            assert (view.id, view.survey_name, view.min_group_size) == (rnd.id, name, k)
            assert [q.code for q in view.questions] == codes
            assert sum(view.unit_sizes.values()) == invited
    # What a credential of the first round is told about its group counts the first round only.
    link, _ = first.credentials["employee@example.org"]
    found = answer_service.find_credential(session, keys(app).token, link, now=LATER)
    assert found.round.id == first.round.id and found.unit_size <= 3


#: The comment prompt every round with comments asks (the shipped OSA-APT, version 1), written out.
APT_PROMPT = answer_service.QuestionView(
    "OSA-APT", 1, "text", True,
    "Finns det något i arbetsmiljön som du vill att vi tar upp på nästa arbetsplatsträff (APT)? Skriv inga namn.",
    "Is there anything about the work environment you would like us to raise at the next workplace meeting (APT)? "
    "Do not write any names.",
    "apt")


def test_a_round_view_asks_in_position_order_and_counts_invited_per_unit(session: Session, app: Flask, org) -> None:  # type: ignore[no-untyped-def]
    """The questions in the round's positions, and the invited count of each counting unit (the small-group notice
    reads it per unit, not in sum), counted by hand: Förvaltningen holds Maja (she leads Team A, so she counts one
    level up) and two more, Team A Erik and three more, Team B Sam and four more."""
    for unit, prefix, extra in ((org.dept, "d", 2), (org.team_a, "a", 3), (org.team_b, "b", 4)):
        for i in range(extra):
            make_person(session, f"{prefix}{i}@example.org", unit=unit, password=None)
    session.commit()
    survey = make_survey(session, [org.dept], questions=("OSA-NPS", "OSA-WL1", "OSA-SP1"))
    opened = open_with_credentials(session, app, survey)
    rid = opened.round.id
    # Positions in an order that is neither the order the rows were written in (NPS, WL1, SP1), nor the bank's
    # order of the questions' ids (WL1, SP1, NPS), nor either reversed: only reading by position gives it.
    moves = update(RoundQuestion).where(RoundQuestion.round_id == rid).execution_options(synchronize_session=False)
    session.execute(moves.values(position=RoundQuestion.position + 10))
    code_of = dict(session.execute(select(Question.code, Question.id).where(Question.current.is_(True))).all())
    for code, position in (("OSA-WL1", 2), ("OSA-NPS", 1), ("OSA-SP1", 0)):
        session.execute(moves.where(RoundQuestion.question_id == code_of[code]).values(position=position))
    session.commit()
    view = answer_service.round_view(session, rid)
    assert [q.code for q in view.questions] == ["OSA-SP1", "OSA-NPS", "OSA-WL1"]
    assert dict(view.unit_sizes) == {org.dept.id: 3, org.team_a.id: 4, org.team_b.id: 5}
    link, _ = opened.credentials["b3@example.org"]
    assert answer_service.find_credential(session, keys(app).token, link, now=LATER).unit_size == 5


def test_a_round_view_has_its_rounds_number_and_comment_prompt(session: Session, app: Flask, org) -> None:  # type: ignore[no-untyped-def]
    """A round with comments shows the shipped prompt (written out above), one without none; the second round of a
    survey is number 2."""
    asking = make_survey(session, [org.dept], name="Med kommentar")
    quiet = make_survey(session, [org.dept], name="Utan kommentar", comment_enabled=False)
    first = open_with_credentials(session, app, asking).round
    silent = answer_service.round_view(session, open_with_credentials(session, app, quiet).round.id)
    assert (silent.number, silent.comment_enabled, silent.comment_prompt) == (1, False, None)
    view = answer_service.round_view(session, first.id)
    assert (view.number, view.comment_enabled, view.comment_prompt) == (1, True, APT_PROMPT)
    rnd = session.get_one(Round, first.id)
    round_service.close_round(session, rnd, keys(app), now=rnd.closes_at)
    session.commit()
    second = open_with_credentials(session, app, asking, now=rnd.closes_at).round
    view = answer_service.round_view(session, second.id)
    assert (view.id, view.number, view.survey_name, view.comment_prompt) == (second.id, 2, "Med kommentar",
                                                                             APT_PROMPT)


def test_a_round_view_is_read_once_then_served_from_the_cache(session: Session, app: Flask, org) -> None:  # type: ignore[no-untyped-def]
    """Every answer reads its round's view: after the first read it comes from the cache, the same object and no
    statement sent to the database."""
    opened = open_with_credentials(session, app, make_survey(session, [org.dept]))
    first = answer_service.round_view(session, opened.round.id)
    engine = session.get_bind().engine
    statements: list[str] = []

    def seen(_connection, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        again = answer_service.round_view(session, opened.round.id)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert again is first
    assert statements == []


def _pending_comments(session: Session, app: Flask, round_id: int) -> list[str | None]:
    """The comments of a round's pending pool, unsealed with the round's private key."""
    context = round_service.round_context(round_id)
    private = crypto.unwrap_round_key(keys(app).wrap, session.get_one(RoundKey, round_id).wrapped_private_key,
                                      context)
    return sorted((open_payload(crypto.unseal(private, sealed, context))[2] for sealed in session.scalars(
        select(PendingResponse.sealed).where(PendingResponse.round_id == round_id))), key=lambda c: c or "")


def test_an_answer_without_a_comment_stores_no_comment(session: Session, app: Flask, org) -> None:  # type: ignore[no-untyped-def]
    """No comment or only blanks is sealed as no comment at all (nothing to place or count when the
    round closes); a written one is sealed without its surrounding blanks."""
    opened = open_with_credentials(session, app, make_survey(session, [org.dept]))
    for email, comment in (("employee@example.org", None), ("safety@example.org", " \n\t "),
                           ("manager@example.org", "  Mer fika  ")):
        answer_service.submit(session, keys(app).token, opened.credentials[email][0], {"OSA-WL1": 3}, comment,
                              now=LATER)
        session.commit()
    assert _pending_comments(session, app, opened.round.id) == [None, None, "Mer fika"]


def test_store_asks_before_an_empty_set_unless_confirmed(session: Session, app: Flask, org) -> None:  # type: ignore[no-untyped-def]
    """Called without ``confirm_empty``, storing a set with nothing in it is refused (EmptyAnswerError) before
    anything is written, and the invitation stays usable; confirmed, it is stored and uses the invitation."""
    opened = open_with_credentials(session, app, make_survey(session, [org.dept]))
    database, token = get_database(app), keys(app).token
    link, _ = opened.credentials["employee@example.org"]
    with pytest.raises(answer_service.EmptyAnswerError):
        answer_service.store(database, token, link, {}, None, now=LATER)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(PendingResponse)) == 0
    assert session.scalar(select(func.count()).select_from(Credential).where(Credential.spent.is_(True))) == 0
    answer_service.store(database, token, link, {}, "  ", now=LATER, confirm_empty=True)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(PendingResponse)) == 1
    assert session.scalar(select(func.count()).select_from(Credential).where(Credential.spent.is_(True))) == 1


def test_an_answer_that_cannot_be_stored_leaves_its_invitation_unspent(session: Session, app: Flask, org,  # type: ignore[no-untyped-def]
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Spending the invitation and storing the answer happen together or not at all: on PostgreSQL in one
    statement, on SQLite in one transaction. Were the insert to fail (simulated: the insert names a table that does
    not exist), nothing is written and the invitation can still be used — the person can answer again."""
    opened = open_with_credentials(session, app, make_survey(session, [org.dept]))
    database, token = get_database(app), keys(app).token
    link, _ = opened.credentials["employee@example.org"]
    if database.write_engine.dialect.name == "sqlite":
        broken = dataclasses.replace(answer_service._statements("sqlite"),
                                     store="INSERT INTO no_such_table VALUES (?, ?, ?)")
        monkeypatch.setattr(answer_service, "_statements", lambda dialect: broken)
    else:
        statement = answer_service.SPEND_AND_STORE["postgresql"].replace("INSERT INTO pending_response",
                                                                           "INSERT INTO no_such_table")
        monkeypatch.setitem(answer_service.SPEND_AND_STORE, "postgresql", statement)
    with pytest.raises(DBAPIError):
        answer_service.store(database, token, link, {}, None, now=LATER, confirm_empty=True)
    monkeypatch.undo()
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Credential).where(Credential.spent.is_(True))) == 0
    answer_service.store(database, token, link, {}, None, now=LATER, confirm_empty=True)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(PendingResponse)) == 1
    assert session.scalar(select(func.count()).select_from(Credential).where(Credential.spent.is_(True))) == 1


@pytest.mark.parametrize("credential", ["", "A" * (answer_service.MAX_CREDENTIAL + 1)])
def test_an_empty_or_overlong_credential_is_refused_without_a_look_up(session: Session, app: Flask, org,  # type: ignore[no-untyped-def]
                                                                       credential: str) -> None:
    """Nothing (or more than MAX_CREDENTIAL = 100 characters) can be a link token or code: it is ``unknown`` at
    once, with no statement sent to the database."""
    open_with_credentials(session, app, make_survey(session, [org.dept]))
    engine = session.get_bind().engine
    statements: list[str] = []

    def seen(_connection, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    with engine.connect() as conn:
        event.listen(engine, "before_cursor_execute", seen)
        try:
            with pytest.raises(answer_service.CredentialError, match="unknown"):
                answer_service.find_credential(conn, keys(app).token, credential, now=LATER)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
    assert statements == []
