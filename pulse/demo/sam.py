"""Demo SAM records: the loop from results to action at Medborgarkontor Rinkeby (and a little at Tensta).

A risk assessment prompted by a low "speaking up" score and one about threats at the front desk, an APT held with
the safety representative and one planned, actions decided there (one overdue, one measured against the releases
before and after it started), "you said, we did" published for Rinkeby's employees, and the organisation's help
text. Written through the same services as the pages.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse import disclosure
from pulse.models import Person, Unit
from pulse.services import sam
from pulse.services.org import Scope

EVERYTHING = Scope(True, frozenset())


def _unit(session: Session, key: str) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.key == key))
    assert unit is not None, key
    return unit


def _person(session: Session, name: str) -> Person:
    person = session.scalar(select(Person).where(Person.name == name))
    assert person is not None, name
    return person


def load_demo_sam(session: Session, *, now: dt.datetime) -> None:
    """Add the demo's SAM records (flushes; the caller commits). Needs the demo's released history."""
    today = now.date()
    rinkeby, tensta = _unit(session, "mbk-rinkeby"), _unit(session, "mbk-tensta")
    chef = _person(session, "Kontorschef Rinkeby")
    newest = disclosure.releases_holding(session, rinkeby.id)[0]
    held = today - dt.timedelta(days=24)

    silence = sam.create_risk(session, rinkeby.id, sam.RiskInput(
        description="Många upplever att det inte går att ta upp problem utan att vara rädd för följderna. Risk för "
                    "att brister i arbetsmiljön inte kommer fram och att ohälsa byggs upp.",
        area="speaking_up", serious=False, assessed_by="Kontorschef Rinkeby",
        assessed_with="Arbetsgruppen på APT och skyddsombudet Samira", safety_rep_involved=True, assessed_on=held,
        status="acting", source="low_score", release_id=newest, question_code="OSA-SP1"), scope=EVERYTHING, by=chef)
    threats = sam.create_risk(session, rinkeby.id, sam.RiskInput(
        description="Besökare har vid flera tillfällen hotat personal i receptionen, särskilt sena eftermiddagar när "
                    "få är på plats.",
        area="threats", serious=True, assessed_by="Kontorschef Rinkeby", assessed_with="Skyddsombudet Samira",
        safety_rep_involved=True, assessed_on=held, status="acting"), scope=EVERYTHING, by=chef)
    sam.create_risk(session, tensta.id, sam.RiskInput(
        description="Arbetsbelastningen i medborgarvägledningen ökar inför deklarationsperioden.",
        area="workload", serious=False, assessed_by="Kontorschef Tensta", assessed_with="",
        safety_rep_involved=False, assessed_on=today - dt.timedelta(days=3)), scope=EVERYTHING, by=None)

    meeting = sam.create_meeting(session, rinkeby.id, sam.MeetingInput(held, (
        "Vi gick igenom resultaten från veckopulsen. Flera lyfte att det är svårt att säga ifrån och att hot i "
        "receptionen skapar oro.\n\nBeslut:\n1. Arbetsmiljö blir en fast punkt på varje APT, med möjlighet att "
        "lämna frågor i förväg utan namn.\n2. Larmknapp och en rutin för hotfulla besök i receptionen.\n\n"
        "Skyddsombudet Samira deltog."), newest), scope=EVERYTHING, by=chef)
    sam.create_meeting(session, rinkeby.id, sam.MeetingInput(today + dt.timedelta(days=12)), scope=EVERYTHING,
                       by=chef)

    standing = sam.create_action(session, rinkeby.id, sam.ActionInput(
        activity="Arbetsmiljö som fast punkt på varje APT; frågor kan lämnas i förväg utan namn.",
        goal="Att fler upplever att de kan ta upp problem utan att vara rädda för följderna.",
        owner_role="Kontorschef", owner_id=chef.id, start_on=held, due_on=today + dt.timedelta(days=21),
        status="in_progress", follow_up_on=today + dt.timedelta(days=60), risk_id=silence.id,
        question_code="OSA-SP1", meeting_id=meeting.id), scope=EVERYTHING, by=chef)
    alarm = sam.create_action(session, rinkeby.id, sam.ActionInput(
        activity="Larmknapp i receptionen och en skriven rutin för hotfulla besök, genomgången med alla.",
        goal="Ingen ska stå ensam i receptionen när ett besök blir hotfullt.",
        owner_role="Kontorschef, med fastighetsförvaltningen", owner_id=chef.id, start_on=held,
        due_on=today - dt.timedelta(days=4), status="planned", follow_up_on=today + dt.timedelta(days=30),
        cost_sek=18000, risk_id=threats.id, meeting_id=meeting.id), scope=EVERYTHING, by=chef)
    sam.create_action(session, tensta.id, sam.ActionInput(
        activity="Se över bemanningen i vägledningen under eftermiddagarna.", goal="",
        owner_role="Kontorschef Tensta", owner_id=None, start_on=today - dt.timedelta(days=30),
        due_on=today - dt.timedelta(days=10), status="done", follow_up_on=today + dt.timedelta(days=5),
        risk_id=None, question_code="OSA-WL1"), scope=EVERYTHING, by=None)

    feedback = sam.create_feedback(session, rinkeby.id, sam.FeedbackInput(
        release_id=newest,
        heard="Många av er har svarat att det är svårt att ta upp problem utan att vara rädd för följderna, och "
              "flera har berättat om hot från besökare i receptionen.",
        doing="Vi har gjort en riskbedömning tillsammans med skyddsombudet och beslutat om två åtgärder på APT:",
        action_ids=(standing.id, alarm.id)), scope=EVERYTHING, by=chef)
    sam.publish_feedback(session, feedback.id, scope=EVERYTHING, now=now - dt.timedelta(days=20))

    sam.set_help(session, None, (
        "Har du blivit illa behandlad, hotad eller utsatt för våld i arbetet? Prata med din chef, ditt skyddsombud "
        "eller HR – eller vänd dig direkt till företagshälsovården. Du behöver inte berätta vad du svarade här."),
        "Rutin mot kränkande särbehandling | https://intranat.exempelstad.se/rutiner/krankande-sarbehandling\n"
        "Rutin vid hot och våld | https://intranat.exempelstad.se/rutiner/hot-och-vald\n"
        "Företagshälsovården | https://intranat.exempelstad.se/foretagshalsovard\n"
        "Skyddsombuden | mailto:skyddsombud@exempelstad.se", scope=EVERYTHING)
    session.flush()
