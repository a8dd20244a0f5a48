"""The complaint box's rules in the database: deadlines in Swedish working days, the status flow, the safety
representative's review before the manager reads, who is told and escalated to (once, also with schedulers in
parallel, again after a mail failure), the retention rule, the counts at k, and the main safety representative who
covers units without one."""

from __future__ import annotations

import datetime as dt
import threading
import time
from email.message import EmailMessage

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse import scheduler
from pulse.common import mail
from pulse.common.config import Config
from pulse.domain.crypto import KeyPurpose, derive_key
from pulse.models import BoxItem, BoxMessage, Person, Unit
from pulse.services import box as box_service
from pulse.services.org import Role, roles_of, safety_scope
from tests.factories import Org, make_person
from tests.integration.test_scheduler import body, outbox

K = 6
FRIDAY = dt.date(2026, 12, 18)


def keys(config: Config) -> box_service.Keys:
    return box_service.Keys(derive_key(config.secret_key, KeyPurpose.BOX_REPLY_KEY),
                            derive_key(config.secret_key, KeyPurpose.BOX_TEXT))


@pytest.fixture
def box(session: Session, org: Org) -> Org:
    """Team A with seven people, a head of the department above its manager, and "Annan förvaltning" with six
    people but no manager and no safety representative."""
    for i in range(6):
        make_person(session, f"member{i}@example.org", unit=org.team_a, password=None)
    for i in range(6):
        make_person(session, f"other{i}@example.org", unit=org.other, password=None)
    org.head = make_person(session, "head@example.org", unit=org.root, manages=[org.dept], name="Hedda Chef")  # type: ignore[attr-defined]
    session.commit()
    return org


def mails_since(app: Flask, before: list[EmailMessage]) -> list[EmailMessage]:
    """The e-mails written since ``before`` was read (the outbox's files have random names, in no order)."""
    seen = {m["Message-ID"] for m in before}
    return [m for m in outbox(app) if m["Message-ID"] not in seen]


def write(session: Session, config: Config, unit: Unit, *, today: dt.date = FRIDAY, category: str = "workload",
          text: str = "För mycket att göra.") -> tuple[BoxItem, str]:
    item, key = box_service.write(session, keys(config), unit_id=unit.id, category=category, text=text, k=K,
                                  today=today)
    session.commit()
    return item, key


def test_deadlines_are_counted_in_swedish_working_days(session: Session, config: Config, box: Org) -> None:
    item, _ = write(session, config, box.team_a, today=dt.date(2026, 12, 22))
    assert (item.acknowledge_by, item.answer_by) == (dt.date(2026, 12, 28), dt.date(2027, 1, 12))
    box_service.save_settings(session, acknowledge_days=1, answer_days=5, main_safety_rep_id=None)
    item, _ = write(session, config, box.team_a, today=FRIDAY)
    assert (item.acknowledge_by, item.answer_by) == (dt.date(2026, 12, 21), dt.date(2026, 12, 29))


@pytest.mark.parametrize(("ack", "answer"), [(0, 10), (3, 2), (2, 61), (-1, 5)])
def test_settings_refuse_impossible_deadlines(session: Session, box: Org, ack: int, answer: int) -> None:
    with pytest.raises(box_service.BoxError, match="days"):
        box_service.save_settings(session, acknowledge_days=ack, answer_days=answer, main_safety_rep_id=None)


def test_the_status_flow(session: Session, config: Config, box: Org) -> None:
    item, _ = write(session, config, box.team_a)
    with pytest.raises(box_service.BoxError, match="state"):
        box_service.close(item, today=FRIDAY)
    box_service.acknowledge(item, today=FRIDAY)
    with pytest.raises(box_service.BoxError, match="state"):
        box_service.acknowledge(item, today=FRIDAY)
    box_service.staff_reply(session, keys(config), item, box.manager, "Vi tittar på det.", today=FRIDAY)
    assert (item.status, item.answered_on) == ("answered", FRIDAY)
    box_service.writer_reply(session, keys(config), item, "Tack!", today=FRIDAY)
    box_service.close(item, today=FRIDAY)
    with pytest.raises(box_service.BoxError, match="closed"):
        box_service.writer_reply(session, keys(config), item, "En sak till", today=FRIDAY)
    views = box_service.conversation(session, keys(config), item, reader="writer")
    assert [(v.from_writer, v.author, v.text) for v in views] == [
        (True, None, "För mycket att göra."), (False, "Maja Chef", "Vi tittar på det."), (True, None, "Tack!")]


