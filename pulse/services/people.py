"""Changing people: unit, language, status and roles, always with an audit entry by the caller."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from pulse.models import Management, Person, PersonStatus, SafetyAreaUnit, Unit


class PersonUpdateError(ValueError):
    """The change would leave the organisation in a state Pulse refuses (e.g. without an administrator)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class PersonChanges:
    name: str
    unit_id: int | None
    language: str
    status: PersonStatus
    is_admin: bool
    managed_unit_ids: frozenset[int]
    safety_unit_ids: frozenset[int]


def managed_ids(session: Session, person_id: int) -> set[int]:
    return set(session.scalars(select(Management.unit_id).where(Management.person_id == person_id)))


def safety_ids(session: Session, person_id: int) -> set[int]:
    return set(session.scalars(select(SafetyAreaUnit.unit_id).where(SafetyAreaUnit.person_id == person_id)))


def set_assignments(session: Session, person_id: int, *, managed: Iterable[int], safety: Iterable[int]) -> None:
    """Replace which units a person leads and which form their safety area."""
    managed, safety = set(managed), set(safety)
    current_managed, current_safety = managed_ids(session, person_id), safety_ids(session, person_id)
    if managed != current_managed:
        session.execute(delete(Management).where(Management.person_id == person_id,
                                                 Management.unit_id.in_(current_managed - managed)))
        session.add_all(Management(person_id=person_id, unit_id=u) for u in sorted(managed - current_managed))
    if safety != current_safety:
        session.execute(delete(SafetyAreaUnit).where(SafetyAreaUnit.person_id == person_id,
                                                     SafetyAreaUnit.unit_id.in_(current_safety - safety)))
        session.add_all(SafetyAreaUnit(person_id=person_id, unit_id=u) for u in sorted(safety - current_safety))


def other_admins(session: Session, person_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Person).where(
        Person.is_admin.is_(True), Person.id != person_id, Person.status != PersonStatus.LEFT)) or 0


def update_person(session: Session, person: Person, changes: PersonChanges, *, acting: Person | None = None
                  ) -> dict[str, dict[str, object]]:
    """Apply ``changes`` and return what changed (``{field: {"from": …, "to": …}}``) for the audit log.

    Marking someone as left also takes away their roles, whatever ``changes`` says about them.

    :raises PersonUpdateError: ``last_admin`` when the change would leave no active administrator;
        ``self_lockout`` when an administrator tries to mark themselves as left; ``unknown_unit`` for a unit
        id that does not exist.
    """
    if changes.status == PersonStatus.LEFT:
        # Someone who has left keeps their history but loses every role (and, below, every session).
        changes = replace(changes, is_admin=False, managed_unit_ids=frozenset(), safety_unit_ids=frozenset())
    all_units = set(changes.managed_unit_ids | changes.safety_unit_ids)
    if changes.unit_id is not None:
        all_units.add(changes.unit_id)
    if all_units:
        found = set(session.scalars(select(Unit.id).where(Unit.id.in_(all_units))))
        if found != all_units:
            raise PersonUpdateError("unknown_unit")
    loses_admin = person.is_admin and (not changes.is_admin or changes.status == PersonStatus.LEFT)
    if loses_admin and other_admins(session, person.id) == 0:
        raise PersonUpdateError("last_admin")
    if acting is not None and acting.id == person.id and changes.status == PersonStatus.LEFT:
        raise PersonUpdateError("self_lockout")

    diff: dict[str, dict[str, object]] = {}

    def track(field: str, old: object, new: object) -> None:
        if old != new:
            diff[field] = {"from": old, "to": new}

    track("name", person.name, changes.name)
    track("unit_id", person.unit_id, changes.unit_id)
    track("language", person.language, changes.language)
    track("status", person.status.value, changes.status.value)
    track("is_admin", person.is_admin, changes.is_admin)
    old_managed, old_safety = managed_ids(session, person.id), safety_ids(session, person.id)
    track("manages", sorted(old_managed), sorted(changes.managed_unit_ids))
    track("safety_area", sorted(old_safety), sorted(changes.safety_unit_ids))

    person.name = changes.name
    person.unit_id = changes.unit_id
    person.language = changes.language
    person.status = changes.status
    person.is_admin = changes.is_admin
    if changes.status == PersonStatus.LEFT:
        person.session_version += 1
    set_assignments(session, person.id, managed=changes.managed_unit_ids, safety=changes.safety_unit_ids)
    session.flush()
    return diff


def search_people(session: Session, query: str, *, limit: int = 50) -> list[Person]:
    """People whose name or e-mail contains ``query`` (case-insensitive; ``%`` and ``_`` are plain characters)."""
    # lower(), not casefold(), on both sides: the database lowers the names the same way.
    text = query.strip().lower()
    statement = select(Person).order_by(Person.name).limit(limit)
    if text:
        statement = statement.where(or_(func.lower(Person.name).contains(text, autoescape=True),
                                        Person.email.contains(text, autoescape=True)))
    return list(session.scalars(statement))
