"""The safety representative's report: the page, PDF, XLSX and CSV say the same thing (all four parsed and compared),
every figure is the one the results pages show (from the gate), each exported file's hash is in the audit log and
`pulse audit verify-export` recognises the file — and only that file."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import io
import json
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse.common.context import box_keys
from pulse.models import AuditEntry
from pulse.services import box, sam
from pulse.services.org import Scope
from tests.factories import Org, make_person, sign_in
from tests.figures import Answers, release_rounds
from tests.web.test_authz_matrix import make_desk, make_rounds, make_sam_records

PERIOD = "start=2020-01-01&end=2030-12-31"


@pytest.fixture
def released(app: Flask, session: Session, org: Org) -> dict[str, int]:
    ids = make_rounds(app, session, org)
    with app.app_context():  # two complaints about the department (11 people), no text in the report
        for category in ("workload", "premises"):
            box.write(session, box_keys(), unit_id=org.dept.id, category=category, text="Hemligt innehåll.",
                      k=6, today=dt.date.today())
    make_desk(session, org)
    make_sam_records(session, org, ids["release"])
    # An action of Team B that should have been done a week ago: overdue in the report.
    sam.create_action(session, org.team_b.id, sam.ActionInput(
        "Byt ut stolarna i fikarummet", "", "Enhetschef", None, dt.date.today() - dt.timedelta(days=60),
        dt.date.today() - dt.timedelta(days=7)), scope=Scope(True, frozenset()), by=org.manager)
    session.commit()
    return ids


def page_sections(text: str) -> dict[str, list[list[str]]]:
    sections = {}
    for key, body in re.findall(r'data-section="(\w+)">(.*?)</section>', text, re.S):
        rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>")[1], re.S) if "<tbody>" in body else []
        sections[key] = [[html.unescape(c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
                         for row in rows]
    return sections


def csv_sections(data: bytes, titles: dict[str, str]) -> dict[str, list[list[str]]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    by_title = {title: key for key, title in titles.items()}
    sections: dict[str, list[list[str]]] = {}
    current = None
    header_seen = False
    for row in rows:
        if len(row) == 1 and row[0] in by_title:
            current, header_seen = by_title[row[0]], False
            sections[current] = []
        elif current is None or not row:
            current = None if not row else current
        elif not header_seen:
            header_seen = len(row) > 1  # the note is one cell; the header has the columns
        else:
            sections[current].append(row)
    return sections


def xlsx_sections(data: bytes, titles: dict[str, str]) -> dict[str, list[list[str]]]:
    book = load_workbook(io.BytesIO(data))
    by_title = {title: key for key, title in titles.items()}
    sections = {}
    for sheet in book.worksheets[1:]:
        rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        key = by_title[rows[0][0]]
        start = next(i for i, row in enumerate(rows) if i > 0 and sum(1 for v in row if v) > 1 or
                     (i > 0 and len(row) > 1 and row[1]))
        sections[key] = [r for r in rows[start + 1:]]
    return sections


#: The round-by-round rows' columns: unit, survey, question, version, round, closed, figure, result, answered,
#: shown as.
UNIT, SURVEY, QUESTION, ROUND, FIGURE, RESULT, ANSWERED, SHOWN_AS = 0, 1, 2, 4, 6, 7, 8, 9


def round_text(row: list[str]) -> str:
    """What the page writes for one round of an item: the published number as the page writes it, or what is
    shown instead (a bound, or "för få svar")."""
    if not row[RESULT]:
        return row[SHOWN_AS]
    return f"{row[RESULT]} % ja" if row[FIGURE] == "procent ja" else row[RESULT]


def compact(rows: list[list[str]]) -> list[list[str]]:
    """The page's lines from the files' rows, worked out independently: per unit, survey and question, the rounds
    with a figure (not "för få svar") of all, and the last six rounds written out."""
    grouped: dict[tuple[str, str, str], list[list[str]]] = {}
    for row in rows:
        grouped.setdefault((row[UNIT], row[SURVEY], row[QUESTION]), []).append(row)
    lines = []
    for (unit, survey, question), items in grouped.items():
        shown = sum(1 for row in items if round_text(row) != "för få svar")
        last = " · ".join(f"{row[ROUND]}: {round_text(row)}" for row in items[-6:])
        lines.append([unit, survey, question, f"{shown} / {len(items)}", last])
    return lines


def xlsx_as_text(data: bytes, title: str) -> list[list[str]]:
    """The round-by-round sheet's rows, checked to hold numbers as numbers (a mean with one decimal shown, a
    share and a count as whole numbers), then written as the CSV writes them."""
    book = load_workbook(io.BytesIO(data))
    sheet = next(s for s in book.worksheets if s.cell(1, 1).value == title)
    rows = list(sheet.iter_rows(min_row=4))
    text = []
    for row in rows:
        result, answered = row[RESULT], row[ANSWERED]
        if result.value is not None:
            if row[FIGURE].value == "procent ja":
                assert isinstance(result.value, int)
            else:  # a number with one decimal shown (a whole mean such as 3.0 reads back as the number 3)
                assert isinstance(result.value, int | float) and result.number_format == "0.0"
                assert result.value == round(result.value, 1)
            assert isinstance(answered.value, int) and not row[SHOWN_AS].value
        else:
            assert answered.value is None and row[SHOWN_AS].value
        assert isinstance(row[ROUND].value, int)
        text.append(["" if c.value is None else f"{c.value:.1f}".replace(".", ",") if c.number_format == "0.0"
                     else str(c.value) for c in row])
    return text


def test_page_pdf_xlsx_and_csv_agree(client: FlaskClient, org: Org, session: Session, released) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, org.safety.email)
    response = client.get(f"/staff/safety/report?{PERIOD}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    page = page_sections(text)
    titles = dict(re.findall(r'<h2 id="section-(\w+)">(.*?)</h2>', text))
    titles = {k: html.unescape(v) for k, v in titles.items()}
    assert page["results"], "the released round is in the report"
    assert any(row[0] == "Förvaltningen" for row in page["participation"])
    assert len(page["requests"]) == 1 and page["requests"][0][4] == "Skrivbord"
    # The action plan and risk register of the area, the overdue action marked on the page and in the text.
    assert [row[3] for row in page["risks"]] == ["Stress före helgerna"]
    overdue = [row for row in page["actions"] if row[1] == "Byt ut stolarna i fikarummet"]
    assert overdue and overdue[0][5] == "ja, försenad"
    assert text.count('class="row-warning"') == 1
    assert any(row[1] == "Ses över bemanningen" and row[5] == "nej" for row in page["actions"])
    # Complaint counts per unit and category, never their text.
    assert [(row[0], row[1], row[4], row[7]) for row in page["complaints"]] == [("Förvaltningen", "1", "1", "2")]
    assert "Hemligt innehåll" not in text

    csv_data = client.get(f"/staff/safety/report.csv?{PERIOD}").data
    xlsx_data = client.get(f"/staff/safety/report.xlsx?{PERIOD}").data
    pdf_data = client.get(f"/staff/safety/report.pdf?{PERIOD}").data
    from_csv = csv_sections(csv_data, titles)
    from_xlsx = xlsx_sections(xlsx_data, titles)
    # Round by round: a row per item and round in the files (numbers as numbers in the XLSX), one line per item on
    # the page (and in the PDF, checked below with every page row).
    assert page["rounds"] and page["rounds"] == compact(from_csv["rounds"])
    assert xlsx_as_text(xlsx_data, titles["rounds"]) == from_csv["rounds"]
    for key, rows in page.items():
        if key == "rounds":
            continue
        assert from_csv.get(key, []) == rows, key
        assert [[v for v in row][:len(r)] for row, r in zip(from_xlsx.get(key, []), rows, strict=True)] == rows, key
    # The PDF: every cell's words are in its text, and the hidden label as often as on the page.
    pdf_text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf_data)).pages)
    flat = re.sub(r"\s+", "", pdf_text)
    for rows in page.values():
        for row in rows:
            for cell in row:
                for word in cell.split():
                    assert word in flat, word
    hidden = sum(cell == "för få svar" for rows in page.values() for row in rows for cell in row)
    assert flat.count("förfåsvar") >= hidden
    # Each download left its hash in the audit log.
    session.commit()
    logged = [json.loads(d) for d in session.scalars(select(AuditEntry.details)
                                                     .where(AuditEntry.action == "report.export")
                                                     .order_by(AuditEntry.seq))]
    assert [(e["format"], e["sha256"]) for e in logged] == [
        ("csv", hashlib.sha256(csv_data).hexdigest()), ("xlsx", hashlib.sha256(xlsx_data).hexdigest()),
        ("pdf", hashlib.sha256(pdf_data).hexdigest())]


def test_figures_are_the_results_pages_figures(client: FlaskClient, org: Org, session: Session, released) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, org.safety.email)
    report = page_sections(client.get(f"/staff/safety/report?{PERIOD}").get_data(as_text=True))
    results = client.get(f"/staff/results/{released['release']}/units/{org.dept.id}").get_data(as_text=True)
    dept_rows = [row for row in report["results"] if row[0] == "Förvaltningen"]
    assert dept_rows
    for row in dept_rows:
        assert row[6] in results, row  # the same text ("3,0", "≤ 1,5" or "för få svar")


def test_the_report_is_the_safety_representatives_own(app: Flask, org: Org, session: Session, released) -> None:  # type: ignore[no-untyped-def]
    for email in (org.manager.email, org.admin.email, org.employee.email):
        client = app.test_client()
        sign_in(client, email)
        for url in ("/staff/safety/report", "/staff/safety/report.csv", "/staff/safety/report.pdf"):
            assert client.get(f"{url}?{PERIOD}").status_code == 403, (email, url)


def test_a_bad_period_is_told_not_failed(client: FlaskClient, org: Org) -> None:
    sign_in(client, org.safety.email)
    response = client.get("/staff/safety/report?start=2026-12-31&end=2026-01-01")
    assert response.status_code == 400
    assert "Periodens slut kan inte ligga före dess början." in response.get_data(as_text=True)
    assert client.get("/staff/safety/report?start=nonsense&end=2026-01-01").status_code == 400
    assert client.get("/staff/safety/report.csv?start=nonsense&end=2026-01-01").status_code == 400


def test_verify_export_recognises_only_the_exported_file(client: FlaskClient, runner: FlaskCliRunner, org: Org,
                                                          tmp_path: Path, released) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, org.safety.email)
    data = client.get(f"/staff/safety/report.csv?{PERIOD}").data
    copy = tmp_path / "rapport.csv"
    copy.write_bytes(data)
    result = runner.invoke(args=["audit", "verify-export", str(copy)])
    assert result.exit_code == 0, result.output
    assert "MATCH" in result.output and "report.export" in result.output and "safety@example.org" in result.output
    changed = tmp_path / "andrad.csv"
    changed.write_bytes(data.replace(b"Skrivbord", b"Skrivbort"))
    result = runner.invoke(args=["audit", "verify-export", str(changed)])
    assert result.exit_code == 1 and "NOT FOUND" in result.output


def test_the_report_in_english(client: FlaskClient, org: Org, released) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, org.safety.email)
    client.post("/staff/language", data={"language": "en", "next": "/staff/"})
    page = client.get(f"/staff/safety/report?{PERIOD}").get_data(as_text=True)
    assert "<h1>The safety representative's report</h1>" in page.replace("&#39;", "'")
    assert "Risk register" in page and "Requests under AML 6:6a" in page
    data = client.get(f"/staff/safety/report.csv?{PERIOD}").data.decode("utf-8-sig")
    assert "Complaints about the work environment" in data and "Workload" in data
    pdf_text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(
        client.get(f"/staff/safety/report.pdf?{PERIOD}").data)).pages)
    assert "Action plan" in pdf_text


def test_trends_round_by_round_are_the_results_pages_figures(client: FlaskClient, session: Session,
                                                              app: Flask) -> None:
    """Issue 10: each item's published figure in every round — shown, hidden and bounded rounds as the results pages
    show them, in all four formats, nothing finer."""
    wl = "OSA-WL1"
    rounds: list[Answers] = [
        {"alfa": [{wl: 4}, {wl: 4}, {wl: 5}], "beta": [{wl: v} for v in (2, 3, 3, 4)]},
        {"beta": [{wl: v} for v in (3, 3, 2, 4)]},  # nobody in alfa answers: "för få svar"
        {"alfa": [{wl: 1}, {wl: 1}, {wl: 1}], "beta": [{wl: v} for v in (4, 4, 5, 5)]},  # alfa: a bound at most
        {"alfa": [{wl: 2}, {wl: 3}, {wl: 3}], "beta": [{wl: v} for v in (2, 2, 3, 3)]},
    ]
    made = release_rounds(session, app, {"alfa": 4, "beta": 5}, rounds, k=3, k_dist=10)
    make_person(session, "rep@example.org", safety_area=[made.dept])
    session.commit()
    sign_in(client, "rep@example.org")
    text = client.get(f"/staff/safety/report?{PERIOD}").get_data(as_text=True)
    page = page_sections(text)
    csv_data = client.get(f"/staff/safety/report.csv?{PERIOD}").data
    files = csv_sections(csv_data, {"rounds": "Resultat omgång för omgång"})
    workload = [row for row in files["rounds"] if row[3].startswith(f"{wl} v")]
    alfa = [round_text(row) for row in workload if row[UNIT] == "alfa"]
    # Worked out by hand: 4,3 (13/3), nobody, 1,0 censored (or hidden as a complement), 2,7 (8/3).
    assert alfa[0] == "4,3" and alfa[1] == "för få svar" and alfa[2] in ("≤ 1,5", "för få svar") and alfa[3] == "2,7"
    assert [row[ROUND] for row in workload if row[UNIT] == "alfa"] == ["1", "2", "3", "4"]
    # Every round's figure is the one its results page shows for the unit.
    for unit in (made.dept, *made.teams.values()):
        for number, release in enumerate(made.releases, start=1):
            results = client.get(f"/staff/results/{release}/units/{unit.id}").get_data(as_text=True)
            row = next(r for r in workload if r[UNIT] == unit.name and r[ROUND] == str(number))
            assert round_text(row) in html.unescape(results), (unit.name, number, row)
    # The XLSX holds the same rows, numbers as numbers; the page and the PDF one line per item.
    xlsx_data = client.get(f"/staff/safety/report.xlsx?{PERIOD}").data
    assert xlsx_as_text(xlsx_data, "Resultat omgång för omgång") == files["rounds"]
    assert page["rounds"] == compact(files["rounds"])
    pdf_text = re.sub(r"\s+", "", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(
        client.get(f"/staff/safety/report.pdf?{PERIOD}").data)).pages))
    for row in page["rounds"]:
        for word in " ".join(row).split():
            assert word in pdf_text, word
    # Its sparkline is drawn only from exact figures, at whole-number coordinates.
    lines = re.findall(r'<td class="spark">(.*?)</td>', text, re.S)
    assert len(lines) == len(page["rounds"])
    for points in re.findall(r'points="([^"]*)"', text):
        assert re.fullmatch(r"\d+ \d+( \d+ \d+)*", points), points
    labels = [html.unescape(label) for label in re.findall(r'aria-label="([^"]*)"', " ".join(lines))]
    assert labels and all("omgång" in label for label in labels), labels
    assert not re.search(r"\d[.,]\d{2,}", " ".join(lines))  # nothing finer than one decimal


@pytest.mark.parametrize("language", ["en", "sv"])
def test_every_section_is_a_worksheet_in_either_language(client: FlaskClient, org: Org, session: Session,  # type: ignore[no-untyped-def]
                                                         released, language: str) -> None:
    """Worksheet names may not hold ``: \\ / ? * [ ]``; the English title of the 6:6a log ("… 6:6a") once made the
    XLSX a 500 while the Swedish one ("6 kap. 6 a §") worked."""
    org.safety.language = language  # a signed-in person's own language decides
    session.commit()
    sign_in(client, org.safety.email)
    page = client.get(f"/staff/safety/report?{PERIOD}").get_data(as_text=True)
    titles = [html.unescape(t) for t in re.findall(r'<h2 id="section-\w+">(.*?)</h2>', page)]
    assert ("Requests under AML 6:6a" if language == "en" else "Begäranden enligt 6 kap. 6 a § AML") in titles
    response = client.get(f"/staff/safety/report.xlsx?{PERIOD}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert [sheet.cell(1, 1).value for sheet in book.worksheets[1:]] == titles
    assert all(not set(sheet.title) & set("\\/?*[]:") and len(sheet.title) <= 31 for sheet in book.worksheets)
