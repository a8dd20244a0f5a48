"""Changing the organisation one unit or one person at a time, from the admin forms.

The same rules as the CSV import (pulse/services/orgimport.py): e-mail addresses are validated and lower-cased
and unique, unit ids are unique and at most 64 characters, a unit cannot be placed below itself, names are at
most 200 characters. Every change is returned as a diff for the caller's audit entry. Before a move is saved,
:func:`person_effects` and :func:`unit_effects` say what it changes (pulse/domain/moves.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from pulse.domain import orgcsv
from pulse.domain.moves import Gap, MoveEffects, OrgState, gaps, person_move, unit_move
from pulse.domain.orgtree import OrgTree
from pulse.models import Management, Person, PersonStatus, SafetyAreaUnit, Unit
from pulse.services.people import PersonChanges, set_assignments


class OrgEditError(ValueError):
    """A form value the organisation cannot take; ``code`` says which rule it breaks."""

    def __init__(self, code: str, field: str) -> None:
        """``field`` names the form field the message belongs to."""
        super().__init__(code)
        self.code = code
        self.field = field


# --- the organisation as plain data ------------------------------------------------------------------------


def load_state(session: Session) -> OrgState:
    """The stored organisation: every unit, the active people (those who are invited), and the roles."""
    parents = dict(session.execute(select(Unit.id, Unit.parent_id)).all())
    unit_of: dict[int, int | None] = dict(session.execute(
        select(Person.id, Person.unit_id).where(Person.status == PersonStatus.ACTIVE)).all())
    manages: dict[int, set[int]] = {}
    for person_id, unit_id in session.execute(select(Management.person_id, Management.unit_id)):
        manages.setdefault(person_id, set()).add(unit_id)
    safety: dict[int, set[int]] = {}
    for person_id, unit_id in session.execute(select(SafetyAreaUnit.person_id, SafetyAreaUnit.unit_id)):
        safety.setdefault(person_id, set()).add(unit_id)
    return OrgState(parents, unit_of, {p: frozenset(u) for p, u in manages.items()},
                    {p: frozenset(u) for p, u in safety.items()})


def state_gaps(session: Session, state: OrgState, k: int) -> set[Gap]:
    """The gaps (pulse/domain/moves.py) of ``state``, counting active units only."""
    active = set(session.scalars(select(Unit.id).where(Unit.active.is_(True))))
    headcount: dict[int, int] = {}
    for unit in state.unit_of.values():
        if unit is not None and unit in active:
            headcount[unit] = headcount.get(unit, 0) + 1
    counted: dict[int, int] = {}
    for person in state.unit_of:
        start = state.starting_unit(person)
        if start is not None:
            counted[start] = counted.get(start, 0) + 1
    parents = {u: p for u, p in state.parents.items()}
    return set(gaps(parents, headcount, state.manages, state.safety, k, counted))


@dataclass(frozen=True)
class Preview:
    """What a change does before it is saved: the move's effects and the gaps it opens or closes."""

    effects: MoveEffects
    gaps_opened: list[Gap]
    gaps_closed: list[Gap]

    @property
    def changes_anything(self) -> bool:
        return self.effects.changes_anything or bool(self.gaps_opened or self.gaps_closed)


def _preview(session: Session, before: OrgState, after: OrgState, effects: MoveEffects, k: int) -> Preview:
    old, new = state_gaps(session, before, k), state_gaps(session, after, k)
    return Preview(effects, sorted(new - old, key=_gap_order), sorted(old - new, key=_gap_order))


def _gap_order(gap: Gap) -> tuple[str, str]:
    return (str(gap.unit), gap.code)


def person_effects(session: Session, person: Person | None, changes: PersonChanges, k: int) -> Preview:
    """What saving ``changes`` for ``person`` (None: a new person) would change."""
    before = load_state(session)
    person_id = person.id if person is not None else 0
    unit_of = dict(before.unit_of)
    unit_of.pop(person_id, None)
    manages, safety = dict(before.manages), dict(before.safety)
    manages.pop(person_id, None)
    safety.pop(person_id, None)
    if changes.status == PersonStatus.ACTIVE:
        unit_of[person_id] = changes.unit_id
    if changes.status != PersonStatus.LEFT:
        if changes.managed_unit_ids:
            manages[person_id] = changes.managed_unit_ids
        if changes.safety_unit_ids:
            safety[person_id] = changes.safety_unit_ids
    after = OrgState(before.parents, unit_of, manages, safety)
    return _preview(session, before, after, person_move(before, after, person_id, k), k)


