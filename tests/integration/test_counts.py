"""Counts outside the release follow the release's k rule: round pages, `pulse round status`, the audit log
(docs/ANONYMITY.md, "Counts outside the release")."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse.models import AuditEntry, Round
from pulse.services import answers as answer_service
from tests.factories import make_person, sign_in
from tests.rounds import MONDAY, close_when_due, keys, make_survey, open_with_credentials


def close_small_round(session: Session, app: Flask, org, answering: int) -> Round:  # type: ignore[no-untyped-def]
    for i in range(4):
        make_person(session, f"member{i}@example.org", unit=org.team_b, password=None)
    session.commit()
    # Team B's five, k = 5: the round's whole audience is one group of five.
    opened = open_with_credentials(session, app, make_survey(session, [org.team_b], min_group_size=5,
                                                             min_dist_size=5, min_comment_size=5))
    for link, _ in list(opened.credentials.values())[:answering]:
        answer_service.submit(session, keys(app).token, link, {"OSA-WL1": 3}, "Hej", now=MONDAY)
    rnd = close_when_due(session, app, opened.round.id)
    return rnd


def test_too_few_answers_are_never_counted_out_loud(session: Session, app: Flask, org, client: FlaskClient,  # type: ignore[no-untyped-def]
                                                    runner: FlaskCliRunner) -> None:
    rnd = close_small_round(session, app, org, answering=3)
    details = json.loads(session.scalar(select(AuditEntry.details).where(AuditEntry.action == "round.close")) or "{}")
    assert details["invited"] == 5 and details["answers"] is None and details["comments"] is None
    status = runner.invoke(args=["round", "status", str(rnd.id)]).output
    assert "answers not shown (fewer than 5)" in status and "comments not shown" in status
    assert " 3 " not in status.replace("answers not shown", "")
    sign_in(client, "admin@example.org")
    page = client.get(f"/staff/admin/rounds/{rnd.id}").get_data(as_text=True)
    assert "för få för att visas" in page


def test_enough_answers_are_counted(session: Session, app: Flask, org, runner: FlaskCliRunner) -> None:  # type: ignore[no-untyped-def]
    rnd = close_small_round(session, app, org, answering=5)
    details = json.loads(session.scalar(select(AuditEntry.details).where(AuditEntry.action == "round.close")) or "{}")
    assert details["answers"] == 5 and details["comments"] == 5
    assert "answers 5, comments 5" in runner.invoke(args=["round", "status", str(rnd.id)]).output
