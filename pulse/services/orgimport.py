"""Importing the organisation: compare the files with what is stored, preview, apply in one transaction.

Re-importing the same files changes nothing. People missing from the file are marked as left (never deleted,
so history keeps its shape); units missing from the file become inactive.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse.domain import orgcsv
from pulse.domain.moves import Gap, gaps
from pulse.domain.orgcsv import OrgFiles, PersonRow, Problem, UnitRow
from pulse.domain.orgtree import OrgTree
from pulse.models import Management, Person, PersonStatus, SafetyAreaUnit, Unit
from pulse.services.people import set_assignments


@dataclass(frozen=True)
class Change:
    """One field that changes: shown in the preview and written to the audit log."""

    field: str
    old: object
    new: object


@dataclass
class UnitDiff:
    key: str
    name: str
    changes: list[Change] = field(default_factory=list)


@dataclass
class PersonDiff:
    email: str
    name: str
    changes: list[Change] = field(default_factory=list)


@dataclass
class ImportPlan:
    """What an import would do. ``problems`` non-empty means it must not be applied."""

    files: OrgFiles
    units_added: list[UnitDiff] = field(default_factory=list)
    units_changed: list[UnitDiff] = field(default_factory=list)
    units_deactivated: list[UnitDiff] = field(default_factory=list)
    people_added: list[PersonDiff] = field(default_factory=list)
    people_changed: list[PersonDiff] = field(default_factory=list)
    people_left: list[PersonDiff] = field(default_factory=list)
    unchanged_people: int = 0
    problems: list[Problem] = field(default_factory=list)
    #: What the organisation would leave exposed after the import (units by their key; see
    #: pulse/domain/moves.py): warnings to read before confirming, not reasons to refuse.
    gaps: list[Gap] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def has_changes(self) -> bool:
        return any((self.units_added, self.units_changed, self.units_deactivated, self.people_added,
                    self.people_changed, self.people_left))

    def counts(self) -> dict[str, int]:
        return {
            "units_added": len(self.units_added), "units_changed": len(self.units_changed),
            "units_deactivated": len(self.units_deactivated), "people_added": len(self.people_added),
            "people_changed": len(self.people_changed), "people_left": len(self.people_left),
        }

    def digest(self) -> str:
        """A fingerprint of the planned changes, so a confirmation applies exactly what was previewed."""
        payload = [
            [(d.key, [(c.field, c.old, c.new) for c in d.changes]) for d in self.units_added],
            [(d.key, [(c.field, c.old, c.new) for c in d.changes]) for d in self.units_changed],
            [d.key for d in self.units_deactivated],
            [(d.email, [(c.field, c.old, c.new) for c in d.changes]) for d in self.people_added],
            [(d.email, [(c.field, c.old, c.new) for c in d.changes]) for d in self.people_changed],
            [d.email for d in self.people_left],
        ]
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def plan_import(session: Session, units_data: bytes, people_data: bytes, *, units_name: str = "units.csv",
                people_name: str = "people.csv", acting: Person | None = None, k: int | None = None) -> ImportPlan:
    """Parse both files and work out every change against the stored organisation; with ``k``, also the gaps
    the imported organisation would have (units below k, without a manager or a safety representative)."""
    files = orgcsv.parse(units_data, people_data, units_name=units_name, people_name=people_name)
    plan = ImportPlan(files, problems=list(files.problems))
    if not files.ok:
        return plan
    units = {u.key: u for u in session.scalars(select(Unit))}
    units_by_id = {u.id: u for u in units.values()}
    _plan_units(plan, files.units, units, units_by_id)
    _plan_people(session, plan, files.people, units_by_id)
    _check_admins(plan, files.people, acting, people_name)
    if k is not None:
        plan.gaps = file_gaps(files, k)
    return plan


def file_gaps(files: OrgFiles, k: int) -> list[Gap]:
    """The gaps of the organisation the files describe: active people per unit, and the roles of everyone who
    has not left."""
    parents = {row.key: row.parent_key for row in files.units}
    headcount: dict[str, int] = {}
    for person in files.people:
        if person.status == "active":
            headcount[person.unit_key] = headcount.get(person.unit_key, 0) + 1
    staying = [p for p in files.people if p.status != "left"]
    manages = {p.email: list(p.manages) for p in staying}
    safety = {p.email: list(p.safety_area) for p in staying}
    # Where answers start: a manager's above the highest unit they lead (as the rounds count them).
    tree = OrgTree(parents)
    counted: dict[str, int] = {}
    for person in files.people:
        if person.status != "active":
            continue
        led = [u for u in person.manages if u in parents]
        start = parents.get(min(led, key=lambda u: (tree.depth(u), u))) if led else person.unit_key
        if start is not None:
            counted[start] = counted.get(start, 0) + 1
    order = {row.key: i for i, row in enumerate(files.units)}
    return sorted(gaps(parents, headcount, manages, safety, k, counted),
                  key=lambda g: (order.get(str(g.unit), 0), g.code))


def _plan_units(plan: ImportPlan, rows: list[UnitRow], stored: dict[str, Unit], by_id: dict[int, Unit]) -> None:
    in_file = set()
    for row in rows:
        in_file.add(row.key)
        unit = stored.get(row.key)
        if unit is None:
            plan.units_added.append(UnitDiff(row.key, row.name, [Change("name", None, row.name),
                                                                 Change("parent_id", None, row.parent_key)]))
            continue
        diff = UnitDiff(row.key, row.name)
        if unit.name != row.name:
            diff.changes.append(Change("name", unit.name, row.name))
        old_parent = by_id[unit.parent_id].key if unit.parent_id is not None else None
        if old_parent != row.parent_key:
            diff.changes.append(Change("parent_id", old_parent, row.parent_key))
        if not unit.active:
            diff.changes.append(Change("active", False, True))
        if diff.changes:
            plan.units_changed.append(diff)
    for key, unit in sorted(stored.items()):
        if key not in in_file and unit.active:
            plan.units_deactivated.append(UnitDiff(key, unit.name, [Change("active", True, False)]))


def _person_state(person: Person, managed: list[str], safety: list[str], units_by_id: dict[int, Unit]
                  ) -> dict[str, object]:
    return {
        "name": person.name,
        "unit_id": units_by_id[person.unit_id].key if person.unit_id is not None else None,
        "language": person.language,
        "status": person.status.value,
        "admin": person.is_admin,
        "manages": sorted(managed),
        "safety_area": sorted(safety),
    }


def _row_state(row: PersonRow) -> dict[str, object]:
    return {"name": row.name, "unit_id": row.unit_key, "language": row.language, "status": row.status,
            "admin": row.is_admin, "manages": sorted(row.manages), "safety_area": sorted(row.safety_area)}


def _plan_people(session: Session, plan: ImportPlan, rows: list[PersonRow], units_by_id: dict[int, Unit]) -> None:
    people = {p.email: p for p in session.scalars(select(Person))}
    managed: dict[int, list[str]] = {}
    for person_id, unit_id in session.execute(select(Management.person_id, Management.unit_id)):
        managed.setdefault(person_id, []).append(units_by_id[unit_id].key)
    safety: dict[int, list[str]] = {}
    for person_id, unit_id in session.execute(select(SafetyAreaUnit.person_id, SafetyAreaUnit.unit_id)):
        safety.setdefault(person_id, []).append(units_by_id[unit_id].key)
    in_file = set()
    for row in rows:
        in_file.add(row.email)
        new = _row_state(row)
        person = people.get(row.email)
        if person is None:
            plan.people_added.append(PersonDiff(row.email, row.name, [Change(k, None, v) for k, v in new.items()]))
            continue
        old = _person_state(person, managed.get(person.id, []), safety.get(person.id, []), units_by_id)
        changes = [Change(k, old[k], new[k]) for k in new if old[k] != new[k]]
        if changes:
            plan.people_changed.append(PersonDiff(row.email, row.name, changes))
        else:
            plan.unchanged_people += 1
    for email, person in sorted(people.items()):
        if email not in in_file and person.status != PersonStatus.LEFT:
            plan.people_left.append(PersonDiff(email, person.name, [Change("status", person.status.value, "left")]))


def _check_admins(plan: ImportPlan, rows: list[PersonRow], acting: Person | None, people_name: str) -> None:
    # An import must never lock every administrator out, nor the administrator doing it.
    if not any(row.is_admin and row.status != "left" for row in rows):
        plan.problems.append(Problem(people_name, None, "no_admin_left"))
    elif acting is not None:
        mine = next((row for row in rows if row.email == acting.email), None)
        if mine is None or not mine.is_admin or mine.status == "left":
            plan.problems.append(Problem(people_name, mine.line if mine else None, "removes_own_admin",
                                         {"email": acting.email}))


@dataclass(frozen=True)
class ImportResult:
    counts: dict[str, int]
    units_sha256: str
    people_sha256: str


def apply_import(session: Session, plan: ImportPlan, units_data: bytes, people_data: bytes) -> ImportResult:
    """Apply a plan without problems (flushes; the caller commits once, so it is all or nothing).

    :raises ValueError: when the plan has problems.
    """
    if not plan.ok:
        raise ValueError("an import with problems cannot be applied")
    files = plan.files
    units = {u.key: u for u in session.scalars(select(Unit))}
    file_keys = {row.key for row in files.units}
    # Pass 1: every unit exists; pass 2: parents (a parent may come later in the file).
    for row in files.units:
        unit = units.get(row.key)
        if unit is None:
            unit = Unit(key=row.key, name=row.name, active=True)
            session.add(unit)
            units[row.key] = unit
        else:
            unit.name, unit.active = row.name, True
    session.flush()
    for row in files.units:
        parent_id = units[row.parent_key].id if row.parent_key else None
        if units[row.key].parent_id != parent_id:
            units[row.key].parent_id = parent_id
    for key, unit in units.items():
        if key not in file_keys and unit.active:
            unit.active = False
    session.flush()

    people = {p.email: p for p in session.scalars(select(Person))}
    in_file = set()
    for prow in files.people:
        in_file.add(prow.email)
        person = people.get(prow.email)
        if person is None:
            person = Person(email=prow.email, session_version=1)
            session.add(person)
        status = PersonStatus(prow.status)
        if person.status != PersonStatus.LEFT and status == PersonStatus.LEFT:
            person.session_version = (person.session_version or 1) + 1
        person.name, person.unit_id = prow.name, units[prow.unit_key].id
        person.language, person.status, person.is_admin = prow.language, status, prow.is_admin
        session.flush()
        set_assignments(session, person.id, managed=[units[k].id for k in prow.manages],
                        safety=[units[k].id for k in prow.safety_area])
    for email, person in people.items():
        if email not in in_file and person.status != PersonStatus.LEFT:
            # Left people keep their history but no roles and no sessions.
            person.status = PersonStatus.LEFT
            person.is_admin = False
            person.session_version += 1
            set_assignments(session, person.id, managed=[], safety=[])
    session.flush()
    return ImportResult(plan.counts(), hashlib.sha256(units_data).hexdigest(),
                        hashlib.sha256(people_data).hexdigest())


def export_files(session: Session) -> tuple[str, str]:
    """The stored organisation as ``units.csv`` and ``people.csv`` text, ready to edit and import again."""
    units = list(session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.id)))
    by_id = {u.id: u for u in session.scalars(select(Unit))}
    units_text = orgcsv.write_units((u.key, u.name, by_id[u.parent_id].key if u.parent_id else None) for u in units)
    managed: dict[int, list[str]] = {}
    for person_id, unit_id in session.execute(select(Management.person_id, Management.unit_id)):
        managed.setdefault(person_id, []).append(by_id[unit_id].key)
    safety: dict[int, list[str]] = {}
    for person_id, unit_id in session.execute(select(SafetyAreaUnit.person_id, SafetyAreaUnit.unit_id)):
        safety.setdefault(person_id, []).append(by_id[unit_id].key)
    rows = []
    for p in session.scalars(select(Person).where(Person.status != PersonStatus.LEFT,
                                                  Person.unit_id.is_not(None)).order_by(Person.email)):
        roles = {"employee"} | ({"admin"} if p.is_admin else set())
        roles |= {"manager"} if managed.get(p.id) else set()
        roles |= {"safety_rep"} if safety.get(p.id) else set()
        assert p.unit_id is not None
        rows.append(PersonRow(p.email, p.name, by_id[p.unit_id].key, frozenset(roles),
                              tuple(sorted(managed.get(p.id, []))), tuple(sorted(safety.get(p.id, []))),
                              p.language, p.status.value, 0))
    return units_text, orgcsv.write_people(rows)
