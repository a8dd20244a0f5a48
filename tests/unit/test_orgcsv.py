"""Parsing and checking the organisation files, without a database."""

from __future__ import annotations

import pytest

from pulse.domain import orgcsv

UNITS = "unit_id,name,parent_id\nroot,Exempelstad,\nadm,Förvaltningen,root\nteam,Team,adm\n"
PEOPLE = (
    "email,name,unit_id,roles,manages,safety_area,language,status\n"
    "boss@example.org,Bo Chef,adm,manager;admin,team,,sv,active\n"
    "sara@example.org,Sara Skydd,team,safety_rep,,adm,en,on_leave\n"
    "eva@example.org,Eva,team,,,,,\n"
)


def parse(units: str = UNITS, people: str = PEOPLE, encoding: str = "utf-8") -> orgcsv.OrgFiles:
    return orgcsv.parse(units.encode(encoding), people.encode(encoding))


def codes(files: orgcsv.OrgFiles) -> list[tuple[str, int | None, str]]:
    return [(p.file, p.line, p.code) for p in files.problems]


def test_valid_files_parse() -> None:
    files = parse()
    assert files.ok, files.problems
    assert [u.key for u in files.units] == ["root", "adm", "team"]
    boss, sara, eva = files.people
    assert boss.roles == {"employee", "manager", "admin"} and boss.manages == ("team",) and boss.is_admin
    assert sara.roles == {"employee", "safety_rep"} and sara.safety_area == ("adm",)
    assert (sara.language, sara.status) == ("en", "on_leave")
    assert (eva.language, eva.status, eva.roles) == ("sv", "active", {"employee"})


def test_bom_semicolons_and_swedish_aliases() -> None:
    units = "\ufeffunit_id;name;parent_id\r\nroot;Exempelstad;\r\nadm;Förvaltningen;root\r\nteam;Team;adm\r\n"
    people = ("\ufeffemail;name;unit_id;roles;manages;safety_area;language;status\r\n"
              "boss@example.org;Bo Chef;adm;Chef,Administratör;team|adm;;sv;aktiv\r\n"
              "sara@example.org;Sara;team;\"skyddsombud;medarbetare\";;adm;SV;tjänstledig\r\n")
    files = parse(units, people)
    assert files.ok, files.problems
    boss, sara = files.people
    assert boss.roles == {"employee", "manager", "admin"} and boss.manages == ("team", "adm")
    assert sara.roles == {"employee", "safety_rep"} and sara.status == "on_leave"


def test_email_is_normalised_to_lower_case() -> None:
    people = PEOPLE.replace("eva@example.org", "Eva.Ek@Example.ORG")
    assert parse(people=people).people[2].email == "eva.ek@example.org"


@pytest.mark.parametrize(("units", "expected"), [
    ("unit_id,name,parent_id\nroot,A,\nx,B,nowhere\n", [("units.csv", 3, "unknown_parent")]),
    ("unit_id,name,parent_id\nroot,A,\nroot,B,\n", [("units.csv", 3, "duplicate_unit")]),
    ("unit_id,name,parent_id\nroot,A,\na,B,b\nb,C,a\n", [("units.csv", 3, "cycle")]),
    ("unit_id,name,parent_id\nroot,A,root\n", [("units.csv", 2, "cycle")]),
    ("unit_id,name,parent_id\nroot,,\n", [("units.csv", 2, "missing_value")]),
    ("unit_id,title\nroot,A\n", [("units.csv", 1, "missing_columns")]),
    ("", [("units.csv", None, "empty_file")]),
    ("unit_id,name,parent_id\nroot,A,,extra\n", [("units.csv", 2, "too_many_fields")]),
    ("unit_id,name,parent_id\nroot,\"A,\n", [("units.csv", 2, "bad_csv")]),
])
def test_unit_file_problems_name_file_and_line(units: str, expected: list[tuple[str, int | None, str]]) -> None:
    people = "email,name,unit_id,roles\nboss@example.org,Bo,root,admin\n"
    files = parse(units, people)
    assert codes(files) == expected


