"""At run time: every statement that reads a release, its cells or comments while a page, chart, export or API
response of either app is made comes from the gate (pulse.disclosure) — the static check is
tests/unit/test_gate.py."""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from pulse.common.db import get_database
from pulse.demo import DEMO_PASSWORD
from pulse.models import Release, Round, Unit
from pulse.respondent.answering.views import results_link

GATED_TABLES = ("release", "release_cell", "comment", "pooled_release", "pooled_release_cell")
READS = re.compile(r'\b(?:from|join)\s+(?:"?\w+"?\.)?"?(' + "|".join(GATED_TABLES) + r')"?(?:\s|$|,|\))', re.I)


@contextmanager
def gated_reads(app: Flask) -> Iterator[list[tuple[str, bool]]]:
    """Every statement reading a gated table while the block runs, and whether pulse.disclosure issued it."""
    seen: list[tuple[str, bool]] = []
    engine = get_database(app).engine

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if READS.search(statement):
            stack = traceback.extract_stack()
            seen.append((statement, any(f.filename.endswith("pulse/disclosure.py") for f in stack)))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_every_published_thing_is_read_through_the_gate(app: Flask, runner: FlaskCliRunner,
                                                         session: Session) -> None:
    assert runner.invoke(args=["demo"]).exit_code == 0
    token = runner.invoke(args=["api-token", "create", "helena.enhetschef@exempelstad.se", "--name", "BI"])
    assert token.exit_code == 0, token.output
    bearer = {"Authorization": f"Bearer {token.output.strip()}"}
    unit = session.scalar(select(Unit.id).where(Unit.key == "jarva-mbk"))
    release = session.get_one(Release, session.scalar(select(Release.id).order_by(Release.id.desc()).limit(1)))
    survey = session.get_one(Round, release.round_id).survey_id
    with app.app_context():
        link = results_link(release.round_id, unit)  # type: ignore[arg-type]
    # The caches of parsed releases would hide the reads: every read below is a first one.
    from pulse import disclosure

    disclosure._releases.clear()
    disclosure._infos.clear()
    client = app.test_client()
    assert client.post("/staff/login", data={"email": "helena.enhetschef@exempelstad.se",
                                             "password": DEMO_PASSWORD}).status_code == 302
    base = f"/staff/results/{release.id}/units/{unit}"
    trends = f"/staff/results/surveys/{survey}/units/{unit}/trends"
    pooled = f"/staff/results/surveys/{survey}/units/{unit}/pooled"  # the demo pools rounds 1–3 and 4–6
    pages = ["/staff/", "/staff/results/", base, f"{base}/heatmap", f"{base}/comments", f"{base}/export.csv",
             f"{base}/export.xlsx", trends, f"/staff/results/rounds/{release.round_id}", pooled, f"{pooled}.csv"]
    with gated_reads(app) as seen:
        for page in pages:
            response = client.get(page)
            assert response.status_code in (200, 302), page
            if page == trends:
                chart = re.search(r'src="([^"]+/charts/[^"]+\.svg)"', response.get_data(as_text=True))
                assert chart is not None and client.get(chart.group(1)).status_code == 200
        for url in ("/api/v1/releases", f"/api/v1/releases/{release.id}/units/{unit}",
                    f"/api/v1/rounds/{release.round_id}/release", f"/api/v1/surveys/{survey}/units/{unit}/pooled"):
            assert client.get(url, headers=bearer).status_code == 200, url
        mine = client.get(f"/r/results/{link}")
        assert mine.status_code == 200 and mine.get_json()["status"] == "released"
    assert {READS.search(statement).group(1).lower() for statement, _ in seen} == set(GATED_TABLES)  # type: ignore[union-attr]
    outside = [statement for statement, through_gate in seen if not through_gate]
    assert outside == []
