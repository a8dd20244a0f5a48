"""`pulse tick`: opening, mailing, reminding and closing on schedule — idempotent and safe in parallel."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pulse import scheduler
from pulse.models import Invitation, Round, RoundParticipation, Survey
from pulse.services import answers as answer_service
from pulse.services.surveys import SurveyError
from tests.factories import make_person
from tests.rounds import keys, make_survey

OPEN = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)  # next Monday 08:00 in Stockholm


def outbox(app: Flask) -> list[email.message.EmailMessage]:
    folder: Path = app.config["PULSE"].outbox_dir
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for p in sorted(folder.glob("*.eml"))] if folder.exists() else []


def run_tick(app: Flask, now: dt.datetime) -> scheduler.TickReport:
    with app.app_context():
        return scheduler.tick(app, now=now)


def body(message: email.message.EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_a_weekly_survey_runs_by_itself(app: Flask, session: Session, org) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(session, [org.dept], open_time="08:00", reminder_after_days=2)
    assert survey.next_open_at == OPEN
    assert run_tick(app, OPEN - dt.timedelta(minutes=1)).opened == []
    report = run_tick(app, OPEN)
    assert len(report.opened) == 1 and report.invitations_sent == 3
    messages = outbox(app)
    assert {m["To"] for m in messages} == {"manager@example.org", "safety@example.org", "employee@example.org"}
    text = body(messages[0])
    link = re.search(r"http://pulse\.test/r\?lang=(sv|en)#t=(\S+)", text)
    assert link, text
    # The token travels only in the fragment: never in a path or query string (the query names the language).
    parts = urlsplit(link.group(0))
    assert (parts.path, parts.query, parts.fragment) == ("/r", f"lang={link.group(1)}", f"t={link.group(2)}")
    assert re.search(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}", text)
    assert "http://pulse.test/privacy" in text
    assert messages[0]["Subject"] == "Hur är det på jobbet? (2 minuter)"
    # Running again at once does nothing twice.
    again = run_tick(app, OPEN + dt.timedelta(minutes=1))
    assert (again.opened, again.invitations_sent, again.reminders_sent) == ([], 0, 0)
    assert len(outbox(app)) == 3
    # Someone answers with the e-mailed link.
    answer_service.submit(session, keys(app).token, link.group(2), {"OSA-WL1": 3}, None, now=OPEN)
    session.commit()
    # Two working days later everyone gets the same reminder, word for word: with no link or code of its own, it
    # says nothing about who answered, and Pulse could not write one for a particular person anyway.
    reminded = run_tick(app, OPEN + dt.timedelta(days=2))
    assert reminded.reminders_sent == 3
    reminders = [m for m in outbox(app) if m["Subject"].startswith("Påminnelse")]
    assert len(reminders) == 3 and len({body(m) for m in reminders}) == 1
    assert "#t=" not in body(reminders[0]) and not re.search(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}", body(reminders[0]))
    assert run_tick(app, OPEN + dt.timedelta(days=2, minutes=5)).reminders_sent == 0
    # Five working days after opening the round closes, and the next one opens a week after the first.
    closing = run_tick(app, OPEN + dt.timedelta(days=7))
    assert len(closing.closed) == 1 and len(closing.opened) == 1
    session.rollback()
    first = session.get_one(Round, closing.closed[0])
    assert first.status == "closed" and first.answers == 1
    assert session.scalar(select(func.count()).select_from(Invitation).where(Invitation.round_id == first.id)) == 0
    assert session.scalar(select(func.sum(RoundParticipation.answered)).where(
        RoundParticipation.round_id == first.id)) == 1


def test_reminding_only_those_who_have_not_answered_cannot_be_chosen(session: Session, org) -> None:  # type: ignore[no-untyped-def]
    """Nothing Pulse stores says who has not answered, so that choice does not exist (docs/ANONYMITY.md)."""
    with pytest.raises(SurveyError, match="reminder_policy"):
        make_survey(session, [org.dept], reminder_policy="non_respondents")


def test_parallel_ticks_open_one_round_and_mail_each_person_once(app: Flask, session: Session, org) -> None:  # type: ignore[no-untyped-def]
    for i in range(30):
        make_person(session, f"extra{i}@example.org", unit=org.team_b, password=None)
    session.commit()
    make_survey(session, [org.dept])
    reports: list[scheduler.TickReport] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        reports.append(run_tick(app, OPEN))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Whichever ticks ran, together they did the work exactly once; a late tick finishes anything left.
    run_tick(app, OPEN + dt.timedelta(minutes=1))
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Round)) == 1
    # Team B's 31 are invited; the one employee of team A and the department's manager would count together in
    # the department, two people, fewer than k: they are not invited.
    assert session.scalar(select(Round.excluded)) == 2
    recipients = [m["To"] for m in outbox(app)]
    assert len(recipients) == 31 and len(set(recipients)) == 31
    assert sum(len(r.opened) for r in reports) == 1


def test_paused_and_manual_surveys_never_open(app: Flask, session: Session, org) -> None:  # type: ignore[no-untyped-def]
    make_survey(session, [org.dept], cadence="manual")
    make_survey(session, [org.dept], active=False, name="Pausad")
    assert session.scalar(select(func.count()).select_from(Survey).where(Survey.next_open_at.is_not(None))) == 0
    assert run_tick(app, OPEN + dt.timedelta(days=30)).opened == []


def test_cli_tick_survey_and_round_commands(runner: FlaskCliRunner, app: Flask, session: Session, org) -> None:  # type: ignore[no-untyped-def]
    from pulse.services import questions

    questions.install_bank(session)
    for i in range(4):
        make_person(session, f"extra{i}@example.org", unit=org.team_b, password=None)
    session.commit()
    result = runner.invoke(args=["survey", "create", "--name", "Puls", "--unit", "dept", "--k", "6",
                                 "--now", "2026-11-24T10:00"])
    assert result.exit_code == 0, result.output
    assert "2026-11-30T07:00:00+00:00" in result.output
    result = runner.invoke(args=["survey", "create", "--name", "Låg", "--unit", "dept", "--k", "2"])
    assert result.exit_code == 1 and "threshold_low" in result.output
    result = runner.invoke(args=["survey", "create", "--name", "X", "--unit", "nowhere"])
    assert result.exit_code == 2 and "no unit" in result.output
    assert "Puls" in runner.invoke(args=["survey", "list"]).output
    result = runner.invoke(args=["tick", "--now", "2026-11-30T08:00"])
    assert result.exit_code == 0 and "opened rounds: 1, invitations sent: 7" in result.output
    result = runner.invoke(args=["round", "status", "1"])
    assert "invited 7" in result.output and "not shown (too few invited)" in result.output
    assert "Team A counts in Förvaltningen" in result.output
    result = runner.invoke(args=["round", "open", "1", "--now", "2026-11-30T09:00"])
    assert result.exit_code == 1 and "already_open" in result.output
    result = runner.invoke(args=["round", "close", "1", "--now", "2026-12-01T09:00"])
    # No answers of 7 invited: fewer than k = 6 invited would make even "0" a disclosure; 7 ≥ 6 allows it.
    assert result.exit_code == 0 and "0 answers stored" in result.output
    status = runner.invoke(args=["round", "status", "1"]).output
    assert "roster changes" in status and "answers 0" in status
    assert runner.invoke(args=["round", "close", "1"]).exit_code == 1
    assert runner.invoke(args=["round", "status", "99"]).exit_code == 1
    result = runner.invoke(args=["tick", "--now", "yesterday"])
    assert result.exit_code == 2 and "ISO-8601" in result.output


def test_a_round_still_open_at_the_next_slot_is_a_note_not_an_error(runner: FlaskCliRunner, app: Flask,  # type: ignore[no-untyped-def]
                                                                    session: Session, org) -> None:
    survey = make_survey(session, [org.dept])
    make_survey(session, [org.dept], name="Andra")
    survey_id = survey.id
    # Opened by hand the day before its slot (as `make run`'s demo does): at the slot, it is still open.
    assert runner.invoke(args=["round", "open", str(survey_id), "--now", "2026-11-29T09:00"]).exit_code == 0
    result = runner.invoke(args=["tick", "--now", "2026-11-30T08:00"])
    assert result.exit_code == 0, result.output
    assert "errors" not in result.output and "already_open" not in result.output
    assert "opened rounds: 1" in result.output and "still open: 1" in result.output  # the other survey opened
    assert f"survey {survey_id}: its round is still open; next opening 2026-12-07T07:00+00:00" in result.output


def test_a_survey_with_nobody_to_invite_is_still_an_error(app: Flask, session: Session, org) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(session, [org.other])  # nobody works there
    report = run_tick(app, OPEN)
    assert report.errors == [f"survey {survey.id}: no_one_invited"] and report.notes == []