def test_a_first_answer_also_acknowledges(session: Session, config: Config, box: Org) -> None:
    item, _ = write(session, config, box.team_a)
    box_service.staff_reply(session, keys(config), item, box.manager, "Svar direkt.", today=FRIDAY)
    assert item.acknowledged_on == item.answered_on == FRIDAY and item.status == "answered"


def test_redaction_and_withholding_as_each_reader_sees_them(session: Session, config: Config, box: Org) -> None:
    item, _ = write(session, config, box.team_a, text="Anna på lagret skriker på mig.")
    first = item.messages[0].id
    # Waiting for review: the manager gets nothing of it, the writer and the safety representative all of it.
    pending = {reader: box_service.conversation(session, keys(config), item, reader=reader)[0]
               for reader in ("writer", "manager", "moderator")}
    assert pending["manager"].text is None and pending["manager"].original is None
    assert pending["manager"].moderation == "pending" and pending["manager"].redacted is None
    assert pending["writer"].text == pending["moderator"].original == "Anna på lagret skriker på mig."
    box_service.moderate(session, keys(config), item, first, "redacted", "En kollega skriker på mig.")
    texts = {reader: box_service.conversation(session, keys(config), item, reader=reader)[0]
             for reader in ("writer", "manager", "moderator")}
    assert texts["writer"].text == "Anna på lagret skriker på mig."
    assert texts["writer"].redacted == "En kollega skriker på mig."  # the writer sees what was passed on
    assert texts["manager"].text == "En kollega skriker på mig." and texts["manager"].original is None
    assert texts["moderator"].original == "Anna på lagret skriker på mig."
    box_service.moderate(session, keys(config), item, first, "withheld")
    assert box_service.conversation(session, keys(config), item, reader="manager")[0].text is None
    box_service.moderate(session, keys(config), item, first, "released")
    assert (box_service.conversation(session, keys(config), item, reader="manager")[0].text or "").startswith("Anna")
    reply = box_service.staff_reply(session, keys(config), item, box.manager, "Svar", today=FRIDAY)
    with pytest.raises(box_service.BoxError, match="unknown"):  # only the writer's texts are moderated
        box_service.moderate(session, keys(config), item, reply.id, "withheld")
    with pytest.raises(box_service.BoxError, match="empty"):
        box_service.moderate(session, keys(config), item, first, "redacted", "  ")
    for nonsense in ("pending", "restored", ""):  # back to the queue is not a decision here
        with pytest.raises(box_service.BoxError, match="bad_decision"):
            box_service.moderate(session, keys(config), item, first, nonsense)


def test_a_stored_text_cannot_be_moved_to_another_item(session: Session, config: Config, box: Org) -> None:
    """Texts are bound to their item and place: swapping ciphertexts in the database does not move a text."""
    from pulse.domain.crypto import SealError

    one, _ = write(session, config, box.team_a, text="Ett")
    two, _ = write(session, config, box.team_a, text="Två")
    two.messages[0].sealed = one.messages[0].sealed
    with pytest.raises(SealError):
        box_service.conversation(session, keys(config), two, reader="moderator")


def test_who_reads_whom(session: Session, config: Config, box: Org) -> None:
    item, _ = write(session, config, box.team_a)
    who = box_service.responsible(session, box.team_a.id)
    assert who == box_service.Responsible(frozenset({box.manager.id}), frozenset({box.head.id}),  # type: ignore[attr-defined]
                                          frozenset({box.safety.id}))
    for reader, allowed in ((box.manager, True), (box.safety, True), (box.head, True), (box.employee, False),  # type: ignore[attr-defined]
                            (box.admin, False)):
        assert box_service.reader_scope(session, reader).allows(item.unit_id) is allowed, reader.email


