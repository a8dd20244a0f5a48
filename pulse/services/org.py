"""Reading the organisation: the unit tree, people's roles and what each person may see."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from pulse.domain.orgtree import OrgTree
from pulse.models import BoxSettings, Management, Person, PersonStatus, SafetyAreaUnit, Unit


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
    if session.scalar(select(exists().where(SafetyAreaUnit.person_id == person.id))) \
            or main_safety_rep_id(session) == person.id:
        roles.add(Role.SAFETY_REP)
    return frozenset(roles)


def main_safety_rep_id(session: Session) -> int | None:
    """The main safety representative (huvudskyddsombud) the administrator named, if any."""
    return session.scalar(select(BoxSettings.main_safety_rep_id).where(BoxSettings.id == 1))


def uncovered_unit_ids(session: Session, tree: OrgTree[int] | None = None) -> set[int]:
    """Units no safety area covers: nobody would read their comments or box items but the main safety
    representative (docs/ANONYMITY.md, "No comment lost")."""
    tree = tree or load_tree(session)
    covered = tree.subtree(set(session.scalars(select(SafetyAreaUnit.unit_id))))
    return set(tree.parents) - covered


def _safety_units(session: Session, person: Person, tree: OrgTree[int]) -> set[int]:
    """The person's safety area with everything below, and the uncovered units if they are the main safety
    representative."""
    roots = set(session.scalars(select(SafetyAreaUnit.unit_id).where(SafetyAreaUnit.person_id == person.id)))
    units = tree.subtree(roots)
    if main_safety_rep_id(session) == person.id:
        units |= uncovered_unit_ids(session, tree)
    return units


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
    tree = load_tree(session)
    roots = set(session.scalars(select(Management.unit_id).where(Management.person_id == person.id)))
    return Scope(False, frozenset(tree.subtree(roots) | _safety_units(session, person, tree)))


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
    """Only the person's safety area (with everything below): what they moderate as safety representative. The
    main safety representative also moderates the units no safety area covers, so no comment is lost."""
    return Scope(False, frozenset(_safety_units(session, person, load_tree(session))))