def unit_effects(session: Session, unit: Unit, parent_id: int | None, k: int) -> Preview:
    """What giving ``unit`` the parent ``parent_id`` would change."""
    before = load_state(session)
    parents = dict(before.parents)
    parents[unit.id] = parent_id
    after = OrgState(parents, before.unit_of, before.manages, before.safety)
    return _preview(session, before, after, unit_move(before, after, unit.id, k), k)


def is_move(person: Person | None, changes: PersonChanges, managed: set[int]) -> bool:
    """Whether saving changes where the person's answers count or who sees them (so a preview comes first)."""
    if person is None:
        return False
    return person.unit_id != changes.unit_id or managed != set(changes.managed_unit_ids)


# --- units -------------------------------------------------------------------------------------------------


def _check_unit(session: Session, unit: Unit | None, key: str, name: str, parent_id: int | None) -> None:
    if not key:
        raise OrgEditError("missing_value", "key")
    if len(key) > orgcsv.MAX_KEY:
        raise OrgEditError("too_long", "key")
    if not name:
        raise OrgEditError("missing_value", "name")
    if len(name) > orgcsv.MAX_NAME:
        raise OrgEditError("too_long", "name")
    same_key = session.scalar(select(Unit.id).where(Unit.key == key))
    if same_key is not None and (unit is None or same_key != unit.id):
        raise OrgEditError("duplicate_unit", "key")
    if parent_id is None:
        return
    parents = dict(session.execute(select(Unit.id, Unit.parent_id)).all())
    if parent_id not in parents:
        raise OrgEditError("unknown_unit", "parent")
    if unit is not None and parent_id in OrgTree(parents).subtree([unit.id]):
        raise OrgEditError("cycle", "parent")


def create_unit(session: Session, key: str, name: str, parent_id: int | None) -> tuple[Unit, dict[str, object]]:
    """Add an active unit; returns it and the audit details.

    :raises OrgEditError: ``missing_value``, ``too_long``, ``duplicate_unit``, ``unknown_unit``.
    """
    key, name = key.strip(), name.strip()
    _check_unit(session, None, key, name, parent_id)
    unit = Unit(key=key, name=name, parent_id=parent_id, active=True)
    session.add(unit)
    session.flush()
    return unit, {"key": key, "name": name, "parent_id": parent_id}


def update_unit(session: Session, unit: Unit, *, name: str, parent_id: int | None, active: bool
                ) -> dict[str, dict[str, object]]:
    """Rename, move or (de)activate a unit; returns ``{field: {"from": …, "to": …}}`` for the audit log.

    A unit keeps its id (``key``): it is how the import files refer to it.

    :raises OrgEditError: as :func:`create_unit`, plus ``cycle`` (the parent is the unit or below it) and
        ``still_used`` (making a unit inactive while people or active units are still in it).
    """
    name = name.strip()
    _check_unit(session, unit, unit.key, name, parent_id)
    if unit.active and not active:
        people = session.scalar(select(exists().where(Person.unit_id == unit.id,
                                                      Person.status != PersonStatus.LEFT)))
        children = session.scalar(select(exists().where(Unit.parent_id == unit.id, Unit.active.is_(True))))
        if people or children:
            raise OrgEditError("still_used", "active")
    diff: dict[str, dict[str, object]] = {}
    for field, old, new in (("name", unit.name, name), ("parent_id", unit.parent_id, parent_id),
                            ("active", unit.active, active)):
        if old != new:
            diff[field] = {"from": old, "to": new}
    unit.name, unit.parent_id, unit.active = name, parent_id, active
    session.flush()
    return diff


# --- people ------------------------------------------------------------------------------------------------


def normalise_email(raw: str) -> str:
    """The address as the import stores it (validated, lower-case).

    :raises OrgEditError: ``missing_value`` or ``bad_email``.
    """
    raw = raw.strip()
    if not raw:
        raise OrgEditError("missing_value", "email")
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise OrgEditError("bad_email", "email") from exc


