"""Who may do what in the staff area: every route under /staff × every role → the expected status.

The matrix is the specification. A staff route added without an entry here fails
:func:`test_every_staff_route_is_in_the_matrix`, so access rules are decided on purpose, not by accident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from pulse.common.paths import STAFF_PREFIX
from pulse.models import OrgImport
from tests.factories import Org, make_unit, sign_in

ROLES = ("anonymous", "employee", "manager", "safety_rep", "admin")
SIGNED_IN = ROLES[1:]

#: Expected statuses by role; ``LOGIN`` means a redirect to the sign-in page that comes back here.
LOGIN = "login"


def everyone(status: int | str) -> dict[str, int | str]:
    return dict.fromkeys(ROLES, status)


def staff(status: int) -> dict[str, int | str]:
    """Any signed-in person; anonymous visitors are sent to sign in."""
    return {"anonymous": LOGIN, **dict.fromkeys(SIGNED_IN, status)}


def managers_and_safety_reps(status: int) -> dict[str, int | str]:
    return {"anonymous": LOGIN, "employee": 403, "manager": status, "safety_rep": status, "admin": status}


def admins(status: int) -> dict[str, int | str]:
    return {"anonymous": LOGIN, "employee": 403, "manager": 403, "safety_rep": 403, "admin": status}


def BOX_READERS(status: int) -> dict[str, int | str]:  # noqa: N802 - reads like the other role sets
    """The manager and safety representative of a box item's unit; nobody else (administrators neither)."""
    return {"anonymous": LOGIN, "employee": 404, "manager": status, "safety_rep": status, "admin": 404}


def managers(status: int, safety_rep: int = 403) -> dict[str, int | str]:
    """Managers (and administrators); a safety representative gets ``safety_rep``: 403 where the role is refused,
    404 where they may read the record but not change it (outside what they may write looks like nothing)."""
    return {"anonymous": LOGIN, "employee": 403, "manager": status, "safety_rep": safety_rep, "admin": status}


def safety_reps(status: int) -> dict[str, int | str]:
    """Safety representatives (and administrators, who pass every role check)."""
    return {"anonymous": LOGIN, "employee": 403, "manager": 403, "safety_rep": status, "admin": status}


def SAFETY_REP_ONLY(status: int) -> dict[str, int | str]:  # noqa: N802 - reads like the other rules
    """Safety representatives with a safety area; an administrator without one is refused like anyone else."""
    return {"anonymous": LOGIN, "employee": 403, "manager": 403, "safety_rep": status, "admin": 403}


def DESK(manager: int, safety_rep: int) -> dict[str, int | str]:  # noqa: N802
    """A request or follow-up of Team A: its manager and its safety representative; an administrator who is
    neither is told it does not exist."""
    return {"anonymous": LOGIN, "employee": 403, "manager": manager, "safety_rep": safety_rep, "admin": 404}


@dataclass(frozen=True)
class Case:
    method: str
    #: The route as Flask spells it in ``app.url_map``.
    rule: str
    #: The URL to request, with ``{name}`` filled from :class:`Ids`.
    url: str
    expected: dict[str, int | str]
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.method} {self.rule}"


@dataclass(frozen=True)
class Ids:
    """Real ids and tokens from the test organisation, for URL parameters."""

    team_a: int
    person: int
    reset_token: str
    import_token: str
    survey: int
    open_round: int
    closed_round: int
    release: int
    comment: str
    token: int
    safety_request: int
    attachment: int
    follow_up: int
    box_item: str
    box_message: str
    risk: int
    action: int
    meeting: int
    feedback: int


