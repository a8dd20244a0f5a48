"""The scheduler's 6:6a steps: the employer is asked the day a request is made, reminded each working day, and the
request goes to the next manager up — each step once, however many ticks run, and again after a mail failure."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse.common import mail
from pulse.common.db import get_database
from pulse.domain.desk import Step
from pulse.models import AuditEntry, SafetyRequest
from pulse.services import safety
from tests.factories import Org, make_person
from tests.integration.test_scheduler import body, outbox, run_tick

TZ = ZoneInfo("Europe/Stockholm")


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), TZ).astimezone(dt.UTC)


def make_request(session: Session, org: Org, made: dt.datetime) -> int:
    request = safety.register(session, org.safety, unit_id=org.team_a.id, kind="investigation",
                              title="Buller i verkstaden", reasons="Flera har fått tinnitus.",
                              reply_by=dt.date(2026, 12, 15), now=made, tz=TZ)
    session.commit()
    return request.id


def test_asked_reminded_and_escalated_once_each(app: Flask, session: Session, org: Org) -> None:
    boss = make_person(session, "chef.forvaltning@example.org", unit=org.root, manages=[org.dept], name="Bo Chef",
                       language="en")
    session.commit()
    request_id = make_request(session, org, at("2026-12-01", 8))
    report = run_tick(app, at("2026-12-01", 8))
    assert report.safety_notices == 1
    assert run_tick(app, at("2026-12-01", 15)).safety_notices == 0  # same day: nothing again
    messages = outbox(app)
    assert [m["To"] for m in messages] == [org.manager.email]
    assert "Buller i verkstaden" in body(messages[0]) and "2026-12-15" in body(messages[0])
    assert messages[0]["Subject"] == "Begäran enligt 6:6a AML: bekräfta mottagandet"
    assert run_tick(app, at("2026-12-02")).safety_notices == 1  # reminder
    report = run_tick(app, at("2026-12-03"))  # two working days: to the next manager up, and the others told
    assert report.safety_notices == 3
    escalation = [m for m in outbox(app) if "vidare" in m["Subject"] or "passed on" in m["Subject"]]
    assert {m["To"] for m in escalation} == {boss.email, org.manager.email, org.safety.email}
    assert next(m for m in escalation if m["To"] == boss.email)["Subject"] == \
        "Request under AML 6:6a passed on to you"  # in the recipient's language
    assert run_tick(app, at("2026-12-03", 16)).safety_notices == 0
    session.commit()
    item = session.get_one(SafetyRequest, request_id)
    session.refresh(item)
    assert [e.kind for e in item.events] == ["registered", "ask", "remind", "escalate"]
    assert item.escalated_to_id == boss.id and item.reminders == 1
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions == ["safety_request.ask", "safety_request.remind", "safety_request.escalate"]
    # Confirmed: no more reminders.
    safety.confirm(session, org.manager, item, now=at("2026-12-03", 17))
    session.commit()
    assert run_tick(app, at("2026-12-04")).safety_notices == 0


def test_a_step_is_taken_once_when_two_runs_meet(app: Flask, session: Session, org: Org) -> None:
    request_id = make_request(session, org, at("2026-12-01", 8))
    database = get_database(app)
    with database.session(write=True) as first:
        assert safety.take_step(first, request_id, Step.ASK, now=at("2026-12-01", 8), tz=TZ)
        first.commit()
    with database.session(write=True) as second:
        assert safety.take_step(second, request_id, Step.ASK, now=at("2026-12-01", 8), tz=TZ) is None


def test_parallel_ticks_ask_once(app: Flask, session: Session, org: Org) -> None:
    make_request(session, org, at("2026-12-01", 8))
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        run_tick(app, at("2026-12-01", 8))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run_tick(app, at("2026-12-01", 9))
    assert [m["To"] for m in outbox(app)] == [org.manager.email]


def test_a_mail_failure_leaves_the_step_for_the_next_run(app: Flask, session: Session, org: Org,
                                                         monkeypatch) -> None:  # type: ignore[no-untyped-def]
    request_id = make_request(session, org, at("2026-12-01", 8))

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise mail.MailError("down")

    monkeypatch.setattr(mail, "send", refuse)
    report = run_tick(app, at("2026-12-01", 8))
    assert report.errors == [f"6:6a request {request_id}: mail failed"]
    session.commit()
    assert session.get_one(SafetyRequest, request_id).asked_at is None
    monkeypatch.undo()
    assert run_tick(app, at("2026-12-01", 10)).safety_notices == 1