def create_person(session: Session, email: str, changes: PersonChanges) -> tuple[Person, dict[str, object]]:
    """Add one person (without a password: they set one through "Forgot password"); returns the person and the
    audit details.

    :raises OrgEditError: ``missing_value``, ``bad_email``, ``duplicate_email``, ``too_long``, ``unknown_unit``.
    """
    address = normalise_email(email)
    if session.scalar(select(exists().where(Person.email == address))):
        raise OrgEditError("duplicate_email", "email")
    name = changes.name.strip()
    if not name:
        raise OrgEditError("missing_value", "name")
    if len(name) > orgcsv.MAX_NAME:
        raise OrgEditError("too_long", "name")
    units = set(changes.managed_unit_ids | changes.safety_unit_ids)
    if changes.unit_id is not None:
        units.add(changes.unit_id)
    if units and set(session.scalars(select(Unit.id).where(Unit.id.in_(units)))) != units:
        raise OrgEditError("unknown_unit", "unit")
    person = Person(email=address, name=name, unit_id=changes.unit_id, language=changes.language,
                    status=changes.status, is_admin=changes.is_admin and changes.status != PersonStatus.LEFT,
                    session_version=1)
    session.add(person)
    session.flush()
    managed = changes.managed_unit_ids if changes.status != PersonStatus.LEFT else frozenset()
    safety = changes.safety_unit_ids if changes.status != PersonStatus.LEFT else frozenset()
    set_assignments(session, person.id, managed=managed, safety=safety)
    session.flush()
    return person, {"email": address, "name": name, "unit_id": changes.unit_id, "language": changes.language,
                    "status": changes.status.value, "is_admin": person.is_admin, "manages": sorted(managed),
                    "safety_area": sorted(safety)}


# --- the people list ---------------------------------------------------------------------------------------

PAGE_SIZE = 50


@dataclass(frozen=True)
class PeopleFilter:
    """What the people list shows: a text in the name or e-mail, a unit (with the units below it), a role
    (``admin``, ``manager``, ``safety_rep`` or ``none`` for people with no staff role) and a status."""

    text: str = ""
    unit_id: int | None = None
    role: str = ""
    status: str = ""


@dataclass(frozen=True)
class PeoplePage:
    people: list[Person]
    total: int
    page: int
    pages: int


def people_page(session: Session, wanted: PeopleFilter, page: int, *, size: int = PAGE_SIZE) -> PeoplePage:
    """One page of the people who match ``wanted``, by name, with how many match in all.

    :raises ValueError: when ``page`` is past the last page.
    """
    conditions = []
    text = wanted.text.strip().lower()
    if text:
        # lower(), not casefold(), on both sides: the database lowers the names the same way.
        conditions.append(or_(func.lower(Person.name).contains(text, autoescape=True),
                              Person.email.contains(text, autoescape=True)))
    if wanted.unit_id is not None:
        tree = OrgTree(dict(session.execute(select(Unit.id, Unit.parent_id)).all()))
        conditions.append(Person.unit_id.in_(sorted(tree.subtree([wanted.unit_id]))))
    leads = exists().where(Management.person_id == Person.id)
    guards = exists().where(SafetyAreaUnit.person_id == Person.id)
    if wanted.role == "admin":
        conditions.append(Person.is_admin.is_(True))
    elif wanted.role == "manager":
        conditions.append(leads)
    elif wanted.role == "safety_rep":
        conditions.append(guards)
    elif wanted.role == "none":
        conditions.append(and_(Person.is_admin.is_(False), ~leads, ~guards))
    if wanted.status:
        conditions.append(Person.status == PersonStatus(wanted.status))
    total = session.scalar(select(func.count()).select_from(Person).where(*conditions)) or 0
    pages = max(1, -(-total // size))
    if page < 1 or page > pages:
        raise ValueError("no such page")
    people = list(session.scalars(select(Person).where(*conditions).order_by(Person.name, Person.id)
                                  .offset((page - 1) * size).limit(size)))
    return PeoplePage(people, total, page, pages)