MATRIX = [
    # Sign-in and password reset: open to everyone; a signed-in person is sent on from the sign-in page.
    Case("GET", "/staff/login", "/staff/login", {"anonymous": 200, **dict.fromkeys(SIGNED_IN, 302)}),
    Case("POST", "/staff/login", "/staff/login", {"anonymous": 400, **dict.fromkeys(SIGNED_IN, 302)}),
    Case("POST", "/staff/logout", "/staff/logout", everyone(302)),
    Case("GET", "/staff/password/forgot", "/staff/password/forgot", everyone(200)),
    Case("POST", "/staff/password/forgot", "/staff/password/forgot", everyone(400), {"email": ""}),
    Case("GET", "/staff/password/reset/<token>", "/staff/password/reset/{reset_token}", everyone(200)),
    Case("POST", "/staff/password/reset/<token>", "/staff/password/reset/{reset_token}", everyone(400),
         {"password": "a long enough password", "confirm": "a different password"}),
    Case("POST", "/staff/language", "/staff/language", everyone(302), {"language": "en", "next": "/staff/"}),
    # Every signed-in person.
    Case("GET", "/staff/", "/staff/", staff(200)),
    Case("GET", "/staff/settings", "/staff/settings", staff(200)),
    Case("POST", "/staff/settings", "/staff/settings", staff(400), {"settings-language": "xx"}),
    # Managers and safety representatives (admins pass every role check).
    Case("GET", "/staff/units", "/staff/units", managers_and_safety_reps(200)),
    Case("GET", "/staff/units/<int:unit_id>", "/staff/units/{team_a}", managers_and_safety_reps(200)),
    # Administrators only.
    Case("GET", "/staff/admin/", "/staff/admin/", admins(302)),
    Case("GET", "/staff/admin/units", "/staff/admin/units", admins(200)),
    Case("GET", "/staff/admin/units/<int:unit_id>", "/staff/admin/units/{team_a}", admins(200)),
    Case("GET", "/staff/admin/people", "/staff/admin/people?q=a", admins(200)),
    Case("GET", "/staff/admin/people/<int:person_id>", "/staff/admin/people/{person}", admins(200)),
    Case("POST", "/staff/admin/people/<int:person_id>", "/staff/admin/people/{person}", admins(400),
         {"name": "", "unit": "0", "language": "sv", "status": "active"}),
    Case("GET", "/staff/admin/people/new", "/staff/admin/people/new", admins(200)),
    Case("POST", "/staff/admin/people/new", "/staff/admin/people/new", admins(400),
         {"email": "", "name": "", "unit": "0", "language": "sv", "status": "active"}),
    Case("GET", "/staff/admin/units/new", "/staff/admin/units/new", admins(200)),
    Case("POST", "/staff/admin/units/new", "/staff/admin/units/new", admins(400), {"key": "", "name": "", "parent": "0"}),
    Case("GET", "/staff/admin/units/<int:unit_id>/edit", "/staff/admin/units/{team_a}/edit", admins(200)),
    Case("POST", "/staff/admin/units/<int:unit_id>/edit", "/staff/admin/units/{team_a}/edit", admins(400),
         {"name": "", "parent": "0"}),
    Case("GET", "/staff/admin/audit", "/staff/admin/audit", admins(200)),
    Case("POST", "/staff/admin/audit/verify", "/staff/admin/audit/verify", admins(200)),
    Case("GET", "/staff/admin/import", "/staff/admin/import", admins(200)),
    Case("POST", "/staff/admin/import", "/staff/admin/import", admins(400)),
    Case("GET", "/staff/admin/import/<token>", "/staff/admin/import/{import_token}", admins(200)),
    # A digest that does not match the preview: the page is shown again with the current differences.
    Case("POST", "/staff/admin/import/<token>", "/staff/admin/import/{import_token}", admins(409),
         {"digest": "0" * 64}),
    Case("POST", "/staff/admin/import/<token>/cancel", "/staff/admin/import/{import_token}/cancel", admins(302)),
    Case("GET", "/staff/admin/export/<any(units, people):which>.csv", "/staff/admin/export/units.csv",
         admins(200)),
    # Questions, surveys and rounds: administrators.
    Case("GET", "/staff/admin/questions", "/staff/admin/questions", admins(200)),
    Case("GET", "/staff/admin/questions/new", "/staff/admin/questions/new", admins(200)),
    Case("POST", "/staff/admin/questions/new", "/staff/admin/questions/new", admins(400), {"code": ""}),
    Case("GET", "/staff/admin/questions/<code>", "/staff/admin/questions/OSA-WL1", admins(200)),
    Case("POST", "/staff/admin/questions/<code>", "/staff/admin/questions/OSA-WL1", admins(400), {"text_sv": ""}),
    Case("POST", "/staff/admin/questions/<code>/retire", "/staff/admin/questions/OSA-WL2/retire", admins(302)),
    Case("GET", "/staff/admin/surveys", "/staff/admin/surveys", admins(200)),
    Case("GET", "/staff/admin/surveys/new", "/staff/admin/surveys/new", admins(200)),
    Case("POST", "/staff/admin/surveys/new", "/staff/admin/surveys/new", admins(400), {"name": ""}),
    Case("GET", "/staff/admin/surveys/<int:survey_id>", "/staff/admin/surveys/{survey}", admins(200)),
    Case("POST", "/staff/admin/surveys/<int:survey_id>", "/staff/admin/surveys/{survey}", admins(400),
         {"name": ""}),
    # A round is open already: the page comes back with that message.
    Case("POST", "/staff/admin/surveys/<int:survey_id>/open", "/staff/admin/surveys/{survey}/open", admins(302)),
    Case("POST", "/staff/admin/surveys/<int:survey_id>/pooling", "/staff/admin/surveys/{survey}/pooling", admins(302),
         {"pooling": "month"}),
    Case("GET", "/staff/admin/rounds/<int:round_id>", "/staff/admin/rounds/{open_round}", admins(200)),
    Case("POST", "/staff/admin/rounds/<int:round_id>/close", "/staff/admin/rounds/{closed_round}/close",
         admins(302)),
    Case("POST", "/staff/admin/rounds/<int:round_id>/release", "/staff/admin/rounds/{closed_round}/release",
         admins(302)),
    # Answering from the start page: whoever is invited (the admin is not, in this organisation).
    Case("POST", "/staff/answer/<int:round_id>", "/staff/answer/{open_round}",
         {"anonymous": LOGIN, "employee": 200, "manager": 200, "safety_rep": 200, "admin": 404}),
    # Personal API tokens: everyone their own.
    Case("POST", "/staff/settings/tokens", "/staff/settings/tokens", staff(400), {"token-name": ""}),
    Case("POST", "/staff/settings/tokens/<int:token_id>/revoke", "/staff/settings/tokens/{token}/revoke",
         {"anonymous": LOGIN, "employee": 404, "manager": 404, "safety_rep": 404, "admin": 302}),
    # Round integrity: safety representatives.
    Case("GET", "/staff/rounds", "/staff/rounds", safety_reps(200)),
    Case("GET", "/staff/rounds/<int:round_id>", "/staff/rounds/{closed_round}", safety_reps(200)),
    # Results: managers and safety representatives, each within their scope.
    Case("GET", "/staff/results/", "/staff/results/", managers_and_safety_reps(200)),
    Case("GET", "/staff/results/<int:release_id>/units/<int:unit_id>", "/staff/results/{release}/units/{team_a}",
         managers_and_safety_reps(200)),
    Case("GET", "/staff/results/<int:release_id>/units/<int:unit_id>/heatmap",
         "/staff/results/{release}/units/{team_a}/heatmap", managers_and_safety_reps(200)),
    Case("GET", "/staff/results/<int:release_id>/units/<int:unit_id>/comments",
         "/staff/results/{release}/units/{team_a}/comments", managers_and_safety_reps(200)),
    Case("GET", "/staff/results/<int:release_id>/units/<int:unit_id>/export.<any(csv, xlsx):fmt>",
         "/staff/results/{release}/units/{team_a}/export.csv", managers_and_safety_reps(200)),
    Case("GET", "/staff/results/surveys/<int:survey_id>/units/<int:unit_id>/trends",
         "/staff/results/surveys/{survey}/units/{team_a}/trends", managers_and_safety_reps(200)),
    Case("GET", "/staff/results/surveys/<int:survey_id>/units/<int:unit_id>/trend.xlsx",
         "/staff/results/surveys/{survey}/units/{team_a}/trend.xlsx", managers_and_safety_reps(200)),
    # Pooled periods: in this organisation nothing is pooled, so the page says so and there is nothing to export.
    Case("GET", "/staff/results/surveys/<int:survey_id>/units/<int:unit_id>/pooled",
         "/staff/results/surveys/{survey}/units/{team_a}/pooled", managers_and_safety_reps(200)),
    Case("GET", "/staff/results/surveys/<int:survey_id>/units/<int:unit_id>/pooled/charts/<area>.svg",
         "/staff/results/surveys/{survey}/units/{team_a}/pooled/charts/workload.svg", managers_and_safety_reps(404)),
    Case("GET", "/staff/results/surveys/<int:survey_id>/units/<int:unit_id>/pooled.csv",
         "/staff/results/surveys/{survey}/units/{team_a}/pooled.csv", managers_and_safety_reps(404)),
    Case("GET", "/staff/results/surveys/<int:survey_id>/units/<int:unit_id>/charts/<area>.svg",
         "/staff/results/surveys/{survey}/units/{team_a}/charts/workload.svg", managers_and_safety_reps(200)),
    Case("GET", "/staff/results/<int:release_id>/units/<int:unit_id>/apt", "/staff/results/{release}/units/{team_a}/apt",
         managers_and_safety_reps(200)),
    Case("GET", "/staff/results/<int:release_id>/units/<int:unit_id>/apt/print",
         "/staff/results/{release}/units/{team_a}/apt/print", managers_and_safety_reps(200)),
    Case("POST", "/staff/results/<int:release_id>/units/<int:unit_id>/apt/print",
         "/staff/results/{release}/units/{team_a}/apt/print", managers_and_safety_reps(200)),
    Case("GET", "/staff/results/<int:release_id>/units/<int:unit_id>/apt.pdf",
         "/staff/results/{release}/units/{team_a}/apt.pdf", managers_and_safety_reps(200)),
    Case("POST", "/staff/results/<int:release_id>/units/<int:unit_id>/apt.pdf",
         "/staff/results/{release}/units/{team_a}/apt.pdf", managers_and_safety_reps(200)),
    # Saving the pack's discussion questions is writing the unit's SAM records: its managers (and administrators);
    # the safety representative reads the pack but cannot save (404, as for the SAM records they only read).
    Case("POST", "/staff/results/<int:release_id>/units/<int:unit_id>/apt/prompts",
         "/staff/results/{release}/units/{team_a}/apt/prompts", managers(302, 404)),
    Case("GET", "/staff/results/rounds/<int:round_id>", "/staff/results/rounds/{closed_round}",
         managers_and_safety_reps(302)),
    # Moderation: only safety representatives, in their own area — being an administrator gives no more.
    Case("GET", "/staff/results/moderation", "/staff/results/moderation",
         {"anonymous": LOGIN, "employee": 403, "manager": 403, "safety_rep": 200, "admin": 403}),
    Case("POST", "/staff/results/moderation/<comment_id>", "/staff/results/moderation/{comment}",
         {"anonymous": LOGIN, "employee": 403, "manager": 403, "safety_rep": 400, "admin": 403},
         {"decision": "nonsense"}),
    # The complaint box: everyone writes; an item's texts only for the managers and safety representatives of its
    # unit (an acknowledged anonymous item of Team A) — outside that, or as an administrator, it does not exist.
    Case("GET", "/staff/box/", "/staff/box/", staff(200)),
    Case("GET", "/staff/box/new", "/staff/box/new", staff(200)),
    Case("POST", "/staff/box/new", "/staff/box/new", staff(400), {"unit": "", "category": "other", "text": "x"}),
    Case("GET", "/staff/box/<item_id>", "/staff/box/{box_item}", BOX_READERS(200)),
    # Acknowledging and closing are the employer's: the safety representative reads and replies, nothing more.
    Case("POST", "/staff/box/<item_id>/acknowledge", "/staff/box/{box_item}/acknowledge",
         BOX_READERS(409) | {"safety_rep": 403}),
    Case("POST", "/staff/box/<item_id>/reply", "/staff/box/{box_item}/reply", BOX_READERS(400), {"text": " "}),
    Case("POST", "/staff/box/<item_id>/close", "/staff/box/{box_item}/close", BOX_READERS(409) | {"safety_rep": 403}),
    Case("POST", "/staff/box/<item_id>/messages/<message_id>", "/staff/box/{box_item}/messages/{box_message}",
         {"anonymous": LOGIN, "employee": 403, "manager": 403, "safety_rep": 400, "admin": 404},
         {"decision": "nonsense"}),
    Case("GET", "/staff/box/report", "/staff/box/report", managers_and_safety_reps(200)),
    Case("GET", "/staff/box/settings", "/staff/box/settings", admins(200)),
    Case("POST", "/staff/box/settings", "/staff/box/settings", admins(400),
         {"acknowledge_days": "x", "answer_days": "10", "main": ""}),
    # SAM records: managers and safety representatives read in their scope; managers write in the units they lead.
    Case("GET", "/staff/sam/", "/staff/sam/", managers_and_safety_reps(200)),
    Case("GET", "/staff/sam/units/<int:unit_id>", "/staff/sam/units/{team_a}", managers_and_safety_reps(200)),
    Case("GET", "/staff/sam/units/<int:unit_id>/risks/new", "/staff/sam/units/{team_a}/risks/new", managers(200)),
    Case("POST", "/staff/sam/units/<int:unit_id>/risks/new", "/staff/sam/units/{team_a}/risks/new", managers(400),
         {"description": ""}),
    Case("GET", "/staff/sam/risks/<int:risk_id>", "/staff/sam/risks/{risk}", managers_and_safety_reps(200)),
    Case("POST", "/staff/sam/risks/<int:risk_id>", "/staff/sam/risks/{risk}", managers(400, 404), {"description": ""}),
    Case("GET", "/staff/sam/units/<int:unit_id>/actions/new", "/staff/sam/units/{team_a}/actions/new", managers(200)),
    Case("POST", "/staff/sam/units/<int:unit_id>/actions/new", "/staff/sam/units/{team_a}/actions/new",
         managers(400), {"activity": ""}),
    Case("GET", "/staff/sam/actions/<int:action_id>", "/staff/sam/actions/{action}", managers_and_safety_reps(200)),
    Case("POST", "/staff/sam/actions/<int:action_id>", "/staff/sam/actions/{action}", managers(400, 404),
         {"activity": ""}),
    Case("GET", "/staff/sam/units/<int:unit_id>/meetings/new", "/staff/sam/units/{team_a}/meetings/new",
         managers(200)),
    Case("POST", "/staff/sam/units/<int:unit_id>/meetings/new", "/staff/sam/units/{team_a}/meetings/new",
         managers(400), {"held_on": "yesterday"}),
    Case("GET", "/staff/sam/meetings/<int:meeting_id>", "/staff/sam/meetings/{meeting}",
         managers_and_safety_reps(200)),
    Case("POST", "/staff/sam/meetings/<int:meeting_id>", "/staff/sam/meetings/{meeting}", managers(400, 404),
         {"held_on": ""}),
    Case("GET", "/staff/sam/units/<int:unit_id>/feedback/new", "/staff/sam/units/{team_a}/feedback/new",
         managers(200)),
    Case("POST", "/staff/sam/units/<int:unit_id>/feedback/new", "/staff/sam/units/{team_a}/feedback/new",
         managers(400), {"heard": ""}),
    Case("GET", "/staff/sam/feedback/<int:feedback_id>", "/staff/sam/feedback/{feedback}",
         managers_and_safety_reps(200)),
    Case("POST", "/staff/sam/feedback/<int:feedback_id>", "/staff/sam/feedback/{feedback}", managers(400, 404),
         {"heard": ""}),
    Case("POST", "/staff/sam/feedback/<int:feedback_id>/publish", "/staff/sam/feedback/{feedback}/publish",
         managers(302), {"publish": "1"}),
    Case("GET", "/staff/sam/help", "/staff/sam/help", admins(200)),
    Case("POST", "/staff/sam/help", "/staff/sam/help", admins(400), {"body": "Text", "links": "javascript:x"}),
    Case("GET", "/staff/sam/units/<int:unit_id>/help", "/staff/sam/units/{team_a}/help", managers(200)),
    Case("POST", "/staff/sam/units/<int:unit_id>/help", "/staff/sam/units/{team_a}/help", managers(400),
         {"body": "Text", "links": "javascript:x"}),
    # The safety desk: a 6:6a request for Team A is seen by its safety representative and the managers above it;
    # anyone else, administrators included, is told it does not exist.
    Case("GET", "/staff/safety/", "/staff/safety/", managers_and_safety_reps(200)),
    Case("GET", "/staff/safety/requests/new", "/staff/safety/requests/new", SAFETY_REP_ONLY(200)),
    Case("POST", "/staff/safety/requests/new", "/staff/safety/requests/new", SAFETY_REP_ONLY(400)),
    Case("GET", "/staff/safety/requests/<int:request_id>", "/staff/safety/requests/{safety_request}",
         DESK(200, 200)),
    # The manager confirms; the safety representative may not confirm for the employer.
    Case("POST", "/staff/safety/requests/<int:request_id>/confirm", "/staff/safety/requests/{safety_request}/confirm",
         DESK(302, 403)),
    Case("POST", "/staff/safety/requests/<int:request_id>/answer", "/staff/safety/requests/{safety_request}/answer",
         DESK(400, 400), {"answer-answer": ""}),
    Case("POST", "/staff/safety/requests/<int:request_id>/note", "/staff/safety/requests/{safety_request}/note",
         DESK(400, 400), {"note-note": ""}),
    Case("POST", "/staff/safety/requests/<int:request_id>/attachments",
         "/staff/safety/requests/{safety_request}/attachments", DESK(400, 400)),
    # Only the safety representative closes a request.
    Case("POST", "/staff/safety/requests/<int:request_id>/close", "/staff/safety/requests/{safety_request}/close",
         DESK(403, 302)),
    Case("GET", "/staff/safety/requests/<int:request_id>/attachments/<int:attachment_id>",
         "/staff/safety/requests/{safety_request}/attachments/{attachment}", DESK(200, 200)),
    Case("GET", "/staff/safety/requests/<int:request_id>/request.pdf",
         "/staff/safety/requests/{safety_request}/request.pdf", DESK(200, 200)),
    Case("POST", "/staff/safety/follow-ups", "/staff/safety/follow-ups",
         {"anonymous": LOGIN, "employee": 403, "manager": 400, "safety_rep": 400, "admin": 400}),
    Case("GET", "/staff/safety/follow-ups/<int:follow_up_id>", "/staff/safety/follow-ups/{follow_up}", DESK(200, 200)),
    Case("POST", "/staff/safety/follow-ups/<int:follow_up_id>", "/staff/safety/follow-ups/{follow_up}",
         DESK(302, 302)),
    Case("POST", "/staff/safety/follow-ups/<int:follow_up_id>/sign", "/staff/safety/follow-ups/{follow_up}/sign",
         DESK(403, 403), {"side": "nobody"}),
    # The report is the safety representative's own, for their safety area.
    Case("GET", "/staff/safety/report", "/staff/safety/report", SAFETY_REP_ONLY(200)),
    Case("GET", "/staff/safety/report.<any(pdf, xlsx, csv):fmt>", "/staff/safety/report.csv", SAFETY_REP_ONLY(200)),
]