def test_the_main_safety_representative_covers_units_without_one(session: Session, config: Config,
                                                                 box: Org) -> None:
    main = make_person(session, "huvudskyddsombud@example.org", unit=box.other, name="Hugo Huvud")
    session.commit()
    assert Role.SAFETY_REP not in roles_of(session, main)
    assert {u.id for u in box_service.uncovered_units(session)} == {box.root.id, box.other.id}
    assert box_service.responsible(session, box.other.id).safety_reps == frozenset()
    box_service.save_settings(session, acknowledge_days=2, answer_days=10, main_safety_rep_id=main.id)
    session.commit()
    # Now a safety representative, moderating comments and reading items of the uncovered units, nothing more.
    assert Role.SAFETY_REP in roles_of(session, main)
    assert safety_scope(session, main).unit_ids == {box.root.id, box.other.id}
    assert box_service.responsible(session, box.other.id).safety_reps == {main.id}
    assert box_service.responsible(session, box.team_a.id).safety_reps == {box.safety.id}
    item, _ = write(session, config, box.other)
    assert box_service.reader_scope(session, main).allows(item.unit_id)
    assert not box_service.reader_scope(session, main).allows(box.team_a.id)


def test_units_below_k_cannot_be_chosen(session: Session, config: Config, box: Org) -> None:
    allowed = {c.unit_id for c in box_service.choosable_units(session, K)}
    assert allowed == {box.root.id, box.dept.id, box.team_a.id, box.other.id}
    with pytest.raises(box_service.BoxError, match="unit"):
        box_service.write(session, keys(config), unit_id=box.team_b.id, category="other", text="x", k=K,
                          today=FRIDAY)


def test_box_summary_counts_at_k_only_and_says_nothing_else(session: Session, config: Config, box: Org) -> None:
    on_time, _ = write(session, config, box.team_a, category="workload")
    box_service.acknowledge(on_time, today=FRIDAY)
    box_service.staff_reply(session, keys(config), on_time, box.manager, "Svar", today=dt.date(2026, 12, 21))
    late, _ = write(session, config, box.team_a, category="treatment")
    box_service.staff_reply(session, keys(config), late, box.manager, "Sent svar", today=dt.date(2027, 1, 20))
    write(session, config, box.team_a, category="safety")  # never handled
    write(session, config, box.dept, category="premises", today=dt.date(2027, 3, 1))  # outside the period
    # Team B has two people: an item placed there before it shrank is never counted.
    small = BoxItem(id="00000000-0000-4000-8000-000000000001", unit_id=box.team_b.id, category="other",
                    status="received", key_hash="x" * 64, received_on=FRIDAY, acknowledge_by=FRIDAY,
                    answer_by=FRIDAY, notified=True, acknowledge_escalated=False, answer_escalated=False)
    session.add(small)
    session.commit()
    rows = box_service.box_summary(session, [box.team_a.id, box.team_b.id, box.dept.id],
                                   (dt.date(2026, 12, 1), dt.date(2027, 1, 31)), k=K)
    assert [r.unit_id for r in rows] == [box.dept.id, box.team_a.id]  # by name; Team B left out
    team_a = rows[1]
    assert team_a.by_category == {"workload": 1, "treatment": 1, "safety": 1, "premises": 0, "organisation": 0,
                                  "other": 0}
    assert (team_a.total, team_a.acknowledged_in_time, team_a.acknowledged_late) == (3, 1, 1)
    assert (team_a.answered_in_time, team_a.answered_late, team_a.overdue_open) == (1, 1, 1)
    assert rows[0].total == 0
    assert not any(hasattr(r, "text") for r in rows)


def test_the_scheduler_tells_and_escalates_each_once(app: Flask, session: Session, config: Config,
                                                     box: Org) -> None:
    item, _ = write(session, config, box.team_a, text="Hemlig text som inte får stå i e-post.")
    tick = dt.datetime(2026, 12, 18, 12, 0, tzinfo=dt.UTC)
    # An anonymous text: only the safety representative is told, to review it; the manager hears nothing yet.
    with app.app_context():
        assert scheduler.box_deadlines(scheduler.get_database(app), FRIDAY) == 1
        assert scheduler.box_deadlines(scheduler.get_database(app), FRIDAY) == 0
    [review] = outbox(app)
    assert review["To"] == "safety@example.org" and "granska" in review["Subject"].casefold()
    assert "Hemlig text" not in body(review) and f"/staff/box/{item.id}" in body(review)
    # Released: now the manager is told, once.
    box_service.moderate(session, keys(config), item, item.messages[0].id, "released")
    session.commit()
    before = outbox(app)
    with app.app_context():
        assert scheduler.box_deadlines(scheduler.get_database(app), FRIDAY) == 1
        assert scheduler.box_deadlines(scheduler.get_database(app), FRIDAY) == 0
    [released] = mails_since(app, before)
    assert released["To"] == "manager@example.org" and "Hemlig text" not in body(released)
    assert f"/staff/box/{item.id}" in body(released)
    # Due Tuesday 22 December: on that day nothing, the day after the head of department and the safety rep.
    before = outbox(app)
    with app.app_context():
        assert scheduler.tick(app, now=tick.replace(day=22)).box_notices == 0
        report = scheduler.tick(app, now=tick.replace(day=23))
        assert report.box_notices == 2, report.errors
        assert scheduler.tick(app, now=tick.replace(day=24)).box_notices == 0
    late = mails_since(app, before)
    assert sorted(m["To"] for m in late) == ["head@example.org", "safety@example.org"]
    assert any("inte bekräftat" in m["Subject"] for m in late), [m["Subject"] for m in late]
    # The answer deadline (8 January with the holidays) escalates once more; an answered item never again.
    with app.app_context():
        assert scheduler.tick(app, now=dt.datetime(2027, 1, 11, 12, 0, tzinfo=dt.UTC)).box_notices == 2
        assert scheduler.tick(app, now=dt.datetime(2027, 1, 12, 12, 0, tzinfo=dt.UTC)).box_notices == 0
    assert item.answer_by == dt.date(2027, 1, 8)


