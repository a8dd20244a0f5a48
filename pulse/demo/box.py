"""Demo complaint box: a few items in the citizen-service offices, in every state — one new (waiting for the safety
representative's review), one acknowledged, one answered with a reply from the writer (that reply waiting for review),
one closed, and one overdue (its review too) — and a main safety representative for the units no safety area
covers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from pulse.common.db import Database
from pulse.models import BoxMessage, Person, Unit
from pulse.services import box as box_service

#: (unit key, category, days ago, what happens, text, reply)
ITEMS = (
    ("mbk-rinkeby", "workload", 0, "received",
     "Vi är två personer för få i receptionen på tisdagar och kön går ut på gatan.", None),
    ("mbk-husby", "premises", 3, "acknowledged",
     "Dörren till personalrummet går inte att låsa och vi har våra väskor där.", None),
    ("jarva-mbk", "treatment", 9, "answered",
     "Besökare blir allt oftare hotfulla när de får vänta, och vi vet inte vad vi ska göra då.",
     "Tack för att du skriver. Vi går igenom rutinen för hot och våld på nästa APT och tar in skyddsombudet."),
    ("mbk-tensta", "safety", 30, "closed",
     "Brandutgången på baksidan är blockerad av kartonger.",
     "Kartongerna är borttagna och vi har lagt in en kontroll i den veckovisa ronden."),
    ("jarva-mbk", "organisation", 25, "overdue",
     "Ingen vet vem som ska ta över ärendena när någon är sjuk.", None),
)


def load_demo_box(database: Database, keys: box_service.Keys, *, today: dt.date, k: int,
                  main_safety_rep: str | None = None) -> int:
    """Write the demo items through the box's own rules, backdated; return how many."""
    with database.session(write=True) as session:
        units = {u.key: u.id for u in session.scalars(select(Unit))}
        managers = {}
        for key in units:
            responsible = box_service.responsible(session, units[key])
            if responsible.managers:
                managers[key] = session.get_one(Person, min(responsible.managers))
        if main_safety_rep is not None:
            main = session.scalar(select(Person.id).where(Person.email == main_safety_rep))
            box_service.save_settings(session, acknowledge_days=box_service.DEFAULT_ACKNOWLEDGE_DAYS,
                                      answer_days=box_service.DEFAULT_ANSWER_DAYS, main_safety_rep_id=main)
        count = 0
        for key, category, days_ago, state, text, reply in ITEMS:
            written = today - dt.timedelta(days=days_ago)
            item, _ = box_service.write(session, keys, unit_id=units[key], category=category, text=text, k=k,
                                        today=written)
            # The demo does not mail about its history: every notice counts as sent.
            item.notified = True
            _told(item.messages[0], escalated=state == "overdue")
            if state in ("acknowledged", "answered", "closed"):
                box_service.moderate(session, keys, item, item.messages[0].id, "released")
                item.messages[0].release_notified = True
                box_service.acknowledge(item, today=written + dt.timedelta(days=1))
            if reply is not None:
                box_service.staff_reply(session, keys, item, managers[key], reply,
                                        today=written + dt.timedelta(days=4))
            if state == "answered":
                _told(box_service.writer_reply(session, keys, item, "Tack, det låter bra.",
                                               today=written + dt.timedelta(days=5)), escalated=True)
            if state == "closed":
                box_service.close(item, today=written + dt.timedelta(days=6))
            if state == "overdue":
                item.acknowledge_escalated = item.answer_escalated = True  # as the scheduler would have done
            count += 1
        session.commit()
    return count


def _told(message: BoxMessage, *, escalated: bool) -> None:
    """Mark a demo text's review notices as sent, as the scheduler would have done by now."""
    message.review_notified = True
    message.review_escalated = escalated
