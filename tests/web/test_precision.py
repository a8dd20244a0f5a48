"""No output carries more precision than the published figure (docs/ANONYMITY.md, "Precision").

The attacker reads every output — overview page, heatmap, trends table and chart, CSV, XLSX, JSON API — and
tries to recover a mean more precisely than it is published. Alfa's 15 answers sum to 41: the mean 2.7333… is
published as 2.7, and 2.7333 × 15 = 41 must not be readable anywhere (the chart used to plot it). Beta's 20
answers sum to 53: exactly 2.65, published as 2.7 (half away from zero) on every output alike — two roundings
of one value (2.6 on one output, 2.7 on another) would pin it down; in the next round they sum to 49 (2.45).
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from jsonschema import Draft202012Validator
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from pulse.domain.scales import SCALES
from pulse.staff.api.openapi import document
from tests.factories import PASSWORD
from tests.figures import Made, release_rounds, values

WL = "OSA-WL1"
ROUNDS = [
    {"alfa": values({3: 11, 2: 4}), "beta": values({3: 13, 2: 7})},  # 41/15 = 2.7333…, 53/20 = 2.65
    {"alfa": values({3: 10, 2: 5}), "beta": values({3: 9, 2: 11})},  # 40/15 = 2.6667…, 49/20 = 2.45
]
#: A finer number than one decimal, wherever it is written (2.73, 2,7333, 41.25, …).
FINE = re.compile(r"\d[.,]\d{2,}")


def published(answers: list[int]) -> float:
    """The published mean, computed here independently: one decimal, halves away from zero."""
    exact = Decimal(sum(answers)) / Decimal(len(answers))
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@pytest.fixture
def made(session: Session, app: Flask) -> Made:
    rounds = [{team: [{WL: v} for v in answers] for team, answers in r.items()} for r in ROUNDS]
    # k_dist above everyone: no distribution anywhere, so the rounded mean is all there is.
    return release_rounds(session, app, {"alfa": 15, "beta": 20}, rounds, k=5, k_dist=40)


def expected(made: Made) -> dict[int, list[float]]:
    """Unit → its published mean in each round."""
    result: dict[int, list[float]] = {}
    for r in ROUNDS:
        for name, answers in r.items():
            result.setdefault(made.teams[name].id, []).append(published(answers))
        result.setdefault(made.dept.id, []).append(published([v for a in r.values() for v in a]))
    return result


def sign_in(client: FlaskClient) -> None:
    assert client.post("/staff/login", data={"email": "admin@example.org", "password": PASSWORD}).status_code == 302


class _Page(HTMLParser):
    """Table rows as lists of cell texts, all text, and every attribute value."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.texts: list[str] = []
        self.attributes: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attributes += [f"{name}={value}" for name, value in attrs if value]
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def no_finer_numbers(page: _Page) -> None:
    """No number in the page's text or attributes (links and styles aside) has more than one decimal."""
    text = " ".join(page.texts)
    attributes = [a for a in page.attributes if not a.startswith(("href=", "src=", "style=", "content="))]
    assert not FINE.findall(text), FINE.findall(text)
    assert not [a for a in attributes if FINE.search(a)]


def number(text: str) -> float:
    return float(text.replace(",", ".").replace("−", "-"))


def index_of(mean: float) -> int:
    """The workload item's 0–100 index from a published mean, exactly, rounded half away from zero."""
    agree = SCALES["agree5"]
    exact = (Decimal(str(mean)) - agree.minimum) * 100 / (agree.maximum - agree.minimum)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_overview_and_heatmap_show_the_published_mean_and_nothing_finer(client: FlaskClient, made: Made) -> None:
    sign_in(client)
    means = expected(made)
    names = {"Avdelning": made.dept.id, "alfa": made.teams["alfa"].id, "beta": made.teams["beta"].id}
    for number_, release in enumerate(made.releases):
        for unit, series in means.items():
            html = client.get(f"/staff/results/{release}/units/{unit}").get_data(as_text=True)
            page = parse(html)
            no_finer_numbers(page)
            row = next(r for r in page.rows if r and WL in r[0])
            assert number(row[1]) == series[number_]
            # The headline index is the workload item's position, from the published mean.
            headline = re.search(r'<span class="figure-value">(\d+)</span><span class="figure-label">Index', html)
            assert headline is not None
            assert int(headline.group(1)) == index_of(series[number_])
        heat = parse(client.get(f"/staff/results/{release}/units/{made.dept.id}/heatmap").get_data(as_text=True))
        no_finer_numbers(heat)
        header = next(r for r in heat.rows if r and r[0] == "Unit")
        column = header.index("Workload")
        for row in heat.rows[1:]:
            assert int(row[column]) == index_of(means[names[row[0]]][number_]), row


