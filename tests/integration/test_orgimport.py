"""Planning and applying an organisation import against a real database."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pulse.models import Management, Person, PersonStatus, SafetyAreaUnit, Unit
from pulse.services import orgimport

UNITS = b"unit_id,name,parent_id\nroot,Exempelstad,\nadm,F\xc3\xb6rvaltningen,root\nteam-a,Team A,adm\nteam-b,Team B,adm\n"
PEOPLE = (b"email,name,unit_id,roles,manages,safety_area,language,status\n"
          b"admin@example.org,Ada Admin,root,admin,,,sv,active\n"
          b"boss@example.org,Bo Chef,adm,manager,team-a;team-b,,sv,active\n"
          b"sara@example.org,Sara Skydd,team-b,safety_rep,,adm,en,active\n"
          b"eva@example.org,Eva,team-a,,,,,\n"
          b"olle@example.org,Olle,team-a,,,,,on_leave\n")


def run(session: Session, units: bytes = UNITS, people: bytes = PEOPLE) -> orgimport.ImportPlan:
    plan = orgimport.plan_import(session, units, people)
    assert plan.ok, plan.problems
    orgimport.apply_import(session, plan, units, people)
    session.commit()
    return plan


def test_first_import_creates_everything(session: Session) -> None:
    plan = run(session)
    assert plan.counts() == {"units_added": 4, "units_changed": 0, "units_deactivated": 0, "people_added": 5,
                             "people_changed": 0, "people_left": 0}
    units = {u.key: u for u in session.scalars(select(Unit))}
    assert units["team-a"].parent_id == units["adm"].id and units["root"].parent_id is None
    boss = session.scalar(select(Person).where(Person.email == "boss@example.org"))
    assert boss is not None
    assert {u.key for u in boss.managed_units} == {"team-a", "team-b"}
    sara = session.scalar(select(Person).where(Person.email == "sara@example.org"))
    assert sara is not None and [u.key for u in sara.safety_units] == ["adm"] and sara.language == "en"
    olle = session.scalar(select(Person).where(Person.email == "olle@example.org"))
    assert olle is not None and olle.status == PersonStatus.ON_LEAVE


def test_reimport_is_idempotent(session: Session) -> None:
    run(session)
    plan = orgimport.plan_import(session, UNITS, PEOPLE)
    assert plan.ok and not plan.has_changes
    assert plan.unchanged_people == 5
    orgimport.apply_import(session, plan, UNITS, PEOPLE)
    session.commit()
    assert session.scalar(select(func.count()).select_from(Person)) == 5
    assert session.scalar(select(func.count()).select_from(Management)) == 2


def test_changes_moves_and_departures(session: Session) -> None:
    run(session)
    units = UNITS.replace(b"team-b,Team B,adm", b"team-b,Team Beta,root") + b"team-c,Team C,adm\n"
    people = (PEOPLE.replace(b"eva@example.org,Eva,team-a,,,,,", b"eva@example.org,Eva Ek,team-c,,,,en,")
              .replace(b"olle@example.org,Olle,team-a,,,,,on_leave\n", b"")
              .replace(b"team-a;team-b", b"team-a"))
    plan = run(session, units, people)
    assert [d.key for d in plan.units_added] == ["team-c"]
    changed = {d.key: {c.field: (c.old, c.new) for c in d.changes} for d in plan.units_changed}
    assert changed == {"team-b": {"name": ("Team B", "Team Beta"), "parent_id": ("adm", "root")}}
    people_changed = {d.email: {c.field for c in d.changes} for d in plan.people_changed}
    assert people_changed == {"eva@example.org": {"name", "unit_id", "language"},
                              "boss@example.org": {"manages"}}
    assert [d.email for d in plan.people_left] == ["olle@example.org"]
    olle = session.scalar(select(Person).where(Person.email == "olle@example.org"))
    assert olle is not None and olle.status == PersonStatus.LEFT  # kept, never deleted


def test_missing_units_become_inactive_and_come_back(session: Session) -> None:
    run(session)
    units = UNITS.replace(b"team-b,Team B,adm\n", b"")
    people = (PEOPLE.replace(b"team-a;team-b", b"team-a")
              .replace(b"sara@example.org,Sara Skydd,team-b", b"sara@example.org,Sara Skydd,team-a"))
    plan = run(session, units, people)
    assert [d.key for d in plan.units_deactivated] == ["team-b"]
    assert session.scalar(select(Unit.active).where(Unit.key == "team-b")) is False
    plan = run(session)
    assert {d.key for d in plan.units_changed} == {"team-b"}
    assert session.scalar(select(Unit.active).where(Unit.key == "team-b")) is True


def test_left_people_lose_roles_and_sessions(session: Session) -> None:
    run(session)
    sara = session.scalar(select(Person).where(Person.email == "sara@example.org"))
    assert sara is not None
    version = sara.session_version
    run(session, people=PEOPLE.replace(b"sara@example.org,Sara Skydd,team-b,safety_rep,,adm,en,active\n", b""))
    session.refresh(sara)
    assert sara.status == PersonStatus.LEFT and sara.session_version == version + 1
    assert session.scalar(select(func.count()).select_from(SafetyAreaUnit)) == 0


def test_problems_change_nothing(session: Session) -> None:
    run(session)
    before = session.scalar(select(func.count()).select_from(Person))
    plan = orgimport.plan_import(session, UNITS, PEOPLE + b"broken,X,team-a,,,,,\n")
    assert not plan.ok
    assert session.scalar(select(func.count()).select_from(Person)) == before


def test_an_import_may_not_remove_every_admin(session: Session) -> None:
    plan = orgimport.plan_import(session, UNITS, PEOPLE.replace(b",admin,", b",,"))
    assert [p.code for p in plan.problems] == ["no_admin_left"]


def test_an_admin_cannot_import_away_their_own_access(session: Session) -> None:
    run(session)
    me = session.scalar(select(Person).where(Person.email == "admin@example.org"))
    people = PEOPLE.replace(b"admin@example.org,Ada Admin,root,admin", b"admin@example.org,Ada Admin,root,") + \
        b"other@example.org,Other Admin,root,admin,,,,\n"
    plan = orgimport.plan_import(session, UNITS, people, acting=me)
    assert [p.code for p in plan.problems] == ["removes_own_admin"]


def test_export_round_trips(session: Session) -> None:
    run(session)
    units_text, people_text = orgimport.export_files(session)
    plan = orgimport.plan_import(session, units_text.encode(), people_text.encode())
    assert plan.ok and not plan.has_changes, plan.problems


def test_digest_changes_when_the_plan_changes(session: Session) -> None:
    first = orgimport.plan_import(session, UNITS, PEOPLE)
    again = orgimport.plan_import(session, UNITS, PEOPLE)
    other = orgimport.plan_import(session, UNITS, PEOPLE.replace(b"Eva", b"Eve"))
    assert first.digest() == again.digest() != other.digest()
