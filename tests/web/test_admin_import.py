"""The organisation import pages and the `pulse org` commands."""

from __future__ import annotations

import io
import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pulse.models import AuditEntry, OrgImport, Person, PersonStatus, Unit
from tests.factories import sign_in

UNITS = "unit_id,name,parent_id\nroot,Exempelstad,\ndept,Förvaltningen,root\nteam-a,Team A,dept\nteam-b,Team B,dept\n"
PEOPLE = ("email,name,unit_id,roles,manages,safety_area,language,status\n"
          "admin@example.org,Ada Admin,root,admin,,,sv,active\n"
          "manager@example.org,Maja Chef,dept,manager,team-a,,sv,active\n"
          "safety@example.org,Sam Skyddsombud,team-b,safety_rep,,dept,sv,active\n"
          "new@example.org,Nina Ny,team-b,,,,en,active\n")


def upload(client: FlaskClient, units: str | bytes = UNITS, people: str | bytes = PEOPLE, **kw: str):  # type: ignore[no-untyped-def]
    def as_file(data: str | bytes, name: str) -> tuple[io.BytesIO, str]:
        return io.BytesIO(data.encode() if isinstance(data, str) else data), name

    return client.post("/staff/admin/import", data={"units": as_file(units, "units.csv"),
                                                     "people": as_file(people, "people.csv")},
                       content_type="multipart/form-data", **kw)


def english(session: Session, email: str = "admin@example.org") -> None:
    """Staff pages follow the signed-in person's language setting before the browser's."""
    person = session.scalar(select(Person).where(Person.email == email))
    assert person is not None
    person.language = "en"
    session.commit()


def test_upload_preview_confirm(client: FlaskClient, org, session: Session) -> None:  # type: ignore[no-untyped-def]
    english(session)
    sign_in(client, "admin@example.org")
    response = upload(client)
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    page = client.get(preview_url, headers={"Accept-Language": "en"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Nina Ny" in text and "People added" in text
    # Employee Erik and the 'other' unit are not in the files: shown as leaving / inactive.
    assert "employee@example.org" in text and "Annan förvaltning" in text
    assert session.scalar(select(func.count()).select_from(Person).where(Person.email == "new@example.org")) == 0
    digest = re.search(r'name="digest" type="hidden" value="([0-9a-f]+)"', text)
    assert digest
    response = client.post(preview_url, data={"digest": digest.group(1)})
    assert response.status_code == 302
    session.rollback()  # end the test's read snapshot to see what the request committed
    assert session.scalar(select(Person.language).where(Person.email == "new@example.org")) == "en"
    assert session.scalar(select(Person.status).where(Person.email == "employee@example.org")) == PersonStatus.LEFT
    assert session.scalar(select(Unit.active).where(Unit.key == "other")) is False
    assert session.scalar(select(func.count()).select_from(OrgImport)) == 0
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "org.import"))
    assert entry is not None and '"people_added":1' in entry.details and '"people_left":1' in entry.details


def test_problems_are_listed_with_file_and_line_and_nothing_is_stored(client: FlaskClient, org, session: Session) -> None:  # type: ignore[no-untyped-def]
    english(session)
    sign_in(client, "admin@example.org")
    bad_people = PEOPLE + "broken-address,X,team-a,,,,,\nz@example.org,Z,nowhere,,,,,\n"
    response = upload(client, people=bad_people, headers={"Accept-Language": "en"})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "people.csv, line 6" in text and "is not a valid e-mail address" in text
    assert "people.csv, line 7" in text and "The unit nowhere is not in units.csv" in text
    assert session.scalar(select(func.count()).select_from(OrgImport)) == 0


def test_problem_messages_are_swedish_by_default(client: FlaskClient, org) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "admin@example.org")
    response = upload(client, units="unit_id,name,parent_id\nroot,A,\na,B,b\nb,C,a\n")
    assert response.status_code == 400
    assert "Enheterna bildar en slinga" in response.get_data(as_text=True)


def test_missing_files_are_a_form_error(client: FlaskClient, org, session: Session) -> None:  # type: ignore[no-untyped-def]
    english(session)
    sign_in(client, "admin@example.org")
    response = client.post("/staff/admin/import", data={}, content_type="multipart/form-data",
                           headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "Choose the units file." in response.get_data(as_text=True)


def test_stale_preview_is_shown_again_not_applied(client: FlaskClient, org, session: Session) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "admin@example.org")
    preview_url = upload(client).headers["Location"]
    text = client.get(preview_url).get_data(as_text=True)
    digest = re.search(r'name="digest" type="hidden" value="([0-9a-f]+)"', text)
    assert digest
    # Someone changes the organisation between preview and confirmation.
    admin = session.scalar(select(Person).where(Person.email == "admin@example.org"))
    assert admin is not None
    admin.name = "Ada Changed"
    session.commit()
    response = client.post(preview_url, data={"digest": digest.group(1)})
    assert response.status_code == 409
    session.rollback()  # end the test's read snapshot to see what the request committed
    assert session.scalar(select(func.count()).select_from(Person).where(Person.email == "new@example.org")) == 0


def test_cancel_and_foreign_previews(client: FlaskClient, org, app: Flask, session: Session) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "admin@example.org")
    preview_url = upload(client).headers["Location"]
    assert client.get(preview_url + "x").status_code == 404
    assert client.post(preview_url + "/cancel").status_code == 302
    assert client.get(preview_url).status_code == 404
    assert session.scalar(select(func.count()).select_from(Person).where(Person.email == "new@example.org")) == 0