def chart_values(svg: str) -> list[float]:
    """Read every data point of a trend chart back into data values, through the y axis ticks: marker positions
    and line vertices alike."""
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    ns = {"svg": "http://www.w3.org/2000/svg"}
    link = "{http://www.w3.org/1999/xlink}href"
    ticks = []
    for tick in root.iterfind(".//svg:g[@id]", ns):
        if tick.get("id", "").startswith("ytick_"):
            mark = next(u for u in tick.iterfind(".//svg:use", ns) if u.get(link))
            label = "".join(next(tick.iterfind(".//svg:text", ns)).itertext())
            ticks.append((float(mark.get("y", "nan")), float(label.replace("−", "-").replace(",", "."))))
    assert len(ticks) >= 2
    (y0, v0), (y1, v1) = ticks[0], ticks[-1]
    axes = next(g for g in root.iterfind(".//svg:g[@id]", ns) if g.get("id") == "axes_1")
    points = []
    for line in axes.findall("svg:g", ns):  # the plotted lines; ticks and the legend live in groups of their own
        if not line.get("id", "").startswith("line2d_"):
            continue
        ys = [float(u.get("y", "nan")) for u in line.iterfind(".//svg:use", ns)]
        for path in line.iterfind(".//svg:path", ns):
            if path.get("id"):  # a marker's shape, drawn around (0, 0)
                continue
            numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.get("d", ""))]
            ys += numbers[1::2]
        points += [v0 + (y - y0) * (v1 - v0) / (y1 - y0) for y in ys]
    return points


def test_trend_chart_and_table_plot_only_published_means(client: FlaskClient, made: Made) -> None:
    sign_in(client)
    means = expected(made)
    for unit, series in means.items():
        html = client.get(f"/staff/results/surveys/{made.survey.id}/units/{unit}/trends").get_data(as_text=True)
        page = parse(html)
        no_finer_numbers(page)
        row = next(r for r in page.rows if r and r[0].startswith("I can get my work done"))
        assert [number(v) for v in row[1:]] == series
        chart = re.search(r'src="([^"]+/charts/workload\.svg)"', html)
        assert chart is not None
        svg = client.get(chart.group(1)).get_data(as_text=True)
        points = chart_values(svg)
        assert points, "the chart plots the published means"
        for value in points:
            # Every point is a published value: one decimal, and one of this unit's means.
            assert min(abs(value - m) for m in series) < 1e-6, (value, series)
        assert all(abs(v - 41 / 15) > 1e-3 and abs(v - 2.65) > 1e-3 for v in points)


def test_exports_write_the_published_mean_and_nothing_finer(client: FlaskClient, made: Made) -> None:
    sign_in(client)
    means = expected(made)
    names = {"Avdelning": made.dept.id, "alfa": made.teams["alfa"].id, "beta": made.teams["beta"].id}
    for number_, release in enumerate(made.releases):
        base = f"/staff/results/{release}/units/{made.dept.id}"
        rows = list(csv.reader(io.StringIO(client.get(base + "/export.csv").data.decode("utf-8-sig")),
                               delimiter=";"))
        book = load_workbook(io.BytesIO(client.get(base + "/export.xlsx").data))
        sheet = [["" if c.value is None else c.value for c in row] for row in book.active.iter_rows()]  # type: ignore[union-attr]
        for table in (rows, sheet):
            for row in table:
                for value in row:
                    if isinstance(value, float):
                        assert value == round(value, 1)
                    assert not FINE.search(str(value)), value
            header = next(r for r in table if r and str(r[0]) == "Unit")
            column = next(i for i, h in enumerate(header) if str(h).startswith(f"{WL} v"))
            shown = {str(r[0]): r[column] for r in table[table.index(header) + 1:] if r and r[1] == "whole unit"}
            assert {names[n]: number(str(v)) for n, v in shown.items()} == {u: s[number_] for u, s in means.items()}


def walk_numbers(value: Any) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [value]
    if isinstance(value, dict):
        return [n for v in value.values() for n in walk_numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in walk_numbers(v)]
    return []


def test_api_returns_the_published_mean_and_nothing_finer(client: FlaskClient, runner: FlaskCliRunner,
                                                          made: Made) -> None:
    token = runner.invoke(args=["api-token", "create", "admin@example.org", "--name", "BI"]).output.strip()
    means = expected(made)
    spec = document()
    path = "/api/v1/releases/{release_id}/units/{unit_id}"
    schema = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    for number_, release in enumerate(made.releases):
        response = client.get(f"/api/v1/releases/{release}/units/{made.dept.id}",
                              headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        body = response.get_json()
        Draft202012Validator({**schema, "components": spec["components"]}).validate(body)
        for value in walk_numbers(body):
            assert isinstance(value, int) or value == float(Decimal(repr(value)).quantize(Decimal("0.1"))), value
        assert not FINE.search(json.dumps([c["questions"] for c in body["cells"]]))
        for cell in body["cells"]:
            if cell["part"] == "total":
                assert cell["questions"][WL]["mean"] == means[cell["unit_id"]][number_]