def test_cycle_message_names_the_units() -> None:
    files = parse("unit_id,name,parent_id\nroot,A,\na,B,b\nb,C,a\n", "email,name,unit_id\nx@example.org,X,root\n")
    assert files.problems[0].params["units"] in ("a → b → a", "b → a → b")


@pytest.mark.parametrize(("row", "code"), [
    ("not-an-address,X,team,,,,,", "bad_email"),
    ("eva@example.org,Eva Again,team,,,,,", "duplicate_email"),
    ("x@example.org,X,nowhere,,,,,", "unknown_unit"),
    ("x@example.org,X,team,wizard,,,,", "bad_role"),
    ("x@example.org,X,team,manager,,,,", "manager_without_units"),
    ("x@example.org,X,team,,team,,,", "manages_without_role"),
    ("x@example.org,X,team,safety_rep,,,,", "safety_rep_without_area"),
    ("x@example.org,X,team,,,team,,", "safety_area_without_role"),
    ("x@example.org,X,team,manager,ghost,,,", "unknown_units_in_list"),
    ("x@example.org,X,team,,,,fi,", "bad_language"),
    ("x@example.org,X,team,,,,,retired", "bad_status"),
    ("x@example.org,,team,,,,,", "missing_value"),
    (",X,team,,,,,", "missing_value"),
])
def test_people_file_problems_name_file_and_line(row: str, code: str) -> None:
    files = parse(people=PEOPLE + row + "\n")
    assert codes(files) == [("people.csv", 5, code)]


def test_every_problem_is_reported_not_just_the_first() -> None:
    people = PEOPLE + "bad,X,team,,,,,\ny@example.org,Y,nowhere,,,,,\n"
    units = UNITS + "loose,Loose,ghost\n"
    assert {p.code for p in parse(units, people).problems} == {"bad_email", "unknown_unit", "unknown_parent"}


def test_non_utf8_file_is_refused() -> None:
    files = orgcsv.parse(UNITS.encode("latin-1"), PEOPLE.encode("utf-8"))
    assert codes(files) == [("units.csv", None, "not_utf8")]


def test_binary_file_is_refused() -> None:
    files = orgcsv.parse(b"unit_id,name\x00\x01", PEOPLE.encode())
    assert codes(files)[0][2] == "not_text"


def test_blank_lines_are_skipped_and_lines_still_count() -> None:
    files = parse(people="email,name,unit_id\n\nx@example.org,X,team\n\nbad,Y,team\n")
    assert codes(files) == [("people.csv", 5, "bad_email")]


def test_written_files_parse_back_to_the_same_rows() -> None:
    files = parse()
    units_text = orgcsv.write_units((u.key, u.name, u.parent_key) for u in files.units)
    people_text = orgcsv.write_people(files.people)
    again = orgcsv.parse(units_text.encode(), people_text.encode())
    assert again.ok
    assert [(u.key, u.name, u.parent_key) for u in again.units] == [(u.key, u.name, u.parent_key) for u in files.units]
    strip = [(p.email, p.name, p.unit_key, p.roles, p.manages, p.safety_area, p.language, p.status)
             for p in files.people]
    assert strip == [(p.email, p.name, p.unit_key, p.roles, p.manages, p.safety_area, p.language, p.status)
                     for p in again.people]


def test_formulas_are_neutralised_on_export_and_read_back() -> None:
    files = parse(UNITS.replace("Förvaltningen", "=HYPERLINK(\"x\")"), PEOPLE.replace("Bo Chef", "+Bo Chef"))
    assert files.ok
    units_text = orgcsv.write_units((u.key, u.name, u.parent_key) for u in files.units)
    people_text = orgcsv.write_people(files.people)
    assert "'=HYPERLINK" in units_text and "'+Bo Chef" in people_text
    again = orgcsv.parse(units_text.encode(), people_text.encode())
    assert again.units[1].name == '=HYPERLINK("x")' and again.people[0].name == "+Bo Chef"
