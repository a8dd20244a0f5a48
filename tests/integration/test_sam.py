"""SAM records in the database: scope, validation, the measured effect from releases, what employees are shown,
and reminders claimed once."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pulse.common.db import get_database
from pulse.models import Action, ActionReminder, Person
from pulse.services import sam
from pulse.services.org import Scope
from tests.factories import Org, make_person
from tests.figures import release_rounds, values

TODAY = dt.date(2026, 12, 1)
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def risk_input(**changes: object) -> sam.RiskInput:
    data = dict(description="Hög arbetsbelastning inför jul", area="workload", serious=False,
                assessed_by="Maja Chef", assessed_with="Teamet på APT", safety_rep_involved=True,
                assessed_on=TODAY)
    return sam.RiskInput(**{**data, **changes})  # type: ignore[arg-type]


def action_input(**changes: object) -> sam.ActionInput:
    data = dict(activity="Gå igenom bemanningen", goal="Rimlig arbetsbelastning", owner_role="Enhetschef",
                owner_id=None, start_on=TODAY, due_on=TODAY + dt.timedelta(days=30))
    return sam.ActionInput(**{**data, **changes})  # type: ignore[arg-type]


def test_a_manager_writes_only_in_the_units_they_lead(session: Session, org: Org) -> None:
    scope = sam.edit_scope(session, org.manager)
    assert scope.allows(org.team_a.id) and not scope.allows(org.team_b.id) and not scope.allows(org.dept.id)
    risk = sam.create_risk(session, org.team_a.id, risk_input(), scope=scope, by=org.manager)
    assert risk.status == "open" and risk.source == "free"
    for unit in (org.team_b, org.dept, org.other):
        with pytest.raises(sam.NotFoundError):
            sam.create_risk(session, unit.id, risk_input(), scope=scope, by=org.manager)
    # The safety representative takes part but does not keep the employer's records.
    assert sam.edit_scope(session, org.safety).empty
    assert sam.edit_scope(session, org.admin).everything


def test_records_of_another_unit_look_like_records_that_do_not_exist(session: Session, org: Org) -> None:
    admin = Scope(True, frozenset())
    other_risk = sam.create_risk(session, org.team_b.id, risk_input(), scope=admin, by=org.admin)
    other_action = sam.create_action(session, org.team_b.id, action_input(), scope=admin, by=org.admin)
    session.commit()
    scope = sam.edit_scope(session, org.manager)
    for getter, record_id in ((sam.get_risk, other_risk.id), (sam.get_action, other_action.id),
                              (sam.get_risk, 999_999), (sam.get_action, 999_999)):
        with pytest.raises(sam.NotFoundError):
            getter(session, record_id, scope)
    with pytest.raises(sam.NotFoundError):
        sam.update_action(session, other_action.id, action_input(activity="Kapat"), scope=scope)
    session.rollback()
    assert session.get_one(Action, other_action.id).activity == "Gå igenom bemanningen"


@pytest.mark.parametrize(("changes", "field", "code"), [
    ({"description": "  "}, "description", "required"),
    ({"area": "astrology"}, "area", "invalid"),
    ({"status": "forgotten"}, "status", "invalid"),
    ({"assessed_by": ""}, "assessed_by", "required"),
    ({"description": "x" * 5001}, "description", "too_long"),
    ({"question_code": "OSA-WL1"}, "question_code", "invalid"),  # a question without the release that showed it
    ({"release_id": 12345}, "release_id", "invalid"),
])
def test_a_risk_that_cannot_be_saved_says_why(session: Session, org: Org, changes: dict[str, object], field: str,
                                              code: str) -> None:
    with pytest.raises(sam.SamError) as caught:
        sam.create_risk(session, org.team_a.id, risk_input(**changes), scope=Scope(True, frozenset()), by=None)
    assert (caught.value.field, caught.value.code) == (field, code)


@pytest.mark.parametrize(("changes", "field", "code"), [
    ({"due_on": TODAY - dt.timedelta(days=1)}, "due_on", "before_start"),
    ({"follow_up_on": TODAY - dt.timedelta(days=1)}, "follow_up_on", "before_start"),
    ({"status": "abandoned"}, "status", "invalid"),
    ({"owner_role": "", "owner_id": None}, "owner_role", "required"),
    ({"cost_sek": -5}, "cost_sek", "invalid"),
    ({"question_code": "NOPE-1"}, "question_code", "invalid"),
    ({"activity": ""}, "activity", "required"),
])
def test_an_action_that_cannot_be_saved_says_why(session: Session, org: Org, changes: dict[str, object],
                                                 field: str, code: str) -> None:
    with pytest.raises(sam.SamError) as caught:
        sam.create_action(session, org.team_a.id, action_input(**changes), scope=Scope(True, frozenset()), by=None)
    assert (caught.value.field, caught.value.code) == (field, code)


def test_an_owner_comes_from_the_unit_or_leads_it(session: Session, org: Org) -> None:
    choices = {p.id for p in sam.owner_choices(session, org.team_a.id)}
    assert org.employee.id in choices and org.manager.id in choices
    # Someone of another unit (here the safety representative of team B) cannot be made owner by id.
    assert org.safety.id not in choices
    with pytest.raises(sam.SamError) as caught:
        sam.create_action(session, org.team_a.id, action_input(owner_id=org.safety.id),
                          scope=sam.edit_scope(session, org.manager), by=org.manager)
    assert caught.value.field == "owner_id"


def test_a_risk_or_meeting_of_another_unit_cannot_be_linked(session: Session, org: Org) -> None:
    admin = Scope(True, frozenset())
    risk_b = sam.create_risk(session, org.team_b.id, risk_input(), scope=admin, by=None)
    dept_risk = sam.create_risk(session, org.dept.id, risk_input(), scope=admin, by=None)
    meeting_b = sam.create_meeting(session, org.team_b.id, sam.MeetingInput(TODAY, "Protokoll"), scope=admin, by=None)
    with pytest.raises(sam.SamError):
        sam.create_action(session, org.team_a.id, action_input(risk_id=risk_b.id), scope=admin, by=None)
    with pytest.raises(sam.SamError):
        sam.create_action(session, org.team_a.id, action_input(meeting_id=meeting_b.id), scope=admin, by=None)
    # A department's risk may be acted on by one of its teams.
    action = sam.create_action(session, org.team_a.id, action_input(risk_id=dept_risk.id), scope=admin, by=None)
    assert action.risk_id == dept_risk.id


def test_needs_attention_sorts_overdue_due_soon_and_follow_up(session: Session, org: Org) -> None:
    admin = Scope(True, frozenset())
    late = sam.create_action(session, org.team_a.id, action_input(
        start_on=TODAY - dt.timedelta(days=60), due_on=TODAY - dt.timedelta(days=1)), scope=admin, by=None)
    soon = sam.create_action(session, org.team_a.id, action_input(due_on=TODAY + dt.timedelta(days=3)),
                             scope=admin, by=None)
    sam.create_action(session, org.team_a.id, action_input(due_on=TODAY + dt.timedelta(days=60)), scope=admin,
                      by=None)
    follow = sam.create_action(session, org.team_a.id, action_input(
        start_on=TODAY - dt.timedelta(days=90), due_on=TODAY - dt.timedelta(days=30), status="done",
        follow_up_on=TODAY - dt.timedelta(days=2)), scope=admin, by=None)
    found = sam.needs_attention(session, [org.team_a.id], TODAY)
    assert [a.id for a in found.overdue] == [late.id]
    assert [a.id for a in found.due_soon] == [soon.id]
    assert [a.id for a in found.follow_up] == [follow.id]
    assert sam.needs_attention(session, [org.team_b.id], TODAY).empty


def test_feedback_employees_see_is_the_nearest_published_one(session: Session, app: Flask) -> None:
    made = release_rounds(session, app, {"alfa": 6, "beta": 6}, [{"alfa": [{"OSA-WL1": 4}] * 6}], k=3, k_dist=3)
    admin = Scope(True, frozenset())
    alfa, beta, dept = made.teams["alfa"], made.teams["beta"], made.dept
    assert sam.feedback_for(session, alfa.id) is None
    dept_feedback = sam.create_feedback(session, dept.id, sam.FeedbackInput(made.releases[0], "Avdelningen hörde"),
                                        scope=admin, by=None)
    shown = sam.create_action(session, alfa.id, action_input(), scope=admin, by=None)
    hidden = sam.create_action(session, alfa.id, action_input(activity="Intern sak"), scope=admin, by=None)
    alfa_feedback = sam.create_feedback(session, alfa.id, sam.FeedbackInput(
        made.releases[0], "Ni sa att tiden inte räcker", "Vi ser över bemanningen", (shown.id,)), scope=admin,
        by=None)
    # Drafts are never shown.
    assert sam.feedback_for(session, alfa.id) is None
    sam.publish_feedback(session, dept_feedback.id, scope=admin, now=NOW)
    assert sam.feedback_for(session, alfa.id).heard == "Avdelningen hörde"  # type: ignore[union-attr]
    sam.publish_feedback(session, alfa_feedback.id, scope=admin, now=NOW + dt.timedelta(hours=1))
    seen = sam.feedback_for(session, alfa.id)
    assert seen is not None and seen.heard == "Ni sa att tiden inte räcker" and seen.unit_name == "alfa"
    assert [a.activity for a in seen.actions] == ["Gå igenom bemanningen"]
    assert hidden.activity not in {a.activity for a in seen.actions}
    # Beta counts under the department: it sees the department's feedback, never alfa's.
    assert sam.feedback_for(session, beta.id).heard == "Avdelningen hörde"  # type: ignore[union-attr]
    # A newer one from the department: beta sees the newest, alfa still its own (the nearest unit wins, not the
    # newest date).
    newer = sam.create_feedback(session, dept.id, sam.FeedbackInput(made.releases[0], "Avdelningen hörde igen"),
                                scope=admin, by=None)
    sam.publish_feedback(session, newer.id, scope=admin, now=NOW + dt.timedelta(hours=2))
    assert sam.feedback_for(session, beta.id).heard == "Avdelningen hörde igen"  # type: ignore[union-attr]
    assert sam.feedback_for(session, alfa.id).heard == "Ni sa att tiden inte räcker"  # type: ignore[union-attr]
    # An action of another unit cannot be shown in alfa's feedback.
    beta_action = sam.create_action(session, beta.id, action_input(), scope=admin, by=None)
    with pytest.raises(sam.SamError):
        sam.update_feedback(session, alfa_feedback.id, sam.FeedbackInput(made.releases[0], "x", "", (beta_action.id,)),
                            scope=admin)


def test_feedback_cites_only_a_release_that_holds_the_unit(session: Session, app: Flask) -> None:
    made = release_rounds(session, app, {"alfa": 6}, [{"alfa": [{"OSA-WL1": 4}] * 6}], k=3, k_dist=3)
    stranger = make_person(session, "x@example.org", password=None)
    from tests.factories import make_unit

    elsewhere = make_unit(session, "elsewhere", "Annanstans")
    session.commit()
    from pulse import disclosure

    assert disclosure.releases_holding(session, made.teams["alfa"].id) == made.releases
    assert disclosure.releases_holding(session, elsewhere.id) == []
    assert not disclosure.holds_unit(session, made.releases[0], elsewhere.id)
    with pytest.raises(sam.SamError) as caught:
        sam.create_feedback(session, elsewhere.id, sam.FeedbackInput(made.releases[0], "Hört"),
                            scope=Scope(True, frozenset()), by=stranger)
    assert caught.value.field == "release_id"


def test_the_effect_is_read_from_published_figures_with_its_uncertainty(session: Session, app: Flask) -> None:
    first = [{"OSA-WL1": v} for v in values({2: 8, 3: 4})]
    small_change = [{"OSA-WL1": v} for v in values({2: 7, 3: 5})]
    clear_change = [{"OSA-WL1": v} for v in values({4: 8, 5: 4})]
    made = release_rounds(session, app, {"alfa": 12}, [{"alfa": first}, {"alfa": small_change},
                                                       {"alfa": clear_change}], k=5, k_dist=5)
    admin = Scope(True, frozenset())
    alfa = made.teams["alfa"]
    from pulse import disclosure

    closed = [disclosure.release_info(session, r).closed_at.date() for r in made.releases]
    action = sam.create_action(session, alfa.id, action_input(
        question_code="OSA-WL1", start_on=closed[0] + dt.timedelta(days=1), due_on=closed[1]), scope=admin, by=None)
    session.commit()
    effect = sam.effect(session, action, admin)
    assert effect is not None and len(effect.points) == 3
    assert effect.before is not None and effect.before.release.id == made.releases[0]
    assert effect.after is not None and effect.after.release.id == made.releases[2]
    assert effect.change is not None and effect.change.clear and effect.change.difference == pytest.approx(2.0, abs=0.1)
    # Measured against the middle round only, the change is within the noise: "no clear change".
    action.start_on = closed[0] + dt.timedelta(days=1)
    middle = disclosure.compare(effect.points[0].figures, effect.points[1].figures)
    assert middle is not None and not middle.clear
    # Outside the viewer's scope the effect is not read at all.
    assert sam.effect(session, action, Scope(False, frozenset({made.teams["alfa"].id + 1000}))) is None


def test_help_text_comes_from_the_nearest_unit_or_the_organisation(session: Session, org: Org) -> None:
    admin = Scope(True, frozenset())
    assert sam.help_for(session, org.team_a.id) is None
    sam.set_help(session, None, "Kontakta HR", "HR | https://hr.example.se", scope=admin)
    assert sam.help_for(session, org.team_a.id) == sam.HelpView("Kontakta HR", (("HR", "https://hr.example.se"),))
    manager = sam.edit_scope(session, org.manager)
    sam.set_help(session, org.team_a.id, "Ring skyddsombudet Sam", "", scope=manager)
    assert sam.help_for(session, org.team_a.id).body == "Ring skyddsombudet Sam"  # type: ignore[union-attr]
    assert sam.help_for(session, org.team_b.id).body == "Kontakta HR"  # type: ignore[union-attr]
    # Only an administrator writes the organisation's text; a manager only their units'.
    with pytest.raises(sam.NotFoundError):
        sam.set_help(session, None, "Ändrat", "", scope=manager)
    with pytest.raises(sam.NotFoundError):
        sam.set_help(session, org.team_b.id, "Ändrat", "", scope=manager)
    with pytest.raises(sam.SamError):
        sam.set_help(session, org.team_a.id, "Text", "Klicka | javascript:alert(1)", scope=manager)
    # An empty text removes the unit's own, and the organisation's applies again.
    sam.set_help(session, org.team_a.id, "", "", scope=manager)
    assert sam.help_for(session, org.team_a.id).body == "Kontakta HR"  # type: ignore[union-attr]


def test_a_reminder_is_claimed_once_even_by_two_processes(session: Session, org: Org, app: Flask) -> None:
    admin = Scope(True, frozenset())
    action = sam.create_action(session, org.team_a.id, action_input(
        owner_id=org.employee.id, start_on=TODAY - dt.timedelta(days=40), due_on=TODAY - dt.timedelta(days=1)),
        scope=admin, by=None)
    session.commit()
    assert sam.due_reminders(session, TODAY) == [(action.id, "overdue", action.due_on)]
    session.commit()
    database = get_database(app)
    with database.session(write=True) as first:
        sam.claim_reminder(first, action.id, "overdue", action.due_on, now=NOW)
        first.commit()
    with database.session(write=True) as second, pytest.raises(IntegrityError):
        sam.claim_reminder(second, action.id, "overdue", action.due_on, now=NOW)
    session.commit()  # end the read transaction: on SQLite it would keep seeing the moment before the claims
    assert session.scalar(select(func.count()).select_from(ActionReminder)) == 1
    assert sam.due_reminders(session, TODAY) == []
    claim = session.scalars(select(ActionReminder)).one()
    found = sam.reminder(session, claim)
    # The owner and the unit's safety representative (whose area, the department, holds team A).
    assert dict(found.recipients) == {org.employee.email: "sv", org.safety.email: "sv"}


def test_people_who_have_left_get_no_reminders(session: Session, org: Org) -> None:
    from pulse.models import PersonStatus

    admin = Scope(True, frozenset())
    action = sam.create_action(session, org.team_a.id, action_input(owner_id=org.employee.id), scope=admin, by=None)
    session.get_one(Person, org.employee.id).status = PersonStatus.LEFT
    session.flush()
    claim = sam.claim_reminder(session, action.id, "due_soon", action.due_on, now=NOW)
    assert dict(sam.reminder(session, claim).recipients) == {org.safety.email: "sv"}


def test_today_is_the_organisation_s_day() -> None:
    """Late evening UTC is already tomorrow in Stockholm: "overdue" on the pages and in reminders agree with it."""
    late = dt.datetime(2026, 12, 1, 23, 30, tzinfo=dt.UTC)
    assert sam.local_today(late, "Europe/Stockholm") == dt.date(2026, 12, 2)
    assert sam.local_today(late, "UTC") == dt.date(2026, 12, 1)