def test_an_acknowledged_item_is_not_escalated_for_acknowledgement(app: Flask, session: Session, config: Config,
                                                                   box: Org) -> None:
    item, _ = write(session, config, box.team_a)
    box_service.acknowledge(item, today=FRIDAY)
    box_service.moderate(session, keys(config), item, item.messages[0].id, "released")
    session.commit()
    with app.app_context():
        database = scheduler.get_database(app)
        assert scheduler.box_deadlines(database, FRIDAY) == 1  # reviewed already: only the manager is told
        assert scheduler.box_deadlines(database, dt.date(2026, 12, 30)) == 0
        assert scheduler.box_deadlines(database, dt.date(2027, 1, 9)) == 2  # the answer is late


def test_parallel_schedulers_send_each_notice_once(app: Flask, session: Session, config: Config,
                                                   box: Org) -> None:
    for i in range(3):
        write(session, config, box.team_a, text=f"Ärende {i}")
    results: list[int] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        with app.app_context():
            barrier.wait()
            results.append(scheduler.box_deadlines(scheduler.get_database(app), FRIDAY))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # One review notice per text, to the safety representative alone.
    assert sum(results) == 3 and len(outbox(app)) == 3


def test_a_failed_mail_is_tried_again_on_the_next_run(app: Flask, session: Session, config: Config, box: Org,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    write(session, config, box.team_a)
    real = mail.send

    def broken(*args: object, **kwargs: object) -> None:
        raise mail.MailError("down")

    with app.app_context():
        monkeypatch.setattr(mail, "send", broken)
        report = scheduler.TickReport()
        assert scheduler.box_deadlines(scheduler.get_database(app), FRIDAY, report) == 0
        assert report.errors == ["box item: review notice could not be sent"]
        assert session.scalars(select(BoxMessage.review_notified)).all() == [False]
        session.commit()  # end the read, so the next one sees what the scheduler writes
        monkeypatch.setattr(mail, "send", real)
        assert scheduler.box_deadlines(scheduler.get_database(app), FRIDAY) == 1
    session.expire_all()
    assert session.scalars(select(BoxMessage.review_notified)).all() == [True]


def test_comments_of_a_unit_without_a_safety_representative_reach_the_main_one(
        app: Flask, session: Session, box: Org) -> None:
    """No comment lost: a released comment placed in a unit no safety area covers is in nobody's moderation queue
    until the administrator names a main safety representative; then it is in theirs, and only there."""
    from pulse.services import answers as answer_service
    from pulse.services import comments as comment_service
    from tests.rounds import keys as round_keys
    from tests.rounds import make_survey, open_with_credentials

    main = make_person(session, "huvud@example.org", unit=box.root, name="Hugo Huvud")
    session.commit()
    survey = make_survey(session, [box.other])
    opened = open_with_credentials(session, app, survey)
    for link, _ in opened.credentials.values():
        answer_service.submit(session, round_keys(app).token, link, {"OSA-WL1": 3}, "Kommentar från annan förvaltning.",
                              now=opened.round.opened_at)
    session.commit()
    with app.app_context():
        scheduler.close_round(session, opened.round, round_keys(app), now=opened.round.closes_at)
    session.commit()

    def queue(person: object) -> list[str]:
        return [c.text for c in comment_service.moderation_queue(session, round_keys(app),
                                                                 safety_scope(session, person))]  # type: ignore[arg-type]

    assert queue(box.safety) == [] and queue(main) == []
    box_service.save_settings(session, acknowledge_days=2, answer_days=10, main_safety_rep_id=main.id)
    session.commit()
    assert queue(main) == ["Kommentar från annan förvaltning."] * 6
    assert queue(box.safety) == []


# --- the safety representative's review ----------------------------------------------------------------------------

def test_every_anonymous_text_waits_for_review_and_named_ones_do_not(session: Session, config: Config,
                                                                      box: Org) -> None:
    item, _ = write(session, config, box.team_a)
    first = item.messages[0]
    assert (first.moderation, first.review_by) == ("pending", item.acknowledge_by)
    assert box_service.in_review(item)
    # A later text from the writer waits as well, for as many working days as an acknowledgement (Tuesday 5
    # January: New Year's Eve and Day and the weekend do not count); the staff's replies are never reviewed.
    box_service.staff_reply(session, keys(config), item, box.safety, "Jag läser.", today=FRIDAY, answers=False)
    later = box_service.writer_reply(session, keys(config), item, "En sak till.", today=dt.date(2026, 12, 30))
    assert (later.moderation, later.review_by) == ("pending", dt.date(2027, 1, 5))
    assert [m.moderation for m in item.messages] == ["pending", None, "pending"]
    named, _key = box_service.write(session, keys(config), unit_id=box.team_a.id, category="other", text="Namn.",
                                    k=K, today=FRIDAY, author=box.employee)
    box_service.writer_reply(session, keys(config), named, "Tillägg.", today=FRIDAY)
    assert [m.moderation for m in named.messages] == [None, None] and not box_service.in_review(named)
    assert box_service.conversation(session, keys(config), named, reader="manager")[0].text == "Namn."


def test_who_reviews_and_what_comes_first(session: Session, config: Config, box: Org) -> None:
    old, _ = write(session, config, box.team_a, today=dt.date(2026, 12, 14))
    new, _ = write(session, config, box.dept)
    outside, _ = write(session, config, box.other)
    assert box_service.to_review(session, box.safety) == [old, new]  # the earliest review date first
    for nobody in (box.manager, box.head, box.employee, box.admin):  # type: ignore[attr-defined]
        assert box_service.to_review(session, nobody) == []
        assert not box_service.may_moderate(session, nobody, old)
    assert not box_service.may_moderate(session, box.safety, outside)
    box_service.moderate(session, keys(config), old, old.messages[0].id, "released")
    assert box_service.to_review(session, box.safety) == [new]


def test_a_late_review_goes_to_the_main_safety_representative_once(app: Flask, session: Session, config: Config,
                                                                   box: Org) -> None:
    main = make_person(session, "huvud@example.org", unit=box.other, name="Hugo Huvud")
    box_service.save_settings(session, acknowledge_days=2, answer_days=10, main_safety_rep_id=main.id)
    item, _ = write(session, config, box.team_a, text="Ingen har läst detta.")
    session.commit()
    assert not box_service.may_moderate(session, main, item)  # Team A is the unit's safety rep's
    database = scheduler.get_database(app)
    with app.app_context():
        assert scheduler.box_deadlines(database, FRIDAY) == 1  # the unit's safety representative, to review
        assert scheduler.box_deadlines(database, item.acknowledge_by) == 0  # on the day: not late yet
    before = outbox(app)
    with app.app_context():
        # The day after: the review's lateness to the main safety representative, and (as before) the manager's
        # late acknowledgement to the head of department and the safety representative.
        assert scheduler.box_deadlines(database, item.acknowledge_by + dt.timedelta(days=1)) == 3
        assert scheduler.box_deadlines(database, item.acknowledge_by + dt.timedelta(days=2)) == 0
    late = mails_since(app, before)
    assert sorted(m["To"] for m in late) == ["head@example.org", "huvud@example.org", "safety@example.org"]
    to_main = next(m for m in late if m["To"] == "huvud@example.org")
    assert "Ingen har läst" not in body(to_main) and f"/staff/box/{item.id}" in body(to_main)
    session.commit()  # a fresh read sees what the scheduler wrote
    session.expire_all()
    item = session.get_one(BoxItem, item.id)
    # Now the main safety representative may review it, and finds it first on their list.
    assert box_service.may_moderate(session, main, item)
    assert box_service.to_review(session, main) == [item]
    box_service.moderate(session, keys(config), item, item.messages[0].id, "redacted", "Någon har skrivit.")
    session.commit()
    before = outbox(app)
    with app.app_context():
        assert scheduler.box_deadlines(database, item.acknowledge_by + dt.timedelta(days=3)) == 1
    [told] = mails_since(app, before)
    assert told["To"] == "manager@example.org" and "Någon har skrivit" not in body(told)


def test_parallel_schedulers_escalate_a_late_review_once(app: Flask, session: Session, config: Config,
                                                         box: Org) -> None:
    main = make_person(session, "huvud@example.org", unit=box.other, name="Hugo Huvud")
    box_service.save_settings(session, acknowledge_days=2, answer_days=10, main_safety_rep_id=main.id)
    item, _ = write(session, config, box.team_a)
    item.messages[0].review_notified = True  # told already
    item.acknowledge_escalated = True  # only the review's lateness is left to tell
    session.commit()
    results: list[int] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        with app.app_context():
            barrier.wait()
            results.append(scheduler.box_deadlines(scheduler.get_database(app), dt.date(2026, 12, 23)))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 1 and [m["To"] for m in outbox(app)] == ["huvud@example.org"]


def test_a_reply_to_review_is_told_to_the_safety_representative_and_released_to_the_manager(
        app: Flask, session: Session, config: Config, box: Org) -> None:
    item, _ = write(session, config, box.team_a)
    box_service.moderate(session, keys(config), item, item.messages[0].id, "released")
    reply = box_service.writer_reply(session, keys(config), item, "Det har blivit värre.", today=FRIDAY)
    session.commit()
    database = scheduler.get_database(app)
    with app.app_context():
        # The first text: released (to the manager); the reply: to review (to the safety representative).
        assert scheduler.box_deadlines(database, FRIDAY) == 2
    assert sorted(m["To"] for m in outbox(app)) == ["manager@example.org", "safety@example.org"]
    assert all("Det har blivit värre" not in body(m) for m in outbox(app))
    box_service.moderate(session, keys(config), item, reply.id, "withheld")
    session.commit()
    with app.app_context():
        assert scheduler.box_deadlines(database, FRIDAY) == 0  # withheld: nothing to tell the manager
    box_service.moderate(session, keys(config), item, reply.id, "released")
    session.commit()
    before = outbox(app)
    with app.app_context():
        assert scheduler.box_deadlines(database, FRIDAY) == 1
        assert scheduler.box_deadlines(database, FRIDAY) == 0
    assert [m["To"] for m in mails_since(app, before)] == ["manager@example.org"]


def test_named_items_go_to_the_manager_at_once(app: Flask, session: Session, config: Config, box: Org) -> None:
    box_service.write(session, keys(config), unit_id=box.team_a.id, category="other", text="Med namn.", k=K,
                      today=FRIDAY, author=box.employee)
    session.commit()
    with app.app_context():
        assert scheduler.box_deadlines(scheduler.get_database(app), FRIDAY) == 2
    assert sorted(m["To"] for m in outbox(app)) == ["manager@example.org", "safety@example.org"]


# --- retention ------------------------------------------------------------------------------------------------------

def closed_item(session: Session, config: Config, org: Org, unit: Unit, *, closed_on: dt.date,
                author: Person | None = None, category: str = "workload") -> tuple[BoxItem, str]:
    """An item written a week before ``closed_on``, released, answered, added to by the writer, and closed then."""
    item, key = box_service.write(session, keys(config), unit_id=unit.id, category=category, text="Gammal text.",
                                  k=K, today=closed_on - dt.timedelta(days=7), author=author)
    if author is None:
        box_service.moderate(session, keys(config), item, item.messages[0].id, "released")
    box_service.staff_reply(session, keys(config), item, org.manager, "Svar.", today=closed_on - dt.timedelta(days=3))
    box_service.writer_reply(session, keys(config), item, "Tack.", today=closed_on - dt.timedelta(days=2))
    box_service.close(item, today=closed_on)
    session.commit()
    return item, key


@pytest.mark.parametrize(("today", "purged"), [(dt.date(2026, 1, 15), False), (dt.date(2026, 1, 16), True)])
def test_retention_deletes_the_texts_the_day_after_the_months_have_passed(
        session: Session, config: Config, box: Org, today: dt.date, purged: bool) -> None:
    """Closed 15 January 2024, kept 24 months: still there on 15 January 2026, gone on the 16th."""
    item, key = closed_item(session, config, box, box.team_a, closed_on=dt.date(2024, 1, 15))
    assert box_service.purge_closed(session, today) == (1 if purged else 0)
    session.commit()
    session.expire_all()
    item = session.get_one(BoxItem, item.id)
    if not purged:
        assert len(item.messages) == 3 and box_service.find_by_key(session, keys(config), key) == item
        return
    assert item.messages == [] and item.key_hash is None and item.purged_on == today and not item.scrubbed
    assert session.scalars(select(BoxMessage)).all() == []
    assert box_service.find_by_key(session, keys(config), key) is None
    # What the counts need stays.
    assert (item.unit_id, item.category, item.status, item.received_on, item.closed_on) == (
        box.team_a.id, "workload", "closed", dt.date(2024, 1, 8), dt.date(2024, 1, 15))


def test_retention_deletes_only_what_is_due_and_the_counts_agree_afterwards(
        app: Flask, session: Session, config: Config, box: Org) -> None:
    box_service.save_settings(session, acknowledge_days=2, answer_days=10, main_safety_rep_id=None,
                              retention_months=6)
    today = dt.date(2026, 12, 18)
    old, _ = closed_item(session, config, box, box.team_a, closed_on=dt.date(2026, 6, 17), author=box.employee)
    boundary, _ = closed_item(session, config, box, box.team_a, closed_on=dt.date(2026, 6, 18), category="safety")
    recent, _ = closed_item(session, config, box, box.dept, closed_on=dt.date(2026, 12, 1))
    still_open, _ = write(session, config, box.team_a, today=dt.date(2025, 1, 2))  # never closed: kept
    period = (dt.date(2024, 1, 1), today)
    before = box_service.box_summary(session, [box.team_a.id, box.dept.id], period, k=K, today=today)
    session.commit()  # no reader of ours holds the old rows: the scrub after the purge can finish
    database = scheduler.get_database(app)
    with app.app_context():
        assert scheduler.box_retention(database, today) == 1
        assert scheduler.box_retention(database, today) == 0  # nothing twice
    session.expire_all()
    items = {i.id: i for i in session.scalars(select(BoxItem))}
    assert items[old.id].purged_on == today and items[old.id].author_id is None and items[old.id].key_hash is None
    # The scrub ran after the purge; on a shared PostgreSQL server another reader may hold it back for a moment,
    # and then the next run finishes it, as every scheduler run does.
    session.commit()
    for _ in range(40):
        if box_service.scrub_purged(database):
            break
        time.sleep(0.25)
    session.commit()
    session.expire_all()
    assert session.get_one(BoxItem, old.id).scrubbed
    for kept in (boundary, recent, still_open):
        assert items[kept.id].purged_on is None and items[kept.id].messages, kept.id
    after = box_service.box_summary(session, [box.team_a.id, box.dept.id], period, k=K, today=today)
    assert after == before
    from pulse.models import AuditEntry

    assert session.scalars(select(AuditEntry.action).where(AuditEntry.action == "box.purge")).all() == ["box.purge"]


def test_the_retention_setting_has_bounds(session: Session, box: Org) -> None:
    assert box_service.settings(session).retention_months == 24
    for months in (5, 121, 0, -6):
        with pytest.raises(box_service.BoxError, match="retention"):
            box_service.save_settings(session, acknowledge_days=2, answer_days=10, main_safety_rep_id=None,
                                      retention_months=months)
    for months in (6, 120):
        saved = box_service.save_settings(session, acknowledge_days=2, answer_days=10, main_safety_rep_id=None,
                                          retention_months=months)
        assert saved.retention_months == months
    # Saving without it keeps what is set.
    assert box_service.save_settings(session, acknowledge_days=3, answer_days=10,
                                     main_safety_rep_id=None).retention_months == 120


def test_a_purged_item_takes_no_more_replies(session: Session, config: Config, box: Org) -> None:
    item, _ = closed_item(session, config, box, box.team_a, closed_on=dt.date(2024, 1, 15))
    box_service.purge_closed(session, dt.date(2027, 1, 1))
    for attempt in (lambda: box_service.writer_reply(session, keys(config), item, "Hallå", today=FRIDAY),
                    lambda: box_service.staff_reply(session, keys(config), item, box.manager, "Hej", today=FRIDAY)):
        with pytest.raises(box_service.BoxError, match="closed"):
            attempt()
