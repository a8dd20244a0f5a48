"""Small helpers that put organisation data into a test database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from pulse.common.passwords import Passwords
from pulse.domain.crypto import new_private_key
from pulse.models import Management, Person, PersonStatus, SafetyAreaUnit, Unit
from pulse.services.auth import lock_answer_key

PASSWORD = "correct horse battery staple"
#: Cheap argon2 parameters; verification reads the parameters from the hash, so the app accepts these.
HASHER = Passwords(time_cost=1, memory_kib=8)


def make_unit(session: Session, key: str, name: str | None = None, parent: Unit | None = None,
              active: bool = True) -> Unit:
    unit = Unit(key=key, name=name or f"Unit {key}", parent_id=parent.id if parent else None, active=active)
    session.add(unit)
    session.flush()
    return unit


def make_person(session: Session, email: str, *, unit: Unit | None = None, name: str | None = None,
                language: str = "sv", status: PersonStatus = PersonStatus.ACTIVE, admin: bool = False,
                manages: list[Unit] | None = None, safety_area: list[Unit] | None = None,
                password: str | None = PASSWORD) -> Person:
    person = Person(email=email.lower(), name=name or email.split("@")[0].title(),
                    unit_id=unit.id if unit else None,
                    language=language, status=status, is_admin=admin, session_version=1)
    session.add(person)
    session.flush()
    if password is not None:
        # As set_password does: the hash, and the answer key locked with the password ("Answer now").
        person.password_hash = HASHER.hash(password)
        lock_answer_key(person, HASHER, password, new_private_key())
    for managed in manages or []:
        session.add(Management(person_id=person.id, unit_id=managed.id))
    for safe in safety_area or []:
        session.add(SafetyAreaUnit(person_id=person.id, unit_id=safe.id))
    session.flush()
    return person


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    response = client.post("/staff/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


class Org:
    """A small organisation: root → admin dept → two teams; one person per role."""

    def __init__(self, session: Session) -> None:
        self.root = make_unit(session, "root", "Exempelstad")
        self.dept = make_unit(session, "dept", "Förvaltningen", self.root)
        self.team_a = make_unit(session, "team-a", "Team A", self.dept)
        self.team_b = make_unit(session, "team-b", "Team B", self.dept)
        self.other = make_unit(session, "other", "Annan förvaltning", self.root)
        self.admin = make_person(session, "admin@example.org", unit=self.root, admin=True, name="Ada Admin")
        self.manager = make_person(session, "manager@example.org", unit=self.dept, manages=[self.team_a],
                                   name="Maja Chef")
        self.safety = make_person(session, "safety@example.org", unit=self.team_b, safety_area=[self.dept],
                                  name="Sam Skyddsombud")
        self.employee = make_person(session, "employee@example.org", unit=self.team_a, name="Erik Anställd")
        session.commit()

    @property
    def emails(self) -> dict[str, str]:
        return {"admin": self.admin.email, "manager": self.manager.email, "safety_rep": self.safety.email,
                "employee": self.employee.email}


def snapshot(session: Session) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, to show that a refused request changed nothing stored.

    Ends the session's transaction, so a SQLite test session does not hold the write lock during requests.
    """
    from pulse.common.db import Base

    rows = {table.name: sorted((tuple(row) for row in session.execute(table.select())), key=repr)
            for table in Base.metadata.sorted_tables}
    session.commit()
    return rows


@contextmanager
def rows_in_another_order(session: Session) -> Iterator[None]:
    """Inside, the database returns the rows of a query without ORDER BY in another order than it otherwise would,
    so a test sees code that only works because of the order rows happen to come in: SQLite reverses it (its pragma
    for finding such code), PostgreSQL reads tables without their indexes and joins by nested loops (rows in the
    order they were stored, not the primary key's). The session's transaction is rolled back at the end."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:
        session.execute(text("PRAGMA reverse_unordered_selects = ON"))
    else:
        for plan in ("indexscan", "indexonlyscan", "bitmapscan", "hashjoin", "mergejoin"):
            session.execute(text(f"SET LOCAL enable_{plan} = off"))
    try:
        yield
    finally:
        session.rollback()
        if sqlite:
            session.execute(text("PRAGMA reverse_unordered_selects = OFF"))
