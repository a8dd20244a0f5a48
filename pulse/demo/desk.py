"""Demo data for the safety desk: three 6:6a requests at different stages (answered in time with a photo, overdue
after an escalation, made today) and the annual follow-up of Medborgarkontor Rinkeby — last year's signed and
locked, this year's started. Built through the services, with the scheduler's steps at their dates, so the
histories are the ones Pulse itself would have written."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse.common.db import Database
from pulse.domain import desk
from pulse.models import Person, SafetyRequest, Unit
from pulse.services import safety

#: A 4×4 grey PNG: the "photo" attached to a demo request.
PHOTO = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x04\x00\x00\x00\x04\x08\x02\x00\x00\x00&\x93\t)\x00"
         b"\x00\x00\x0fIDATx\x9cc8\x81\x04\x18\x88\xe3\x00\x00\xcfa%\x81\x96n#\xf5\x00\x00\x00\x00IEND\xaeB`\x82")


def _person(session: Session, name: str) -> Person:
    return session.scalars(select(Person).where(Person.name == name)).one()


def _unit(session: Session, key: str) -> Unit:
    return session.scalars(select(Unit).where(Unit.key == key)).one()


def _steps(session: Session, request: SafetyRequest, start: dt.datetime, days: int, tz: ZoneInfo) -> None:
    """What the scheduler would have done each morning from ``start`` for ``days`` days."""
    for offset in range(days + 1):
        moment = start + dt.timedelta(days=offset)
        step = desk.next_step(safety.dates(request), moment, tz)
        if step is not None:
            safety.take_step(session, request.id, step, now=moment, tz=tz)
            session.refresh(request)


def load_demo_desk(database: Database, *, now: dt.datetime, tz: ZoneInfo) -> int:
    """Add the desk's demo records; returns how many requests were made."""
    with database.session(write=True) as session:
        samira = _person(session, "Samira Skyddsombud")
        rinkeby_chef = _person(session, "Kontorschef Rinkeby")
        husby_chef = _person(session, "Kontorschef Husby")
        rinkeby, husby = _unit(session, "mbk-rinkeby"), _unit(session, "mbk-husby")
        morning = dt.datetime.combine(now.astimezone(tz).date(), dt.time(8), tz).astimezone(dt.UTC)

        made = morning - dt.timedelta(days=30)
        desks = safety.register(
            session, samira, unit_id=husby.id, kind="measure", title="Höj- och sänkbara skrivbord i receptionen",
            reasons="Tre av fyra i receptionen har ont i nacke och axlar. Skrivborden går inte att ställa om mellan "
                    "passen, och de som står vid disken kan inte växla till sittande.",
            reply_by=(made + dt.timedelta(days=21)).date(),
            uploads=[safety.Upload("receptionen.png", PHOTO)], now=made, tz=tz)
        _steps(session, desks, made, 0, tz)
        safety.confirm(session, husby_chef, desks, now=made + dt.timedelta(hours=3))
        safety.answer(session, husby_chef, desks,
                      text="Vi har beställt fyra höj- och sänkbara skrivbord till receptionen.",
                      measures="Skrivborden levereras vecka 3 och monteras av fastighetsavdelningen. Företags"
                               "hälsovården gör en ergonomisk genomgång efter en månad.",
                      now=made + dt.timedelta(days=12))

        made = morning - dt.timedelta(days=20)
        threats = safety.register(
            session, samira, unit_id=rinkeby.id, kind="investigation",
            title="Undersökning av hot och våld i receptionen",
            reasons="Under hösten har besökare vid flera tillfällen hotat personalen. Larmet når inte väktarna i "
                    "tid och rutinen för ensamarbete följs inte. Jag begär en undersökning och en riskbedömning.",
            reply_by=(made + dt.timedelta(days=10)).date(), now=made, tz=tz)
        _steps(session, threats, made, 4, tz)
        if threats.confirmed_at is None:
            safety.confirm(session, rinkeby_chef, threats, now=made + dt.timedelta(days=4, hours=2))
        safety.add_note(session, samira, threats, "Möte med kontorschefen; undersökningen är inte påbörjad.",
                        now=made + dt.timedelta(days=8))
        _steps(session, threats, made + dt.timedelta(days=5), 15, tz)

        safety.register(
            session, samira, unit_id=rinkeby.id, kind="measure", title="Ventilationen i mötesrum Ekan",
            reasons="Rummet blir varmt och instängt efter en halvtimme. Koldioxidhalten bör mätas.",
            reply_by=(morning + dt.timedelta(days=14)).date(), now=morning, tz=tz)

        year = now.astimezone(tz).year
        last = safety.start_follow_up(session, samira, rinkeby.id, year - 1, now=morning - dt.timedelta(days=330))
        answers = {key: ("yes", "") for key in desk.CHECKLIST}
        answers["risks"] = ("partly", "Riskbedömningen av receptionen gjordes först efter sommaren.")
        answers["incidents"] = ("no", "Två tillbud i oktober är inte utredda.")
        safety.save_follow_up(session, rinkeby_chef, last, answers, now=morning - dt.timedelta(days=330))
        facts = {"pulses": ["Veckopuls Järva: se rapporten"], "requests": ["Inga begäranden enligt 6:6a."]}
        safety.sign_follow_up(session, rinkeby_chef, last, "manager", facts, now=morning - dt.timedelta(days=329))
        safety.sign_follow_up(session, samira, last, "rep", facts, now=morning - dt.timedelta(days=328))
        this = safety.start_follow_up(session, samira, rinkeby.id, year, now=morning - dt.timedelta(days=2))
        safety.save_follow_up(session, samira, this, {"routines": ("yes", ""), "tasks": (
            "partly", "Ansvaret för brandskyddet är inte fördelat.")}, now=morning - dt.timedelta(days=2))
        session.commit()
    return 3
