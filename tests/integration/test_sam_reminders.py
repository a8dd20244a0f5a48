"""Action reminders through `pulse tick`: to the owner and the unit's safety representative, once per reminder, also
with several processes at once; a failed mail is tried again, a dead process's claim is freed."""

from __future__ import annotations

import datetime as dt
import threading

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse import scheduler
from pulse.common import mail
from pulse.common.db import get_database
from pulse.models import Action, ActionReminder
from pulse.services import sam
from pulse.services.org import Scope
from tests.factories import Org
from tests.integration.test_scheduler import body, outbox, run_tick

NOW = dt.datetime(2026, 12, 10, 8, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 12, 10)


def make_action(session: Session, org: Org, **changes: object) -> Action:
    data = dict(activity="Inför en stängd dag för planering varje månad", goal="", owner_role="Enhetschef",
                owner_id=org.employee.id, start_on=TODAY - dt.timedelta(days=60),
                due_on=TODAY - dt.timedelta(days=1))
    action = sam.create_action(session, org.team_a.id, sam.ActionInput(**{**data, **changes}),  # type: ignore[arg-type]
                               scope=Scope(True, frozenset()), by=org.manager)
    session.commit()
    return action


def test_an_overdue_action_reminds_its_owner_and_the_safety_representative_once(app: Flask, session: Session,
                                                                                org: Org) -> None:
    action = make_action(session, org)
    report = run_tick(app, NOW)
    assert report.action_reminders == 1 and not report.errors
    messages = outbox(app)
    assert sorted(m["To"] for m in messages) == [org.employee.email, org.safety.email]
    text = body(messages[0])
    assert "Inför en stängd dag för planering" in text and "Team A" in text
    assert f"http://pulse.test/staff/sam/actions/{action.id}" in text
    assert "Försenad åtgärd" in messages[0]["Subject"]  # in the recipient's language (Swedish)
    # The next runs (the same day, the next day) send nothing more.
    assert run_tick(app, NOW + dt.timedelta(minutes=5)).action_reminders == 0
    assert run_tick(app, NOW + dt.timedelta(days=1)).action_reminders == 0
    assert len(outbox(app)) == 2
    # A new done-by date is a new reminder when it comes near.
    session.get_one(Action, action.id).due_on = TODAY + dt.timedelta(days=5)
    session.commit()
    assert run_tick(app, NOW + dt.timedelta(days=1)).action_reminders == 1
    assert len(outbox(app)) == 4


def test_done_and_cancelled_actions_are_not_reminded(app: Flask, session: Session, org: Org) -> None:
    make_action(session, org, status="done")
    make_action(session, org, status="cancelled", follow_up_on=TODAY - dt.timedelta(days=1))
    assert run_tick(app, NOW).action_reminders == 0
    assert outbox(app) == []


def test_parallel_runs_send_each_reminder_once(app: Flask, session: Session, org: Org) -> None:
    for i in range(6):
        make_action(session, org, activity=f"Åtgärd {i}")
    database = get_database(app)
    barrier = threading.Barrier(4)
    counts: list[int] = []

    def worker() -> None:
        # Straight to the job, without the scheduler's lease: the claims alone must keep it to once.
        with app.app_context():
            barrier.wait()
            counts.append(scheduler.send_action_reminders(database, now=NOW, today=TODAY))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 6
    recipients = [m["To"] for m in outbox(app)]
    assert len(recipients) == 12 and sorted(set(recipients)) == [org.employee.email, org.safety.email]
    session.rollback()
    assert session.scalars(select(ActionReminder.sent)).all() == [True] * 6


class FailingMailer:
    def send(self, message: mail.Message) -> None:
        raise mail.MailError("down")


def test_a_failed_mail_is_tried_again_and_a_dead_claim_is_freed(app: Flask, session: Session, org: Org) -> None:
    action = make_action(session, org)
    working = app.extensions["pulse.mailer"]
    app.extensions["pulse.mailer"] = FailingMailer()
    report = run_tick(app, NOW)
    assert report.action_reminders == 0 and report.errors == [f"action {action.id}: reminder mail failed"]
    session.rollback()
    assert session.scalars(select(ActionReminder)).all() == []
    app.extensions["pulse.mailer"] = working
    assert run_tick(app, NOW + dt.timedelta(minutes=5)).action_reminders == 1
    # A claim left unsent by a process that died is freed after an hour, then sent.
    session.rollback()  # end the read transaction: on SQLite it could not become a write one after the tick wrote
    other = make_action(session, org, activity="Annan åtgärd")
    with get_database(app).session(write=True) as db:
        sam.claim_reminder(db, other.id, "overdue", other.due_on, now=NOW)
        db.commit()
    assert run_tick(app, NOW + dt.timedelta(minutes=30)).action_reminders == 0
    assert run_tick(app, NOW + dt.timedelta(minutes=61)).action_reminders == 1
