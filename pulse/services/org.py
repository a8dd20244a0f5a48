"""Reading the organisation: the unit tree, people's roles and what each person may see."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from pulse.domain.orgtree import OrgTree
from pulse.models import Management, Person, PersonStatus, SafetyAreaUnit, Unit


class Role(enum.StrEnum):
    """Staff roles. Everyone is an employee; the others follow from the person's assignments."""

    EMPLOYEE = "employee"
    MANAGER = "manager"
    SAFETY_REP = "safety_rep"
    ADMIN = "admin"


def roles_of(session: Session, person: Person) -> frozenset[Role]:
    roles = {Role.EMPLOYEE}
    if person.is_admin:
        roles.add(Role.ADMIN)
    if session.scalar(select(exists().where(Management.person_id == person.id))):
        roles.add(Role.MANAGER)
    if session.scalar(select(exists().where(SafetyAreaUnit.person_id == person.id))):
        roles.add(Role.SAFETY_REP)
    return frozenset(roles)


def load_tree(session: Session) -> OrgTree[int]:
    """The whole unit tree (active and inactive units) as parent links."""
    rows = session.execute(select(Unit.id, Unit.parent_id)).all()
    return OrgTree({row.id: row.parent_id for row in rows})


@dataclass(frozen=True)
class Scope:
    """The units a staff member may see: everything (admin), or subtrees of led units and safety area."""

    everything: bool
    unit_ids: frozenset[int]

    def allows(self, unit_id: int) -> bool:
        return self.everything or unit_id in self.unit_ids

    @property
    def empty(self) -> bool:
        return not self.everything and not self.unit_ids


def scope_of(session: Session, person: Person, roles: frozenset[Role] | None = None) -> Scope:
    """What ``person`` may see: admins all; managers the subtree of the units they lead; safety
    representatives the subtree of their safety area; both when a person holds both roles."""
    roles = roles if roles is not None else roles_of(session, person)
    if Role.ADMIN in roles:
        return Scope(True, frozenset())
    roots = set(session.scalars(select(Management.unit_id).where(Management.person_id == person.id)))
    roots |= set(session.scalars(select(SafetyAreaUnit.unit_id).where(SafetyAreaUnit.person_id == person.id)))
    if not roots:
        return Scope(False, frozenset())
    return Scope(False, frozenset(load_tree(session).subtree(roots)))


@dataclass(frozen=True)
class UnitRow:
    unit: Unit
    depth: int
    people: int


def unit_rows(session: Session, scope: Scope | None = None, *, include_inactive: bool = False) -> list[UnitRow]:
    """Units in tree order with their depth and number of current (not left) people."""
    units = {u.id: u for u in session.scalars(select(Unit))}
    tree = OrgTree({uid: u.parent_id for uid, u in units.items()})
    counts = dict(
        session.execute(
            select(Person.unit_id, func.count())
            .where(Person.status != PersonStatus.LEFT, Person.unit_id.is_not(None))
            .group_by(Person.unit_id)
        ).all()
    )
    rows = []
    for uid, depth in tree.walk(sort_key=lambda key: units[key].name.casefold()):
        unit = units[uid]
        if scope is not None and not scope.allows(uid):
            continue
        if not include_inactive and not unit.active:
            continue
        rows.append(UnitRow(unit, depth, counts.get(uid, 0)))
    if scope is not None and not scope.everything and rows:
        # Show depths relative to the top of what this person sees.
        top = min(row.depth for row in rows)
        rows = [UnitRow(r.unit, r.depth - top, r.people) for r in rows]
    return rows


def people_in_unit(session: Session, unit_id: int, *, include_left: bool = False) -> list[Person]:
    query = select(Person).where(Person.unit_id == unit_id).order_by(Person.name)
    if not include_left:
        query = query.where(Person.status != PersonStatus.LEFT)
    return list(session.scalars(query))


def safety_scope(session: Session, person: Person) -> Scope:
    """Only the person's safety area (with everything below): what they moderate as safety representative."""
    roots = set(session.scalars(select(SafetyAreaUnit.unit_id).where(SafetyAreaUnit.person_id == person.id)))
    return Scope(False, frozenset(load_tree(session).subtree(roots))) if roots else Scope(False, frozenset())