def staff_routes(app: Flask) -> set[str]:
    return {f"{method} {rule.rule}" for rule in app.url_map.iter_rules() if rule.rule.startswith(STAFF_PREFIX)
            for method in rule.methods or () if method not in {"HEAD", "OPTIONS"}}


def test_every_staff_route_is_in_the_matrix(app: Flask) -> None:
    in_matrix = [case.id for case in MATRIX]
    assert len(in_matrix) == len(set(in_matrix)), "a route is in the matrix twice"
    routes = staff_routes(app)
    assert routes - set(in_matrix) == set(), "staff routes without an access rule in the matrix"
    assert set(in_matrix) - routes == set(), "matrix entries for routes that no longer exist"


def test_the_matrix_check_notices_a_new_staff_route(app: Flask) -> None:
    app.add_url_rule("/staff/reports", "reports", lambda: "")
    assert staff_routes(app) - {case.id for case in MATRIX} == {"GET /staff/reports"}


def make_ids(app: Flask, session: Session, org: Org) -> Ids:
    from pulse.services import auth as auth_service
    from pulse.services import orgimport

    with app.app_context():
        from pulse.common.context import key
        from pulse.domain.crypto import KeyPurpose

        created = auth_service.request_password_reset(session, key(KeyPurpose.TOKEN_HASH), key(KeyPurpose.RATE_LIMIT),
                                                      email=org.employee.email, valid_minutes=60)
    assert created is not None
    units_csv, people_csv = orgimport.export_files(session)
    pending = OrgImport(token="t" * 43, created_by=org.admin.id, units_filename="units.csv",
                        people_filename="people.csv", units_csv=units_csv, people_csv=people_csv)
    session.add(pending)
    session.commit()
    rounds = make_rounds(app, session, org)
    return Ids(team_a=org.team_a.id, person=org.employee.id, reset_token=created[1], import_token=pending.token,
               **rounds, **make_sam_records(session, org, rounds["release"]), **make_desk(session, org))


