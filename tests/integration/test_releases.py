"""Releases: computed at close, protected, audited, frozen, and versioned together with earlier ones."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from pulse import disclosure
from pulse.models import Comment, Release, ReleaseCell, Response, Round
from pulse.services import answers as answer_service
from pulse.services import scheduler
from pulse.services.org import Scope
from pulse.services.releases import ReleaseError, compute_release, release_tree
from pulse.suppression import Cell, Counts, Kind, audit, cell_counts
from tests.factories import make_person, make_unit
from tests.rounds import MONDAY, keys, make_survey, open_with_credentials

EVERYTHING = Scope(True, frozenset())


def build(session: Session, app: Flask, sizes: dict[str, int], answer_share: float = 1.0, comment_every: int = 0):  # type: ignore[no-untyped-def]
    """A department with teams of the given sizes; everyone answers OSA-WL1 with a value by team."""
    root = make_unit(session, "root", "Kommun")
    dept = make_unit(session, "dept", "Avdelning", root)
    teams = {}
    for name, size in sizes.items():
        team = make_unit(session, name, name, dept)
        teams[name] = team
        for i in range(size):
            make_person(session, f"{name}{i}@example.org", unit=team, password=None)
    make_person(session, "boss@example.org", unit=dept, password=None, manages=[dept])
    session.commit()
    survey = make_survey(session, [dept], min_group_size=3, min_dist_size=4, min_comment_size=4)
    opened = open_with_credentials(session, app, survey)
    for n, (email, (link, _)) in enumerate(sorted(opened.credentials.items())):
        if email == "boss@example.org" or (n % 10) >= answer_share * 10:
            continue
        team = email.split("@")[0].rstrip("0123456789")
        comment = f"kommentar {email}" if comment_every and n % comment_every == 0 else None
        answer_service.submit(session, keys(app).token, link, {"OSA-WL1": 2 + len(team) % 3, "OSA-VI1": 0},
                              comment, now=MONDAY)
    session.commit()
    rnd = session.get_one(Round, opened.round.id)
    with app.app_context():
        scheduler.close_round(session, rnd, keys(app), now=rnd.closes_at)
    session.commit()
    return rnd, dept, teams


def test_closing_creates_a_protected_audited_release(session: Session, app: Flask) -> None:
    rnd, dept, teams = build(session, app, {"alfa": 6, "beta": 2, "gamma": 5})
    release = session.scalar(select(Release).where(Release.round_id == rnd.id))
    assert release is not None and release.version == 1
    record = json.loads(release.audit)
    assert record["passed"] is True and record["thresholds"]["k"] == 3
    cells = {(c.unit_id, c.kind): c for c in session.scalars(select(ReleaseCell).where(
        ReleaseCell.release_id == release.id))}
    # beta (2 answers) is hidden, and with it at least one more cell in the department's equation.
    assert not cells[(teams["beta"].id, "total")].published
    assert cells[(teams["beta"].id, "total")].respondents is None
    assert cells[(teams["beta"].id, "total")].stats == "{}"
    # The stored release passes the audit on its own.
    tree = release_tree(session, rnd.id)
    direct = {u: Counts(0, 0) for u in tree.parents}
    for unit, answered, invited in session.execute(text(
            "SELECT unit_id, answered, invited FROM round_participation WHERE round_id = :r"), {"r": rnd.id}):
        direct[unit] = Counts(answered, invited)
    counts = cell_counts(tree, direct)
    published = {Cell(c.unit_id, Kind(c.kind)) for c in cells.values() if c.published}
    assert audit(tree, published, counts, 3) == []


def test_releases_are_frozen(session: Session, app: Flask) -> None:
    rnd, _, _ = build(session, app, {"alfa": 6, "beta": 6})
    with pytest.raises(Exception, match="frozen"):
        session.execute(update(Release).values(created_by="someone else"))
    session.rollback()
    with pytest.raises(Exception, match="frozen"):
        session.execute(text("UPDATE release_cell SET respondents = 99"))
    session.rollback()
    with pytest.raises(Exception, match="frozen"):
        session.execute(text("DELETE FROM release_cell"))
    session.rollback()


def test_a_manager_who_did_not_answer_cannot_be_spotted(session: Session, app: Flask) -> None:
    rnd, dept, teams = build(session, app, {"alfa": 6, "beta": 6, "gamma": 9})
    release = session.scalar(select(Release).where(Release.round_id == rnd.id))
    assert release is not None
    data = disclosure.load_release(session, release.id)
    # The manager counts in the unit above the department (its remainder: nobody answered of one invited), so
    # that total minus the department's would show it: one of them is hidden. The least-loss choice hides the top
    # total, whose parts are all shown, rather than a team (docs/ANONYMITY.md, "Complementary suppression").
    top = dept.parent_id
    assert top is not None
    remainder = data.remainder(top)
    assert remainder is not None and not remainder.published
    assert not (data.total(top).published and data.total(dept.id).published)
    assert all(data.total(t.id).published for t in teams.values())


def test_a_new_version_keeps_what_was_published(session: Session, app: Flask) -> None:
    rnd, _, _ = build(session, app, {"alfa": 6, "beta": 2, "gamma": 5})
    first = session.scalar(select(Release).where(Release.round_id == rnd.id))
    assert first is not None
    second = compute_release(session, rnd, created_by="admin@example.org", now=rnd.closes_at)
    session.commit()
    assert second.version == 2
    assert json.loads(second.audit)["earlier_versions_included"] == 1
    assert session.scalar(select(func.count()).select_from(Release).where(Release.round_id == rnd.id)) == 2
    published = lambda rid: {(c.unit_id, c.kind) for c in session.scalars(  # noqa: E731
        select(ReleaseCell).where(ReleaseCell.release_id == rid, ReleaseCell.published.is_(True)))}
    assert published(first.id) <= published(second.id) | published(first.id)


def test_an_open_round_has_no_release(session: Session, app: Flask, org) -> None:  # type: ignore[no-untyped-def]
    opened = open_with_credentials(session, app, make_survey(session, [org.dept]))
    with pytest.raises(ReleaseError, match="not_closed"):
        compute_release(session, opened.round, created_by="x", now=MONDAY)


def test_small_item_cells_and_censored_means(session: Session, app: Flask) -> None:
    """A team above k but below k_dist shows a mean, but near a scale end only as a bound."""
    rnd, _, teams = build(session, app, {"alfa": 3, "beta": 3, "gamma": 8})
    release = session.scalar(select(Release).where(Release.round_id == rnd.id))
    assert release is not None
    data = disclosure.load_release(session, release.id)
    gamma = data.total(teams["gamma"].id).get("OSA-WL1")
    assert gamma.shown and gamma.dist is not None and gamma.sd is not None  # 8 ≥ k_dist = 4
    victim = data.total(teams["gamma"].id).get("OSA-VI1")
    assert victim.flag is False and victim.yes == 0.0


def test_comments_get_one_home_with_enough_people(session: Session, app: Flask) -> None:
    rnd, dept, teams = build(session, app, {"alfa": 6, "beta": 2, "gamma": 5}, comment_every=2)
    homes = dict(session.execute(select(Comment.unit_id, Comment.home_unit_id).where(
        Comment.round_id == rnd.id)).all())
    assert homes
    # alfa (6 ≥ 4) and gamma (5) keep their own comments. beta's two people find no group of at least 4 above
    # them (everyone else's comments are placed already), so theirs are never shown anywhere.
    for unit, home in session.execute(select(Comment.unit_id, Comment.home_unit_id)).all():
        if unit in (teams["alfa"].id, teams["gamma"].id):
            assert home == unit
        if unit == teams["beta"].id:
            assert home is None


def test_gate_hides_units_outside_scope(session: Session, app: Flask) -> None:
    # The manager who did not answer leaves the department's remainder at "0 of 1": the smallest team is hidden
    # with it so that nobody can work out that the manager did not answer; gamma stays visible.
    rnd, dept, teams = build(session, app, {"alfa": 6, "beta": 6, "gamma": 9})
    release = session.scalar(select(Release).where(Release.round_id == rnd.id))
    assert release is not None
    only_gamma = Scope(False, frozenset({teams["gamma"].id}))
    assert disclosure.unit_result(session, release.id, teams["gamma"].id, only_gamma).unit.published
    with pytest.raises(disclosure.NotVisibleError):
        disclosure.unit_result(session, release.id, teams["beta"].id, only_gamma)
    with pytest.raises(disclosure.NotVisibleError):
        disclosure.unit_result(session, release.id, 999_999, EVERYTHING)
    with pytest.raises(disclosure.NotVisibleError):
        disclosure.unit_result(session, 999_999, teams["alfa"].id, EVERYTHING)


def build_answers(session: Session, app: Flask, teams: dict[str, list[int | None]], k: int = 3, k_dist: int = 5):  # type: ignore[no-untyped-def]
    """Teams whose members answer OSA-WL1 with the given values (None = prefer not to say)."""
    root = make_unit(session, "root", "Kommun")
    dept = make_unit(session, "dept", "Avdelning", root)
    made = {}
    for name, values in teams.items():
        made[name] = make_unit(session, name, name, dept)
        for i in range(len(values)):
            make_person(session, f"{name}{i}@example.org", unit=made[name], password=None)
    session.commit()
    survey = make_survey(session, [dept], min_group_size=k, min_dist_size=k_dist, min_comment_size=k_dist)
    opened = open_with_credentials(session, app, survey)
    for name, values in teams.items():
        for i, value in enumerate(values):
            link, _ = opened.credentials[f"{name}{i}@example.org"]
            answer_service.submit(session, keys(app).token, link, {"OSA-WL1": value}, None, now=MONDAY)
    session.commit()
    rnd = session.get_one(Round, opened.round.id)
    with app.app_context():
        scheduler.close_round(session, rnd, keys(app), now=rnd.closes_at)
    session.commit()
    release = session.scalar(select(Release).where(Release.round_id == rnd.id))
    assert release is not None
    return disclosure.load_release(session, release.id), made


def test_item_level_small_cell(session: Session, app: Flask) -> None:
    """Six answered, but only two answered this question: the team is shown, this question is not."""
    data, teams = build_answers(session, app, {"alfa": [4, 5, None, None, None, None], "beta": [3] * 6,
                                               "gamma": [2] * 6})
    alfa = data.total(teams["alfa"].id)
    assert alfa.published and alfa.respondents == 6
    assert not alfa.get("OSA-WL1").shown
    # And it cannot be recovered from the department and the other teams either.
    dept = data.total(data.parents[teams["alfa"].id])  # type: ignore[index]
    others = [data.total(teams[n].id).get("OSA-WL1") for n in ("beta", "gamma")]
    assert not (dept.get("OSA-WL1").shown and all(f.shown for f in others))


def test_homogeneity_is_censored(session: Session, app: Flask) -> None:
    """Three people all answering 1: a mean of 1.0 would tell each one's answer, so it shows as a bound."""
    data, teams = build_answers(session, app, {"alfa": [1, 1, 1], "beta": [4, 3, 5, 4, 2], "gamma": [3, 4, 4]})
    alfa = data.total(teams["alfa"].id).get("OSA-WL1")
    assert alfa.shown
    assert alfa.mean is None and alfa.censor == "low" and alfa.dist is None and alfa.sd is None
    beta = data.total(teams["beta"].id).get("OSA-WL1")
    assert beta.dist is not None and beta.mean is not None  # at k_dist the distribution is shown


