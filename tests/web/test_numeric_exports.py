"""Spreadsheets hold numbers as numbers (the published ones, nothing finer), with what is shown instead in a column
of its own; the trend export has one row per released round of a unit."""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from tests.figures import Made, release_rounds
from tests.web.test_precision import FINE, WL, expected, sign_in
from tests.web.test_precision import made as made  # noqa: F401 - the fixture


def sheet_rows(data: bytes) -> list[list[object]]:
    book = load_workbook(io.BytesIO(data))
    return [[c.value for c in row] for row in book.active.iter_rows()]  # type: ignore[union-attr]


def columns(rows: list[list[object]], first: str) -> tuple[list[object], list[list[object]]]:
    header = next(r for r in rows if r and r[0] == first)
    return header, rows[rows.index(header) + 1:]


def test_release_xlsx_numbers_are_numbers_at_published_precision(client: FlaskClient, made: Made) -> None:  # noqa: F811
    sign_in(client)
    means = expected(made)
    names = {"Avdelning": made.dept.id, "alfa": made.teams["alfa"].id, "beta": made.teams["beta"].id}
    for number, release in enumerate(made.releases):
        response = client.get(f"/staff/results/{release}/units/{made.dept.id}/export.xlsx")
        header, rows = columns(sheet_rows(response.data), "Unit")
        value = next(i for i, h in enumerate(header) if str(h).startswith(f"{WL} v"))
        assert header[value + 1:value + 3] == [f"{WL} n", f"{WL} shown as"]
        for row in rows:
            if row[1] != "whole unit":
                continue
            assert isinstance(row[value], float) and row[value] == means[names[str(row[0])]][number]
            assert isinstance(row[value + 1], int) and isinstance(row[2], int)
            assert row[value + 2] is None  # shown exactly: nothing instead
        book = load_workbook(io.BytesIO(response.data))
        floats = [c for r in book.active.iter_rows() for c in r if isinstance(c.value, float)]  # type: ignore[union-attr]
        assert floats and all(c.number_format == "0.0" and c.value == round(c.value, 1) for c in floats)


def test_trend_xlsx_has_a_row_per_round(client: FlaskClient, made: Made) -> None:  # noqa: F811
    sign_in(client)
    means = expected(made)
    for unit, series in means.items():
        response = client.get(f"/staff/results/surveys/{made.survey.id}/units/{unit}/trend.xlsx")
        assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
        header, rows = columns(sheet_rows(response.data), "Round")
        value = next(i for i, h in enumerate(header) if str(h).startswith(f"{WL} v"))
        assert [r[0] for r in rows] == [1, 2]
        assert [r[value] for r in rows] == series
        assert all(isinstance(r[value], float) and isinstance(r[value + 1], int) for r in rows)
        for row in rows:
            for cell in row:
                assert not FINE.search(str(cell)) or isinstance(cell, str) and "-" in cell, cell  # dates aside
    assert client.get(f"/staff/results/surveys/{made.survey.id}/units/999999/trend.xlsx").status_code == 404


def test_trend_xlsx_marks_hidden_and_censored_rounds_apart(app: Flask, client: FlaskClient,
                                                            session: Session) -> None:
    """Round 1: alfa's three answers are all 1 (k=3, k_dist=5): a bound "≤ 1.5", no number. Round 2: only two
    answer: hidden. Neither round has a number in the spreadsheet; the column beside says what is shown."""
    made = release_rounds(session, app, {"alfa": 3, "beta": 6}, [
        {"alfa": [{WL: 1}] * 3, "beta": [{WL: v} for v in (4, 3, 5, 4, 2, 3)]},
        {"alfa": [{WL: 2}] * 2, "beta": [{WL: v} for v in (4, 3, 5, 4, 2, 3)]}], k=3, k_dist=5)
    sign_in(client)
    response = client.get(f"/staff/results/surveys/{made.survey.id}/units/{made.teams['alfa'].id}/trend.xlsx")
    header, rows = columns(sheet_rows(response.data), "Round")
    value = next(i for i, h in enumerate(header) if str(h).startswith(f"{WL} v"))
    assert [r[value:value + 3] for r in rows] == [[None, None, "≤ 1.5"], [None, None, "too few answers"]]
    assert rows[1][3] is None and rows[1][5] == "too few answers"  # the unit itself hidden in round 2
