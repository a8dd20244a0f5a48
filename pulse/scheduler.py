"""`pulse tick`: everything that is due — close rounds, open rounds, send invitations and reminders, delete what
is past its time (raw answers after retention, revoked sessions that have expired).

Safe to run from several processes at once: a lease row in the database lets one run work at a time, and every
step re-checks its state inside its own transaction, so running it twice does nothing twice. The invitation
mail-out of a round happens under the lease too (see pulse.services.invitations).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pulse.common import mail
from pulse.common.context import key, record_audit
from pulse.common.db import Database, get_database, utcnow
from pulse.domain.crypto import KeyPurpose
from pulse.domain.participation import closed_participation
from pulse.models import ActionReminder, BoxItem, Invitation, Person, PersonStatus, Round, SchedulerLease, Survey
from pulse.services import box as box_service
from pulse.services import invitations, pooling, safety, sam, sessions
from pulse.services import rounds as round_service
from pulse.services.org import load_tree
from pulse.services.releases import compute_release, purge_raw_answers
from pulse.services.surveys import schedule_next

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
    action_reminders: int = 0
    purged: int = 0
    #: E-mails about 6:6a requests (asked, reminded, escalated).
    safety_notices: int = 0
    #: Complaint-box messages sent: news of an item or a text (to review, released), and escalations of overdue ones.
    box_notices: int = 0
    #: Complaint-box items whose texts the retention rule deleted.
    box_purged: int = 0
    pooled: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: Normal states worth a line, not errors: e.g. a survey's round still open when the next was due.
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.ran:
            return "Another tick is running; nothing done."
        return (f"closed rounds: {len(self.closed)}, opened rounds: {len(self.opened)}, "
                f"invitations sent: {self.invitations_sent}, reminders sent: {self.reminders_sent}"
                + (f", action reminders sent: {self.action_reminders}" if self.action_reminders else "")
                + (f", raw answers deleted: {self.purged}" if self.purged else "")
                + (f", 6:6a notices: {self.safety_notices}" if self.safety_notices else "")
                + (f", box notices: {self.box_notices}" if self.box_notices else "")
                + (f", box items past retention: {self.box_purged}" if self.box_purged else "")
                + (f", periods pooled: {len(self.pooled)}" if self.pooled else "")
                + (f", still open: {len(self.notes)}" if self.notes else "")
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

    def renew(self) -> bool:
        """Extend the lease while long work (a mail-out) goes on; False when another process has taken it."""
        return self.acquire(utcnow())

    def release(self) -> None:
        with self.database.session(write=True) as session:
            session.execute(update(SchedulerLease).where(SchedulerLease.name == self.name,
                                                         SchedulerLease.holder == self.holder)
                            .values(expires_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
            session.commit()


def round_keys() -> round_service.RoundKeys:
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
        _pool_due(database, now, report)
        _open_due(database, keys, now, tz, report)
        with database.session() as session:
            open_rounds = list(session.scalars(select(Round.id).where(Round.status == "open")))
        for round_id in open_rounds:
            outcome = mail_invitations(database, round_id, keys, keepalive=lease.renew)
            report.invitations_sent += outcome.sent
            if outcome.outcome == "mail_down":
                report.errors.append(f"round {round_id}: mail failed")
            elif outcome.failed:
                report.errors.append(f"round {round_id}: {len(outcome.failed)} invitations could not be sent")
            report.reminders_sent += send_reminders(database, round_id, now=now, report=report)
        _safety_requests(database, now, tz, report)
        _purge(database, now, app.config["PULSE"].retention_days, report)
        report.box_notices += box_deadlines(database, now.astimezone(tz).date(), report)
        report.box_purged += box_retention(database, now.astimezone(tz).date())
        if not box_service.scrub_purged(database):
            report.errors.append("scrub after the box's retention not finished yet")
        _forget_revoked_sessions(database, now)
        report.action_reminders += send_action_reminders(database, now=now, today=sam.local_today(now, tz.key),
                                                         report=report)
        # Every run: a scrub after close that could not finish (an old reader, a busy table) is retried until it does.
        if not round_service.scrub_closed(database):
            report.errors.append("scrub after close not finished yet")
    finally:
        lease.release()
    return report


def _safety_requests(database: Database, now: dt.datetime, tz: ZoneInfo, report: TickReport) -> None:
    """Ask, remind and escalate 6:6a requests (pulse.domain.desk.next_step), one request per transaction.

    The step is claimed in the database before the e-mails go and committed after them: a mail failure rolls it
    back and the next run tries again; a second process finds it taken (pulse.services.safety.take_step).
    """
    config = current_app.config["PULSE"]
    with database.session() as session:
        due = safety.due_requests(session, now, tz)
    for request_id, step in due:
        with database.session(write=True) as session:
            notices = safety.take_step(session, request_id, step, now=now, tz=tz)
            if notices is None:
                continue  # no longer due: another run took it, or the request was answered meanwhile
            try:
                for notice in notices:
                    mail.send("safety_request", to=notice.to, language=notice.language, step=notice.step.value,
                              name=notice.name, title=notice.title, unit=notice.unit, reply_by=notice.reply_by,
                              url=f"{config.staff_url}/staff/safety/requests/{notice.request_id}")
            except mail.MailError:
                session.rollback()
                report.errors.append(f"6:6a request {request_id}: mail failed")
                continue
            record_audit(session, f"safety_request.{step.value}", f"safety_request:{request_id}",
                         {"notified": len(notices)})
            session.commit()
            report.safety_notices += len(notices)
def _pool_due(database: Database, now: dt.datetime, report: TickReport) -> None:
    """Pool every complete period of every pooling survey that has no pooled release yet (docs/ANONYMITY.md,
    "Pooled periods"); right after the closes, so a period completed by a close is pooled in the same tick."""
    with database.session() as session:
        surveys = list(session.scalars(select(Survey.id).where(Survey.pooling.is_not(None))))
    for survey_id in surveys:
        refused: list[tuple[pooling.Period, pooling.PoolingError]] = []
        with database.session(write=True) as session:
            for pooled in pooling.pool_due(session, session.get_one(Survey, survey_id), now=now, refused=refused):
                record_audit(session, "release.pool", f"pooled_release:{pooled.id}",
                             {"survey": survey_id, "period": pooled.period, "version": pooled.version})
                report.pooled.append(pooled.id)
            session.commit()
        report.errors += [f"survey {survey_id}, period {period.key}: not pooled ({exc.code}; see pulse release pool)"
                          for period, exc in refused]


def _purge(database: Database, now: dt.datetime, days: int, report: TickReport) -> None:
    with database.session(write=True) as session:
        purged = purge_raw_answers(session, now=now, retention_days=days)
        if purged["rounds"]:
            record_audit(session, "retention.purge", "answers", purged)
            report.purged = purged["responses"]
        session.commit()


def box_deadlines(database: Database, today: dt.date, report: TickReport | None = None) -> int:
    """Tell the responsible managers and safety representatives of new named box items, the safety representatives
    of anonymous texts to review (and the main safety representative of late reviews), the managers of texts
    released to them, and escalate overdue items to the next manager up and the safety representatives — each once.

    Every notice is claimed (a flag set by a conditional UPDATE, committed) before its mail goes out, so two
    schedulers never both send it; a notice whose mail fails is released and tried again on the next run.
    """
    with database.session(write=True) as session:
        notices = (box_service.claim_new(session) + box_service.claim_reviews(session, today)
                   + box_service.claim_overdue(session, today))
        session.commit()
    sent = 0
    for notice in notices:
        try:
            sent += _send_box_notice(database, notice)
        except mail.MailError:
            with database.session(write=True) as session:
                box_service.unclaim(session, notice)
                session.commit()
            if report is not None:
                report.errors.append(f"box item: {notice.kind} notice could not be sent")
    return sent


def box_retention(database: Database, today: dt.date) -> int:
    """Delete the texts of box items closed longer ago than the retention rule allows (pulse.services.box.
    purge_closed), log how many, and scrub what that left on disk (retried by every run until it finishes)."""
    with database.session(write=True) as session:
        purged = box_service.purge_closed(session, today)
        xid = None
        if purged:
            record_audit(session, "box.purge", "box", {"items": purged})
            xid = box_service.purge_xid(session)
        session.commit()
    if purged:
        box_service.scrub_purged(database, since_xid=xid)
    return purged


def _send_box_notice(database: Database, notice: box_service.Notice) -> int:
    """Mail one notice to each of its recipients (no text of the item, only its unit, category and dates)."""
    config = current_app.config["PULSE"]
    with database.session() as session:
        item = session.get_one(BoxItem, notice.item_id)
        people = [(p.email, p.language) for p in session.scalars(
            select(Person).where(Person.id.in_(notice.recipients), Person.status != PersonStatus.LEFT))]
        context = {"kind": notice.kind, "unit": item.unit.name, "category": item.category,
                   "acknowledge_by": item.acknowledge_by, "answer_by": item.answer_by, "first": notice.first,
                   "url": f"{config.staff_url}/staff/box/{item.id}"}
    for email, language in people:
        mail.send("box_notice", to=email, language=language, **context)
    return len(people)


def _forget_revoked_sessions(database: Database, now: dt.datetime) -> None:
    """Revoked staff sessions whose cookies have expired anyway need no row any more (pulse.services.sessions)."""
    with database.session(write=True) as session:
        sessions.purge(session, now=now)
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
    result = round_service.close_round(session, rnd, keys, now=now)
    # The audit log is read by administrators: its counts follow the k rule like every other count (None where a
    # page would say "too few to show"; docs/ANONYMITY.md, "Counts outside the release").
    answers = closed_participation(rnd.invited, result.answers, rnd.min_group_size).answered
    comments = closed_participation(result.answers, result.comments, rnd.min_group_size).answered
    record_audit(session, "round.close", f"round:{rnd.id}", {
        "survey": rnd.survey_id, "number": rnd.number, "answers": answers,
        "comments": comments if answers is not None else None, "unreadable": result.unreadable,
        "invited": rnd.invited,
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
                schedule_next(session, survey, now=now, tz=tz)
                session.commit()
                if exc.code == "already_open":
                    # The normal state when a round runs longer than the cadence (or was opened by hand).
                    upcoming = survey.next_open_at.isoformat(timespec="minutes") if survey.next_open_at else "-"
                    report.notes.append(f"survey {survey_id}: its round is still open; next opening {upcoming}")
                else:
                    report.errors.append(f"survey {survey_id}: {exc.code}")
                continue
            session.commit()
            report.opened.append(rnd.id)


def mail_invitations(database: Database, round_id: int, keys: round_service.RoundKeys, *,
                     keepalive: Callable[[], bool] | None = None) -> invitations.MailOut:
    """Run a round's invitation mail-out (if it has not run yet) with the configured mail system.

    Call it while holding the scheduler lease (:func:`mail_now` takes it for pages and commands).
    """
    config = current_app.config["PULSE"]
    with database.session() as session:
        rnd = session.get_one(Round, round_id)
        if rnd.status != "open" or rnd.mailout == "done":
            return invitations.MailOut(round_id, "nothing_to_do")
        survey_name, closes_at, resend = rnd.survey.name, rnd.closes_at, rnd.mailout_attempts > 0
        # "You said, we did" for each counting unit of the round: everyone who counts there gets the same one.
        units = session.scalars(select(Invitation.unit_id).where(Invitation.round_id == round_id).distinct())
        tree = load_tree(session)
        feedback = {unit_id: sam.feedback_for(session, unit_id, tree) for unit_id in units}

    def send(invite: invitations.Invite) -> None:
        mail.send("invitation", to=invite.email, language=invite.language, survey=survey_name, closes_at=closes_at,
                  feedback=feedback.get(invite.unit_id) if invite.unit_id is not None else None,
                  link=f"{config.respondent_url}/r?lang={invite.language}#t={invite.link}",
                  code=invitations.format_code(invite.code),
                  answer_url=f"{config.respondent_url}/r?lang={invite.language}",
                  privacy_url=f"{config.respondent_url}/privacy", answer_now=invite.answer_now, resend=resend,
                  sign_in_url=f"{config.staff_url}/staff/")

    return invitations.mail_out(database, round_id, keys.token, send, keepalive=keepalive)


def mail_now(database: Database, round_id: int, keys: round_service.RoundKeys) -> invitations.MailOut | None:
    """Send a round's invitations right away (after opening it from a page or a command), under the scheduler's
    lease; None when a scheduler run holds it (it sends them instead)."""
    lease = Lease(database)
    if not lease.acquire(utcnow()):
        return None
    try:
        return mail_invitations(database, round_id, keys, keepalive=lease.renew)
    finally:
        lease.release()


def send_reminders(database: Database, round_id: int, *, now: dt.datetime, report: TickReport | None = None,
                   limit: int | None = None) -> int:
    """Send the round's one reminder, when it is due, to everyone invited — the same text for all, with no
    credential in it (docs/ANONYMITY.md, "Reminders")."""
    config = current_app.config["PULSE"]
    sent = 0
    while True:
        with database.session(write=True) as session:
            rnd = session.get_one(Round, round_id)
            if (rnd.status != "open" or rnd.reminded or rnd.remind_at is None or rnd.remind_at > now
                    or rnd.mailout != "done"):
                return sent
            batch = MAIL_BATCH if limit is None else max(1, min(MAIL_BATCH, limit - sent))
            items = invitations.pending_reminders(session, rnd, limit=batch)
            if not items:
                rnd.reminded = True
                session.commit()
                return sent
            survey_name, closes_at, opened_at = rnd.survey.name, rnd.closes_at, rnd.opened_at
            session.commit()
        delivered: list[int] = []
        try:
            for item in items:
                mail.send("reminder", to=item.email, language=item.language, survey=survey_name,
                          closes_at=closes_at, invited_at=opened_at,
                          answer_url=f"{config.respondent_url}/r?lang={item.language}",
                          sign_in_url=f"{config.staff_url}/staff/", privacy_url=f"{config.respondent_url}/privacy")
                delivered.append(item.invitation_id)
        except mail.MailError as exc:
            log.error("reminders for round %s stopped: %s", round_id, type(exc).__name__)
            if report is not None:
                report.errors.append(f"round {round_id}: mail failed")
        with database.session(write=True) as session:
            invitations.mark_reminded(session, delivered)
            session.commit()
        sent += len(delivered)
        if len(delivered) < len(items) or (limit is not None and sent >= limit):
            return sent


def send_action_reminders(database: Database, *, now: dt.datetime, today: dt.date,
                          report: TickReport | None = None) -> int:
    """E-mail the owner and the unit's safety representatives about actions due within a week, overdue, or due for
    follow-up (pulse.domain.sam.due_reminders). Returns how many reminders went out.

    Each reminder is claimed in its own committed transaction before anything is sent: the claim's unique key
    (action, kind, date) lets only one process have it, so running this twice, or in two processes at once, sends
    nothing twice. A reminder whose mail fails is unclaimed, so the next run tries again; a claim whose process died
    before sending is freed after an hour (pulse.services.sam.STALE_CLAIM).
    """
    config = current_app.config["PULSE"]
    with database.session(write=True) as session:
        for stale in sam.stale_claims(session, now):
            session.delete(stale)
        session.commit()
    with database.session() as session:
        due = sam.due_reminders(session, today)
    sent = 0
    for action_id, kind, date in due:
        with database.session(write=True) as session:
            try:
                claim = sam.claim_reminder(session, action_id, kind, date, now=now)
                session.commit()
            except IntegrityError:
                continue  # another process has it
            item = sam.reminder(session, claim)
            session.commit()
        delivered = failed = 0
        for email, language in item.recipients:
            try:
                mail.send("action_reminder", to=email, language=language, kind=item.kind, unit=item.unit_name,
                          activity=item.activity, date=item.for_date.isoformat(),
                          url=f"{config.staff_url}/staff/sam/actions/{item.action_id}")
                delivered += 1
            except mail.MailError:
                failed += 1
        if failed and report is not None:
            report.errors.append(f"action {item.action_id}: reminder mail failed")
        if failed and not delivered:
            # Nobody got it: unclaimed, so the next run tries again. (When some got it, it is not sent again:
            # a reminder twice to the same person is worse than one missed copy, which the error reports.)
            log.error("action reminder %s not sent; it is tried again at the next run", item.id)
            with database.session(write=True) as session:
                session.execute(delete(ActionReminder).where(ActionReminder.id == item.id))
                session.commit()
            continue
        with database.session(write=True) as session:
            session.execute(update(ActionReminder).where(ActionReminder.id == item.id).values(sent=True))
            session.commit()
        sent += 1
    return sent