def test_live_results_do_not_exist(client_app_round):  # type: ignore[no-untyped-def]
    """Nothing is computed while a round is open: the release table is empty until it closes."""
    session, rnd = client_app_round
    assert session.scalar(select(func.count()).select_from(Release).where(Release.round_id == rnd.id)) == 0


@pytest.fixture
def client_app_round(session: Session, app: Flask, org):  # type: ignore[no-untyped-def]
    opened = open_with_credentials(session, app, make_survey(session, [org.dept]))
    link, _ = opened.credentials["employee@example.org"]
    answer_service.submit(session, keys(app).token, link, {"OSA-WL1": 3}, None, now=MONDAY)
    session.commit()
    return session, opened.round


def test_recompute_from_the_command_line_and_the_admin_page(session: Session, app: Flask) -> None:
    rnd, _, _ = build(session, app, {"alfa": 6, "beta": 6})
    runner = app.test_cli_runner()
    result = runner.invoke(args=["release", "recompute", str(rnd.id)])
    assert result.exit_code == 0 and "version 2" in result.output and "audit passed" in result.output
    assert runner.invoke(args=["release", "recompute", "999"]).exit_code == 1
    client = app.test_client()
    from tests.factories import make_person as person

    person(session, "root-admin@example.org", admin=True)
    session.commit()
    client.post("/staff/login", data={"email": "root-admin@example.org", "password": "correct horse battery staple"})
    assert client.post(f"/staff/admin/rounds/{rnd.id}/release").status_code == 302
    session.rollback()
    assert session.scalar(select(func.max(Release.version)).where(Release.round_id == rnd.id)) == 3