def test_export_gives_files_that_import_without_changes(client: FlaskClient, org, session: Session) -> None:  # type: ignore[no-untyped-def]
    english(session)
    sign_in(client, "admin@example.org")
    units = client.get("/staff/admin/export/units.csv")
    people = client.get("/staff/admin/export/people.csv")
    assert units.status_code == people.status_code == 200
    assert units.mimetype == "text/csv" and units.data.startswith("\ufeff".encode())
    response = upload(client, units=units.data, people=people.data)
    text = client.get(response.headers["Location"], headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "The files match the organisation exactly" in text


def test_cli_import_dry_run_and_real(runner: FlaskCliRunner, tmp_path: Path, session: Session) -> None:
    (tmp_path / "units.csv").write_text(UNITS, encoding="utf-8")
    (tmp_path / "people.csv").write_text(PEOPLE, encoding="utf-8")
    args = ["org", "import", str(tmp_path / "units.csv"), str(tmp_path / "people.csv")]
    result = runner.invoke(args=[*args, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output and "people added: 4" in result.output
    assert session.scalar(select(func.count()).select_from(Person)) == 0
    session.rollback()
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert session.scalar(select(func.count()).select_from(Person)) == 4
    result = runner.invoke(args=args)
    assert "people added: 0" in result.output


def test_cli_import_reports_problems_and_exits_non_zero(runner: FlaskCliRunner, tmp_path: Path,
                                                        session: Session) -> None:
    (tmp_path / "units.csv").write_text(UNITS + "x,X,ghost\n", encoding="utf-8")
    (tmp_path / "people.csv").write_text(PEOPLE + "bad,Y,team-a,,,,,\n", encoding="utf-8")
    result = runner.invoke(args=["org", "import", str(tmp_path / "units.csv"), str(tmp_path / "people.csv")])
    assert result.exit_code == 1
    assert "units.csv:6: The parent unit ghost of x is not in the file." in result.output
    assert "people.csv:6: bad is not a valid e-mail address." in result.output
    assert session.scalar(select(func.count()).select_from(Person)) == 0


def test_cli_rejects_missing_files(runner: FlaskCliRunner, tmp_path: Path) -> None:
    result = runner.invoke(args=["org", "import", str(tmp_path / "nope.csv"), str(tmp_path / "nope2.csv")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def preview_text(client: FlaskClient, units: str = UNITS, people: str = PEOPLE) -> str:
    response = upload(client, units=units, people=people)
    assert response.status_code == 302
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_the_preview_names_fields_in_words_and_counts_in_correct_plurals(client: FlaskClient, org,  # type: ignore[no-untyped-def]
                                                                         session: Session) -> None:
    english(session)
    sign_in(client, "admin@example.org")
    text = preview_text(client)
    # No raw field names or Python values: "admin: False" became "Administrator: no".
    assert "Administrator: <span class=\"diff-add\">no</span>" in text
    assert "Language: <span class=\"diff-add\">English</span>" in text
    assert "Status: <span class=\"diff-add\">Active</span>" in text
    assert not re.search(r"\b(False|True|None|safety_area|unit_id|parent_id)\b", text.split("<main", 1)[1]
                         .split("File formats", 1)[0])
    assert "1 person added" in text and "1 people added" not in text
    assert "1 person marked as left" in text
    assert "1 unit made inactive" in text


def test_the_preview_is_swedish_with_swedish_plurals(client: FlaskClient, org) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "admin@example.org")
    text = preview_text(client)
    assert "1 person tillagd" in text and "1 enhet blir inaktiv" in text
    assert "Administratör: <span class=\"diff-add\">nej</span>" in text
    assert "enheter tillagda" not in text  # no unit is added: the section is absent, not "0 enheter"


def test_the_preview_warns_of_small_units_and_units_without_manager_or_safety_rep(  # type: ignore[no-untyped-def]
        client: FlaskClient, org, session: Session) -> None:
    english(session)
    sign_in(client, "admin@example.org")
    text = preview_text(client)
    # Team B has two active people (Sam, Nina): fewer than k = 6, and no manager leads it or a unit above it.
    assert "Only 2 people&#39;s answers would count in Team B, fewer than 6" in text
    assert "Team B has no manager" in text
    # The root holds Ada only, and is in nobody's safety area (Sam's area is the department and below).
    assert "Exempelstad is in no safety representative&#39;s safety area." in text
    assert "Förvaltningen is in no safety representative" not in text
    assert "You can still confirm" in text
    # A whole, covered organisation has nothing to warn about.
    people = ("email,name,unit_id,roles,manages,safety_area,language,status\n"
              "admin@example.org,Ada Admin,root,admin;manager;safety_rep,root,root,sv,active\n"
              + "".join(f"p{i}@example.org,P {i},root,,,,sv,active\n" for i in range(6)))
    text = preview_text(client, units="unit_id,name,parent_id\nroot,Exempelstad,\n", people=people)
    assert "to check before you confirm" not in text


def test_the_done_message_uses_plural_forms(client: FlaskClient, org, session: Session) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "admin@example.org")
    preview_url = upload(client).headers["Location"]
    digest = re.search(r'name="digest" type="hidden" value="([0-9a-f]+)"', client.get(preview_url).get_data(as_text=True))
    assert digest
    response = client.post(preview_url, data={"digest": digest.group(1)})
    done = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 person tillagd," in done and "0 enheter tillagda." in done and "1 enheter" not in done