def make_desk(session: Session, org: Org) -> dict[str, Any]:
    """A 6:6a request for Team A with one file, and Team A's annual follow-up."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from pulse.services import safety

    now = dt.datetime.now(dt.UTC)
    request = safety.register(session, org.safety, unit_id=org.team_a.id, kind="measure", title="Skrivbord",
                              reasons="Ont i nacken.", reply_by=now.date() + dt.timedelta(days=10),
                              uploads=[safety.Upload("bild.png", b"\x89PNG\r\n\x1a\n" + bytes(16))], now=now,
                              tz=ZoneInfo("Europe/Stockholm"))
    follow_up = safety.start_follow_up(session, org.manager, org.team_a.id, now.year, now=now)
    session.commit()
    return {"safety_request": request.id, "attachment": request.attachments[0].id, "follow_up": follow_up.id}


def make_sam_records(session: Session, org: Org, release: int) -> dict[str, int]:
    """A risk, an action, an APT meeting and a feedback draft of team A."""
    import datetime as dt

    from pulse.services import sam
    from pulse.services.org import Scope

    admin, today = Scope(True, frozenset()), dt.date(2026, 12, 1)
    risk = sam.create_risk(session, org.team_a.id, sam.RiskInput(
        "Stress före helgerna", "workload", False, "Maja Chef", "", True, today), scope=admin, by=org.manager)
    meeting = sam.create_meeting(session, org.team_a.id, sam.MeetingInput(today, "Protokoll", release), scope=admin,
                                 by=org.manager)
    action = sam.create_action(session, org.team_a.id, sam.ActionInput(
        "Ses över bemanningen", "", "Enhetschef", org.manager.id, today, today + dt.timedelta(days=30),
        risk_id=risk.id, meeting_id=meeting.id), scope=admin, by=org.manager)
    feedback = sam.create_feedback(session, org.team_a.id, sam.FeedbackInput(release, "Ni sa"), scope=admin,
                                   by=org.manager)
    session.commit()
    return {"risk": risk.id, "action": action.id, "meeting": meeting.id, "feedback": feedback.id}


def make_rounds(app: Flask, session: Session, org: Org) -> dict[str, Any]:
    """A survey of the department with a closed, released round (with comments) and an open one."""
    from sqlalchemy import select

    from pulse import scheduler
    from pulse.models import ApiToken, Comment, Release
    from pulse.services import answers as answer_service
    from pulse.services import apitokens
    from tests.factories import make_person
    from tests.rounds import keys, make_survey, open_with_credentials

    # Groups of at least k = 3 everywhere, so every signed-in role is invited (nobody is left out as too few).
    for i in range(4):
        make_person(session, f"member{i}@example.org", unit=org.team_a, password=None)
    for i in range(2):
        make_person(session, f"colleague{i}@example.org", unit=org.team_b, password=None)
        make_person(session, f"staff{i}@example.org", unit=org.dept, password=None)
    session.commit()
    survey = make_survey(session, [org.dept])
    closed = open_with_credentials(session, app, survey)
    for link, _ in closed.credentials.values():
        answer_service.submit(session, keys(app).token, link, {"OSA-WL1": 3}, "En kommentar.",
                              now=closed.round.opened_at)
    session.commit()
    with app.app_context():
        scheduler.close_round(session, closed.round, keys(app), now=closed.round.closes_at)
    session.commit()
    import datetime as dt

    opened = open_with_credentials(session, app, survey, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    with app.app_context():
        from pulse.common.context import key
        from pulse.domain.crypto import KeyPurpose

        token, _ = apitokens.create_token(session, key(KeyPurpose.TOKEN_HASH), org.admin, "matrix")
    session.commit()
    comment = session.scalar(select(Comment.id).where(Comment.home_unit_id.is_not(None)).limit(1))
    assert comment is not None, "no comment was placed"
    with app.app_context():
        from pulse.common.context import box_keys
        from pulse.services import box as box_service

        item, _ = box_service.write(session, box_keys(), unit_id=org.team_a.id, category="other", text="Hej",
                                    k=3, today=dt.date(2026, 11, 24))
        item.status = "acknowledged"
    session.commit()
    return {"survey": survey.id, "open_round": opened.round.id, "closed_round": closed.round.id,
            "release": session.scalar(select(Release.id).limit(1)), "comment": comment,
            "token": session.scalar(select(ApiToken.id)), "box_item": item.id, "box_message": item.messages[0].id}


def observe(client: FlaskClient, case: Case, url: str) -> int | str:
    response = client.open(url, method=case.method, data=case.data)
    if response.status_code == 302:
        location = response.headers["Location"]
        # The way back after signing in leads to the page that was asked for.
        if location.startswith("/staff/login?next=") and url.split("?")[0] in unquote(location):
            return LOGIN
    if response.status_code == 403:
        # The refusal says nothing about what is behind it.
        assert "Exempelstad" not in response.get_data(as_text=True)
    return response.status_code


@pytest.mark.parametrize("case", MATRIX, ids=lambda case: case.id)
def test_access(case: Case, app: Flask, session: Session, org: Org) -> None:
    url = case.url.format(**vars(make_ids(app, session, org)))
    observed = {}
    # Admin last: its POSTs may use up the shared fixtures (the pending import), the refusals before it never do.
    for role in ROLES:
        client = app.test_client()
        if role != "anonymous":
            sign_in(client, org.emails[role])
        observed[role] = observe(client, case, url)
    assert observed == case.expected


def main_content(html: str) -> str:
    match = re.search(r"<main\b.*?</main>", html, re.S)
    assert match, html[:500]
    return match.group(0)


SCOPE = {
    # role: (units inside the scope, units outside it)
    "manager": (("team_a",), ("root", "dept", "team_b", "other")),
    "safety_rep": (("dept", "team_a", "team_b"), ("root", "other")),
}


@pytest.mark.parametrize("role", SCOPE)
def test_units_outside_the_scope_look_like_units_that_do_not_exist(role: str, client: FlaskClient,
                                                                   org: Org) -> None:
    inside, outside = SCOPE[role]
    sign_in(client, org.emails[role])
    for name in inside:
        assert client.get(f"/staff/units/{getattr(org, name).id}").status_code == 200, name
    missing = client.get("/staff/units/999999", headers={"Accept-Language": "en"})
    assert missing.status_code == 404
    for name in outside:
        response = client.get(f"/staff/units/{getattr(org, name).id}", headers={"Accept-Language": "en"})
        assert response.status_code == 404, name
        assert main_content(response.get_data(as_text=True)) == main_content(missing.get_data(as_text=True))
        assert getattr(org, name).name not in response.get_data(as_text=True)


def test_inactive_units_below_a_scope_are_in_it(client: FlaskClient, org: Org, session: Session) -> None:
    closed = make_unit(session, "closed", "Nedlagd enhet", org.team_a, active=False)
    session.commit()
    sign_in(client, org.emails["manager"])
    assert client.get(f"/staff/units/{closed.id}").status_code == 200


def test_unit_list_shows_only_the_scope(client: FlaskClient, org: Org) -> None:
    sign_in(client, org.emails["manager"])
    page = client.get("/staff/units").get_data(as_text=True)
    assert org.team_a.name in page
    for outside in (org.root, org.dept, org.team_b, org.other):
        assert f"/staff/units/{outside.id}\"" not in page
        assert outside.name not in page


def test_a_person_who_leaves_loses_access_at_once(client: FlaskClient, org: Org, session: Session) -> None:
    from pulse.models import PersonStatus

    sign_in(client, org.emails["manager"])
    assert client.get("/staff/units").status_code == 200
    org.manager.status = PersonStatus.LEFT
    session.commit()
    response = client.get("/staff/units")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")


def test_losing_a_role_takes_effect_on_the_next_request(client: FlaskClient, org: Org, session: Session) -> None:
    sign_in(client, org.emails["admin"])
    assert client.get("/staff/admin/units").status_code == 200
    org.admin.is_admin = False
    session.commit()
    assert client.get("/staff/admin/units").status_code == 403
