"""The demo organisation loads through the real import path and matches the seed report's unit."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pulse import demo
from pulse.models import Management, Person, PersonStatus, SafetyAreaUnit, Unit
from pulse.services.org import load_tree


def test_demo_is_deterministic() -> None:
    first, second = demo.build_demo(), demo.build_demo()
    assert [p.email for p in first.people] == [p.email for p in second.people]


def test_demo_loads_and_describes_the_citizen_service_unit(runner: FlaskCliRunner, session: Session,
                                                           app: Flask) -> None:
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert demo.DEMO_PASSWORD in result.output
    unit = session.scalar(select(Unit).where(Unit.name == "Enheten för medborgarservice"))
    assert unit is not None
    offices = [child for child in unit.children]
    assert len(offices) == 3
    office_ids = {o.id for o in offices}
    staff = session.scalar(select(func.count()).select_from(Person).where(Person.unit_id.in_(office_ids)))
    assert 36 <= staff <= 42
    for office in offices:
        assert session.scalar(select(func.count()).select_from(Management).where(Management.unit_id == office.id)) == 1
    reps = set(session.scalars(select(SafetyAreaUnit.person_id).where(SafetyAreaUnit.unit_id.in_(office_ids))))
    assert len(reps) == 2
    # The unit sits inside a larger administration.
    tree = load_tree(session)
    assert len(tree.ancestors(unit.id)) >= 2
    assert session.scalar(select(func.count()).select_from(Person).where(Person.status == PersonStatus.ON_LEAVE)) >= 2


def test_demo_sign_ins_work(runner: FlaskCliRunner, app: Flask) -> None:
    runner.invoke(args=["demo"])
    client = app.test_client()
    for _, email in demo.build_demo().accounts:
        response = client.post("/staff/login", data={"email": email, "password": demo.DEMO_PASSWORD})
        assert response.status_code == 302, email
        client.post("/staff/logout")


def test_demo_if_empty_leaves_existing_data_alone(runner: FlaskCliRunner, session: Session) -> None:
    runner.invoke(args=["demo"])
    before = session.scalar(select(func.count()).select_from(Person))
    session.rollback()
    result = runner.invoke(args=["demo", "--if-empty"])
    assert result.exit_code == 0 and "was not loaded" in result.output
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 1 and "already has people" in result.output
    assert session.scalar(select(func.count()).select_from(Person)) == before


def test_demo_has_history_and_an_open_round(runner: FlaskCliRunner, session: Session, app: Flask) -> None:
    from pulse.models import Response, Round

    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    rounds = list(session.scalars(select(Round).order_by(Round.number)))
    assert [r.status for r in rounds] == ["closed"] * 6 + ["open"]
    assert all(r.answers and r.answers > 0 for r in rounds[:-1])
    assert session.scalar(select(func.count()).select_from(Response)) == sum(r.answers or 0 for r in rounds)
    outbox = list(app.config["PULSE"].outbox_dir.glob("*.eml"))
    assert len(outbox) == rounds[-1].invited > 0


def test_demo_has_complaint_box_items_in_every_state(runner: FlaskCliRunner, session: Session, app: Flask) -> None:
    from pulse.models import BoxItem
    from pulse.services import box as box_service

    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    items = list(session.scalars(select(BoxItem)))
    assert sorted(i.status for i in items) == ["acknowledged", "answered", "closed", "received", "received"]
    assert all(i.author_id is None for i in items)
    today = max(i.received_on for i in items)
    assert sum(box_service.overdue(i, today) is not None for i in items) == 1
    # The main safety representative covers what no safety area does: no unit is left without one.
    settings = box_service.settings(session)
    assert settings.main_safety_rep is not None and settings.main_safety_rep.email in result.output


def test_demo_shows_the_sam_loop(runner: FlaskCliRunner, session: Session, app: Flask) -> None:
    """Risks, an APT with decisions, actions (one overdue, one measured), feedback employees see, the help text."""
    import datetime as dt

    from pulse.models import Action, AptMeeting, Risk, Unit
    from pulse.services import sam
    from pulse.services.org import Scope

    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    rinkeby = session.scalars(select(Unit).where(Unit.key == "mbk-rinkeby")).one()
    assert session.scalar(select(func.count()).select_from(Risk)) == 3
    assert session.scalar(select(func.count()).select_from(AptMeeting)) == 2
    today = dt.datetime.now(dt.UTC).date()
    attention = sam.needs_attention(session, [rinkeby.id], today)
    assert [a.activity[:11] for a in attention.overdue] == ["Larmknapp i"]
    measured = session.scalars(select(Action).where(Action.question_code == "OSA-SP1")).one()
    effect = sam.effect(session, measured, Scope(True, frozenset()))
    assert effect is not None and effect.before is not None and effect.after is not None
    seen = sam.feedback_for(session, rinkeby.id)
    assert seen is not None and len(seen.actions) == 2
    assert sam.help_for(session, rinkeby.id) is not None
    # The open round's invitations to Rinkeby carry the feedback.
    import email
    import email.policy

    from pulse.models import Person

    in_rinkeby = set(session.scalars(select(Person.email).where(Person.unit_id == rinkeby.id)))
    carried = {}
    for path in app.config["PULSE"].outbox_dir.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        carried[message["To"]] = "svårt att ta upp problem" in str(body.get_content())  # type: ignore[union-attr]
    assert any(carried[address] for address in in_rinkeby if address in carried)
    assert not any(flag for address, flag in carried.items() if address not in in_rinkeby)