def test_raw_answers_are_deleted_after_the_retention_time(session: Session, app: Flask) -> None:
    import datetime as dt

    rnd, _, teams = build(session, app, {"alfa": 6, "beta": 6, "gamma": 7}, comment_every=2)
    comments = list(session.scalars(select(Comment).where(Comment.round_id == rnd.id)))
    assert comments and session.scalar(select(func.count()).select_from(Response)) > 0
    session.execute(update(Comment).where(Comment.id == comments[0].id).values(status="released"))
    session.commit()
    release = session.scalar(select(Release).where(Release.round_id == rnd.id))
    assert release is not None
    cells_before = session.scalar(select(func.count()).select_from(ReleaseCell))
    with app.app_context():
        early = scheduler.tick(app, now=release.created_at + dt.timedelta(days=29))
        assert early.purged == 0
        late = scheduler.tick(app, now=release.created_at + dt.timedelta(days=31))
    assert late.purged > 0
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Response)) == 0
    remaining = list(session.scalars(select(Comment.status).where(Comment.round_id == rnd.id)))
    assert remaining == ["released"]  # the released comment is part of the protected output
    assert session.scalar(select(func.count()).select_from(ReleaseCell)) == cells_before
    with pytest.raises(ReleaseError, match="purged"):
        compute_release(session, session.get_one(Round, rnd.id), created_by="x", now=release.created_at)
