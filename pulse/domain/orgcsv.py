"""Reading and checking the organisation files (``units.csv`` and ``people.csv``).

Pure: takes bytes, returns rows and problems. Nothing here touches the database; the import service
compares the rows with what is stored and applies the differences.

Formats (UTF-8 with or without BOM; comma or semicolon separated; lists inside a field separated by ``;``,
or in semicolon files also by ``,`` or ``|``, which need no quotes there)::

    units.csv   unit_id,name,parent_id
    people.csv  email,name,unit_id,roles,manages,safety_area,language,status
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

from pulse.domain.orgtree import find_cycle

UNIT_COLUMNS = ("unit_id", "name", "parent_id")
UNIT_REQUIRED = ("unit_id", "name")
PEOPLE_COLUMNS = ("email", "name", "unit_id", "roles", "manages", "safety_area", "language", "status")
PEOPLE_REQUIRED = ("email", "name", "unit_id")

ROLE_ALIASES = {
    "employee": "employee", "medarbetare": "employee", "anställd": "employee",
    "manager": "manager", "chef": "manager",
    "safety_rep": "safety_rep", "safety_representative": "safety_rep", "skyddsombud": "safety_rep",
    "admin": "admin", "administrator": "admin", "administratör": "admin",
}
STATUS_ALIASES = {
    "": "active", "active": "active", "aktiv": "active",
    "on_leave": "on_leave", "leave": "on_leave", "tjänstledig": "on_leave", "ledig": "on_leave",
    "left": "left", "slutat": "left", "avslutad": "left",
}
LANGUAGES = ("sv", "en")
MAX_KEY = 64
MAX_NAME = 200


@dataclass(frozen=True)
class Problem:
    """One reason the files cannot be imported. ``code`` is stable; ``params`` fill its message."""

    file: str
    line: int | None
    code: str
    params: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:  # English, for logs and the command line
        where = f"{self.file}:{self.line}" if self.line else self.file
        details = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{where}: {self.code}" + (f" ({details})" if details else "")


@dataclass(frozen=True)
class UnitRow:
    key: str
    name: str
    parent_key: str | None
    line: int


@dataclass(frozen=True)
class PersonRow:
    email: str
    name: str
    unit_key: str
    roles: frozenset[str]
    manages: tuple[str, ...]
    safety_area: tuple[str, ...]
    language: str
    status: str
    line: int

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


@dataclass
class OrgFiles:
    """Both files, parsed and checked together."""

    units: list[UnitRow]
    people: list[PersonRow]
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


def parse(units_data: bytes, people_data: bytes, *, units_name: str = "units.csv",
          people_name: str = "people.csv") -> OrgFiles:
    """Parse and check both files; every problem found is reported, with file and line."""
    problems: list[Problem] = []
    parsed_units = _parse_units(units_data, units_name, problems)
    people = _parse_people(people_data, people_name, problems)
    units, mentioned = parsed_units if parsed_units is not None else ([], set())
    if parsed_units is not None and people is not None:
        _check_together(mentioned, people, units_name, people_name, problems)
    return OrgFiles(units, people or [], problems)


# --- reading CSV -------------------------------------------------------------------------------------------


@dataclass
class _Table:
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]
    delimiter: str
    #: Lines already reported as malformed; their values are kept only to avoid follow-up problems.
    bad_lines: set[int] = field(default_factory=set)


def _read_table(data: bytes, name: str, columns: tuple[str, ...], required: tuple[str, ...],
                problems: list[Problem]) -> _Table | None:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(Problem(name, None, "not_utf8", {"position": str(exc.start)}))
        return None
    if "\x00" in text:
        problems.append(Problem(name, None, "not_text"))
        return None
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    if not first:
        problems.append(Problem(name, None, "empty_file"))
        return None
    # Swedish Excel writes semicolons; decide from the header line, which has no quoted commas.
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    bad_lines: set[int] = set()
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in record]
                missing = [c for c in required if c not in header]
                if missing:
                    problems.append(Problem(name, line, "missing_columns",
                                            {"columns": ", ".join(missing), "expected": ",".join(columns)}))
                    return None
                duplicates = sorted({c for c in header if c and header.count(c) > 1})
                if duplicates:
                    problems.append(Problem(name, line, "duplicate_columns", {"columns": ", ".join(duplicates)}))
                    return None
                continue
            if len(record) > len(header) and any(cell.strip() for cell in record[len(header):]):
                problems.append(Problem(name, line, "too_many_fields",
                                        {"found": str(len(record)), "expected": str(len(header))}))
                bad_lines.add(line)
            values = {col: _unquote(record[i].strip() if i < len(record) else "") for i, col in enumerate(header)}
            rows.append((line, values))
    except csv.Error as exc:
        problems.append(Problem(name, reader.line_num, "bad_csv", {"detail": str(exc)}))
        return None
    if header is None:
        problems.append(Problem(name, None, "empty_file"))
        return None
    return _Table(header, rows, delimiter, bad_lines)


def _unquote(value: str) -> str:
    """Read off the quote that an export puts before a value starting like a formula."""
    return value[1:] if value.startswith("'") and value[1:2] in ("=", "+", "-", "@") else value


def _split_list(value: str, delimiter: str) -> list[str]:
    """Split a list field on ``;``. Semicolon files may also use ``,`` or ``|``, which need no quoting there."""
    separators = [";"] if delimiter == "," else [";", ",", "|"]
    items = [value]
    for sep in separators:
        items = [part for item in items for part in item.split(sep)]
    return [item.strip() for item in items if item.strip()]


# --- units -------------------------------------------------------------------------------------------------


def _parse_units(data: bytes, name: str, problems: list[Problem]) -> tuple[list[UnitRow], set[str]] | None:
    """The valid unit rows, and every unit id the file mentions (so a bad row does not also make every
    person in that unit a problem)."""
    table = _read_table(data, name, UNIT_COLUMNS, UNIT_REQUIRED, problems)
    if table is None:
        return None
    units: list[UnitRow] = []
    seen: dict[str, int] = {}
    mentioned = {values["unit_id"] for _, values in table.rows if values.get("unit_id")}
    for line, values in table.rows:
        if line in table.bad_lines:
            continue
        key, title, parent = values.get("unit_id", ""), values.get("name", ""), values.get("parent_id", "")
        ok = True
        if not key:
            problems.append(Problem(name, line, "missing_value", {"column": "unit_id"}))
            ok = False
        elif len(key) > MAX_KEY:
            problems.append(Problem(name, line, "too_long", {"column": "unit_id", "max": str(MAX_KEY)}))
            ok = False
        elif key in seen:
            problems.append(Problem(name, line, "duplicate_unit", {"unit_id": key, "first_line": str(seen[key])}))
            ok = False
        if not title:
            problems.append(Problem(name, line, "missing_value", {"column": "name"}))
            ok = False
        elif len(title) > MAX_NAME:
            problems.append(Problem(name, line, "too_long", {"column": "name", "max": str(MAX_NAME)}))
            ok = False
        if ok:
            seen[key] = line
            units.append(UnitRow(key, title, parent or None, line))
    keys = {unit.key for unit in units}
    for unit in units:
        if unit.parent_key is not None and unit.parent_key not in keys:
            problems.append(Problem(name, unit.line, "unknown_parent",
                                    {"unit_id": unit.key, "parent_id": unit.parent_key}))
    cycle = find_cycle({u.key: u.parent_key for u in units if u.parent_key is None or u.parent_key in keys})
    if cycle:
        lines = {u.key: u.line for u in units}
        problems.append(Problem(name, lines[cycle[0]], "cycle", {"units": " → ".join(cycle)}))
    return units, mentioned


# --- people ------------------------------------------------------------------------------------------------


def _parse_people(data: bytes, name: str, problems: list[Problem]) -> list[PersonRow] | None:
    table = _read_table(data, name, PEOPLE_COLUMNS, PEOPLE_REQUIRED, problems)
    if table is None:
        return None
    people: list[PersonRow] = []
    seen: dict[str, int] = {}
    for line, values in table.rows:
        if line in table.bad_lines:
            continue
        before = len(problems)
        raw_email = values.get("email", "")
        email = ""
        if not raw_email:
            problems.append(Problem(name, line, "missing_value", {"column": "email"}))
        else:
            try:
                email = validate_email(raw_email, check_deliverability=False).normalized.lower()
            except EmailNotValidError:
                problems.append(Problem(name, line, "bad_email", {"email": raw_email}))
        if email and email in seen:
            problems.append(Problem(name, line, "duplicate_email", {"email": email, "first_line": str(seen[email])}))
        person_name = values.get("name", "")
        if not person_name:
            problems.append(Problem(name, line, "missing_value", {"column": "name"}))
        elif len(person_name) > MAX_NAME:
            problems.append(Problem(name, line, "too_long", {"column": "name", "max": str(MAX_NAME)}))
        unit_key = values.get("unit_id", "")
        if not unit_key:
            problems.append(Problem(name, line, "missing_value", {"column": "unit_id"}))
        roles = {"employee"}
        for raw_role in _split_list(values.get("roles", ""), table.delimiter):
            role = ROLE_ALIASES.get(raw_role.lower())
            if role is None:
                problems.append(Problem(name, line, "bad_role", {"role": raw_role,
                                                                 "allowed": "employee, manager, safety_rep, admin"}))
            else:
                roles.add(role)
        manages = tuple(dict.fromkeys(_split_list(values.get("manages", ""), table.delimiter)))
        safety = tuple(dict.fromkeys(_split_list(values.get("safety_area", ""), table.delimiter)))
        if "manager" in roles and not manages:
            problems.append(Problem(name, line, "manager_without_units"))
        if manages and "manager" not in roles:
            problems.append(Problem(name, line, "manages_without_role"))
        if "safety_rep" in roles and not safety:
            problems.append(Problem(name, line, "safety_rep_without_area"))
        if safety and "safety_rep" not in roles:
            problems.append(Problem(name, line, "safety_area_without_role"))
        language = values.get("language", "").lower() or "sv"
        if language not in LANGUAGES:
            problems.append(Problem(name, line, "bad_language", {"language": language,
                                                                 "allowed": ", ".join(LANGUAGES)}))
        raw_status = values.get("status", "")
        status = STATUS_ALIASES.get(raw_status.lower())
        if status is None:
            problems.append(Problem(name, line, "bad_status", {"status": raw_status,
                                                               "allowed": "active, on_leave, left"}))
        if email and email not in seen:
            seen[email] = line
        if len(problems) == before:
            people.append(PersonRow(email, person_name, unit_key, frozenset(roles), manages, safety, language,
                                    status or "active", line))
    return people


def _check_together(keys: set[str], people: list[PersonRow], units_name: str, people_name: str,
                    problems: list[Problem]) -> None:
    for person in people:
        if person.unit_key not in keys:
            problems.append(Problem(people_name, person.line, "unknown_unit",
                                    {"unit_id": person.unit_key, "file": units_name}))
        for column, listed in (("manages", person.manages), ("safety_area", person.safety_area)):
            unknown = [key for key in listed if key not in keys]
            if unknown:
                problems.append(Problem(people_name, person.line, "unknown_units_in_list",
                                        {"column": column, "units": ", ".join(unknown), "file": units_name}))


# --- writing -----------------------------------------------------------------------------------------------


def write_units(rows: Iterable[tuple[str, str, str | None]]) -> str:
    """``units.csv`` text (comma separated, UTF-8) from ``(unit_id, name, parent_id)`` rows."""
    return _write(UNIT_COLUMNS, ([key, name, parent or ""] for key, name, parent in rows))


def write_people(rows: Iterable[PersonRow]) -> str:
    """``people.csv`` text (comma separated, ``;`` inside list fields)."""
    order = ("employee", "manager", "safety_rep", "admin")
    return _write(PEOPLE_COLUMNS, (
        [p.email, p.name, p.unit_key, ";".join(r for r in order if r in p.roles and r != "employee"),
         ";".join(p.manages), ";".join(p.safety_area), p.language, p.status]
        for p in rows
    ))


#: A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """Quote a value a spreadsheet would run as a formula (the import reads the quote off again)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _write(header: tuple[str, ...], rows: Iterator[list[str]] | Iterable[list[str]]) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return out.getvalue()
