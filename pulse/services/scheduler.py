"""`pulse tick`: everything that is due — close rounds, open rounds, send invitations and reminders.

Safe to run from several processes at once: a lease row in the database lets one run work at a time, and every
step re-checks its state inside its own transaction, so running it twice does nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pulse import mail
from pulse.context import record_audit
from pulse.db import Database, get_database
from pulse.models import Round, SchedulerLease, Survey
from pulse.services import rounds as round_service

log = logging.getLogger(__name__)

LEASE_NAME = "tick"
LEASE_SECONDS = 300
MAIL_BATCH = 200


@dataclass
class TickReport:
    ran: bool = True
    closed: list[int] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)
    invitations_sent: int = 0
    reminders_sent: int = 0
    purged: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.ran:
            return "Another tick is running; nothing done."
        return (f"closed rounds: {len(self.closed)}, opened rounds: {len(self.opened)}, "
                f"invitations sent: {self.invitations_sent}, reminders sent: {self.reminders_sent}"
                + (f", raw answers deleted: {self.purged}" if self.purged else "")
                + (f", errors: {len(self.errors)}" if self.errors else ""))


class Lease:
    """A time-limited lock row. Whoever holds an unexpired lease does the work; others skip."""

    def __init__(self, database: Database, name: str = LEASE_NAME, seconds: int = LEASE_SECONDS) -> None:
        self.database, self.name, self.seconds = database, name, seconds
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def acquire(self, now: dt.datetime) -> bool:
        expires = now + dt.timedelta(seconds=self.seconds)
        with self.database.session(write=True) as session:
            taken = session.execute(
                update(SchedulerLease).where(SchedulerLease.name == self.name,
                                             (SchedulerLease.expires_at < now) | (SchedulerLease.holder == self.holder))
                .values(holder=self.holder, expires_at=expires))
            if getattr(taken, "rowcount", 0) == 1:
                session.commit()
                return True
            if session.get(SchedulerLease, self.name) is not None:
                return False
            session.add(SchedulerLease(name=self.name, holder=self.holder, expires_at=expires))
            try:
                session.commit()
            except IntegrityError:
                return False  # another process created it a moment ago and holds it
            return True

    def release(self) -> None:
        with self.database.session(write=True) as session:
            session.execute(update(SchedulerLease).where(SchedulerLease.name == self.name,
                                                         SchedulerLease.holder == self.holder)
                            .values(expires_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
            session.commit()


def round_keys() -> round_service.RoundKeys:
    from pulse.context import key
    from pulse.crypto import KeyPurpose

    return round_service.RoundKeys(wrap=key(KeyPurpose.ROUND_KEY_WRAP), token=key(KeyPurpose.TOKEN_HASH),
                                   comments=key(KeyPurpose.COMMENTS))


def tick(app: Flask, *, now: dt.datetime) -> TickReport:
    """Do everything due at ``now``. Must run inside an app context (mail is rendered from templates)."""
    database = get_database(app)
    lease = Lease(database)
    if not lease.acquire(now):
        return TickReport(ran=False)
    report = TickReport()
    try:
        tz = ZoneInfo(app.config["PULSE"].timezone)
        keys = round_keys()
        _close_due(database, keys, now, report)
        _open_due(database, keys, now, tz, report)
        with database.session() as session:
            open_rounds = list(session.scalars(select(Round.id).where(Round.status == "open")))
        for round_id in open_rounds:
            report.invitations_sent += send_mail(database, round_id, keys, reminder=False, now=now, report=report)
            report.reminders_sent += send_mail(database, round_id, keys, reminder=True, now=now, report=report)
        _purge(database, now, app.config["PULSE"].retention_days, report)
    finally:
        lease.release()
    return report


def _purge(database: Database, now: dt.datetime, days: int, report: TickReport) -> None:
    from pulse.services.releases import purge_raw_answers

    with database.session(write=True) as session:
        purged = purge_raw_answers(session, now=now, retention_days=days)
        if purged["rounds"]:
            record_audit(session, "retention.purge", "answers", purged)
            report.purged = purged["responses"]
        session.commit()


def _close_due(database: Database, keys: round_service.RoundKeys, now: dt.datetime, report: TickReport) -> None:
    with database.session() as session:
        due = list(session.scalars(select(Round.id).where(Round.status == "open", Round.closes_at <= now)))
    for round_id in due:
        with database.session(write=True) as session:
            rnd = session.get_one(Round, round_id)
            if rnd.status != "open":
                continue
            close_round(session, rnd, keys, now=now)
            session.commit()
            report.closed.append(round_id)


def close_round(session: Session, rnd: Round, keys: round_service.RoundKeys, *, now: dt.datetime,
                actor: object = None) -> round_service.CloseResult:
    """Close a round, compute its first release, and log both (shared by the scheduler, CLI and admin pages)."""
    from pulse.services.releases import compute_release

    result = round_service.close_round(session, rnd, keys, now=now)
    record_audit(session, "round.close", f"round:{rnd.id}", {
        "survey": rnd.survey_id, "number": rnd.number, "answers": result.answers, "comments": result.comments,
        "unreadable": result.unreadable, "invited": rnd.invited,
    }, actor=actor)  # type: ignore[arg-type]
    release = compute_release(session, rnd, created_by=getattr(actor, "email", "system"), now=now)
    record_audit(session, "release.create", f"release:{release.id}", {"round": rnd.id, "version": release.version},
                 actor=actor)  # type: ignore[arg-type]
    return result


def open_round(session: Session, survey: Survey, keys: round_service.RoundKeys, *, now: dt.datetime, tz: ZoneInfo,
               actor: object = None) -> Round:
    """Open a round and log it (shared by the scheduler, the CLI and the admin pages)."""
    rnd = round_service.open_round(session, survey, keys, now=now, tz=tz)
    record_audit(session, "round.open", f"round:{rnd.id}", {
        "survey": survey.id, "number": rnd.number, "invited": rnd.invited, "headcount": rnd.headcount,
        "thresholds": [rnd.min_group_size, rnd.min_dist_size, rnd.min_comment_size],
        "closes_at": rnd.closes_at.isoformat(),
    }, actor=actor)  # type: ignore[arg-type]
    return rnd


def _open_due(database: Database, keys: round_service.RoundKeys, now: dt.datetime, tz: ZoneInfo,
              report: TickReport) -> None:
    with database.session() as session:
        due = list(session.scalars(select(Survey.id).where(Survey.active.is_(True), Survey.next_open_at <= now)))
    for survey_id in due:
        with database.session(write=True) as session:
            survey = session.get_one(Survey, survey_id)
            if not survey.active or survey.next_open_at is None or survey.next_open_at > now:
                continue
            try:
                rnd = open_round(session, survey, keys, now=now, tz=tz)
            except round_service.RoundError as exc:
                # Still open from last time, or nobody to invite: move on to the next slot.
                session.rollback()
                survey = session.get_one(Survey, survey_id)
                from pulse.services.surveys import schedule_next

                schedule_next(session, survey, now=now, tz=tz)
                session.commit()
                report.errors.append(f"survey {survey_id}: {exc.code}")
                continue
            session.commit()
            report.opened.append(rnd.id)


def send_mail(database: Database, round_id: int, keys: round_service.RoundKeys, *, reminder: bool,
              now: dt.datetime, report: TickReport | None = None, limit: int | None = None) -> int:
    """Send the invitations (or the reminder) of one round that have not gone out yet, in batches.

    :param limit: stop after about this many (the scheduler sends the rest).
    """
    from flask import current_app

    config = current_app.config["PULSE"]
    sent = 0
    while True:
        with database.session(write=True) as session:
            rnd = session.get_one(Round, round_id)
            if rnd.status != "open":
                return sent
            if reminder and (rnd.reminded or rnd.remind_at is None or rnd.remind_at > now):
                return sent
            batch = MAIL_BATCH if limit is None else max(1, min(MAIL_BATCH, limit - sent))
            items = round_service.prepare_mail(session, rnd, keys.token, reminder=reminder, limit=batch)
            if not items:
                if reminder:
                    rnd.reminded = round_service.reminder_done(session, rnd)
                    session.commit()
                return sent
            survey_name, policy = rnd.survey.name, rnd.reminder_policy
            closes_at = rnd.closes_at
            session.commit()
        delivered: list[int] = []
        try:
            for item in items:
                mail.send("reminder" if reminder else "invitation", to=item.to, language=item.language,
                          survey=survey_name, closes_at=closes_at, to_everyone=policy == "everyone",
                          link=f"{config.base_url}/r#t={item.link_token}",
                          code=round_service.format_code(item.code), answer_url=f"{config.base_url}/r",
                          privacy_url=f"{config.base_url}/privacy")
                delivered.append(item.invitation_id)
        except mail.MailError as exc:
            log.error("mail for round %s stopped: %s", round_id, type(exc).__name__)
            if report is not None:
                report.errors.append(f"round {round_id}: mail failed")
        with database.session(write=True) as session:
            round_service.mark_mailed(session, delivered, reminder=reminder)
            session.commit()
        sent += len(delivered)
        if len(delivered) < len(items) or (limit is not None and sent >= limit):
            return sent
