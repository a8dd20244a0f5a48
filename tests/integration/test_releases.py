"""Releases: computed at close, protected, audited, frozen, and versioned together with earlier ones."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from flask import Flask
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from pulse import disclosure, scheduler
from pulse.domain.stats import change
from pulse.domain.suppression import Cell, Counts, Kind, Tree, audit, cell_counts
from pulse.models import Comment, Release, ReleaseCell, Response, Round
from pulse.services import answers as answer_service
from pulse.services.org import Scope
from pulse.services.releases import ReleaseError, compute_release, release_tree
from tests.factories import make_person, make_unit
from tests.figures import membership_counts, published_cells, release_rounds
from tests.figures import values as answers_of
from tests.rounds import MONDAY, keys, make_survey, open_with_credentials
from tests.unit.test_suppression import atom_vector, atoms, brute_force_violations, in_row_space

EVERYTHING = Scope(True, frozenset())


def build(session: Session, app: Flask, sizes: dict[str, int | tuple[int, int]], answer_share: float = 1.0,  # type: ignore[no-untyped-def]
          comment_every: int = 0):
    """A department with teams of the given sizes (or (invited, answering)); everyone answers OSA-WL1 with a value
    by team. The department's manager counts above it, alone, so is not invited (nobody's answer can be counted in
    a group of fewer than k)."""
    root = make_unit(session, "root", "Kommun")
    dept = make_unit(session, "dept", "Avdelning", root)
    teams = {}
    silent: set[str] = set()
    for name, size in sizes.items():
        team = make_unit(session, name, name, dept)
        teams[name] = team
        invited, answering = size if isinstance(size, tuple) else (size, size)
        for i in range(invited):
            make_person(session, f"{name}{i}@example.org", unit=team, password=None)
            if i >= answering:
                silent.add(f"{name}{i}@example.org")
    make_person(session, "boss@example.org", unit=dept, password=None, manages=[dept])
    session.commit()
    survey = make_survey(session, [dept], min_group_size=3, min_dist_size=4, min_comment_size=4)
    opened = open_with_credentials(session, app, survey)
    for n, (email, (link, _)) in enumerate(sorted(opened.credentials.items())):
        if email in silent or (n % 10) >= answer_share * 10:
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
    rnd, dept, teams = build(session, app, {"alfa": 6, "beta": (4, 2), "gamma": 5})
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


def test_a_manager_alone_above_their_unit_is_not_invited_so_nothing_is_hidden_for_them(session: Session,
                                                                                          app: Flask) -> None:
    """The department's manager would count alone in the unit above: rather than invite them into a group of one
    (and hide a team to protect their "0 or 1"), they are not invited, and every team is published."""
    rnd, dept, teams = build(session, app, {"alfa": 6, "beta": 6, "gamma": 9})
    assert (rnd.invited, rnd.excluded) == (21, 1)
    release = session.scalar(select(Release).where(Release.round_id == rnd.id))
    assert release is not None
    data = disclosure.load_release(session, release.id)
    assert all(data.total(u).published for u in (dept.id, teams["alfa"].id, teams["beta"].id, teams["gamma"].id))


def test_a_new_version_keeps_what_was_published(session: Session, app: Flask) -> None:
    rnd, _, _ = build(session, app, {"alfa": 6, "beta": (4, 2), "gamma": 5})
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
    assert gamma.exact and gamma.dist is not None and gamma.sd is not None  # 8 ≥ k_dist = 4
    victim = data.total(teams["gamma"].id).get("OSA-VI1")
    assert victim.exact and victim.flag is False and victim.yes == 0  # 8 ≥ k_dist: shown


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
    assert alfa.get("OSA-WL1").hidden
    # And it cannot be recovered from the department and the other teams either.
    dept = data.total(data.parents[teams["alfa"].id])  # type: ignore[index]
    others = [data.total(teams[n].id).get("OSA-WL1") for n in ("beta", "gamma")]
    assert not (dept.get("OSA-WL1").exact and all(f.exact for f in others))


def test_homogeneity_is_censored(session: Session, app: Flask) -> None:
    """Three people all answering 1: a mean of 1.0 would tell each one's answer, so it shows as a bound."""
    data, teams = build_answers(session, app, {"alfa": [1, 1, 1], "beta": [4, 3, 5, 4, 2], "gamma": [3, 4, 4]})
    alfa = data.total(teams["alfa"].id).get("OSA-WL1")
    assert alfa.bound  # only the bound: no answered count either (docs/ANONYMITY.md, "Censored figures")
    assert alfa.n is None and alfa.mean is None and alfa.censor == "low" and alfa.dist is None and alfa.sd is None
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


# --- the attacker with published figures (docs/ANONYMITY.md, "Censored figures", "Yes/no items and flags") -------


def attacker_rows(tree: Tree, known: set[Cell], counts: dict[Cell, Counts]) -> tuple[list[Cell], list[list[Fraction]]]:
    """The attacker's equations in atom space: one row per cell whose sum is published exactly, and one per atom
    that is known to be empty (nobody invited)."""
    columns = atoms(tree)
    empty = [c for c in columns if counts[c].invited == 0]
    return columns, [atom_vector(tree, c, columns) for c in [*sorted(known), *empty]]


def test_a_censored_mean_cannot_be_recovered_from_its_parent_and_sibling(session: Session, app: Flask) -> None:
    """Alfa's three answers are all 1, so its mean shows as "≤ 1,5". Were the department and beta published
    exactly, alfa's sum would be department sum − beta sum = 3: everyone's answer."""
    wl = "OSA-WL1"
    made = release_rounds(session, app, {"alfa": 3, "beta": 6}, [{
        "alfa": [{wl: 1}] * 3, "beta": [{wl: v} for v in (4, 3, 5, 4, 2, 3)]}], k=3, k_dist=5)
    data = disclosure.load_release(session, made.releases[0])
    tree = Tree(data.parents)
    alfa, beta = made.teams["alfa"].id, made.teams["beta"].id
    counts = membership_counts(session, data, tree, {alfa: 3, beta: 6})
    exact = published_cells(data, tree, wl)
    columns, rows = attacker_rows(tree, exact, counts)
    # No combination of published sums gives alfa's sum (nor any hidden cell's, nor a group smaller than k).
    assert not in_row_space(rows, atom_vector(tree, Cell(alfa, Kind.TOTAL), columns))
    assert brute_force_violations(tree, exact, counts, 3, all_groups=True) == []
    # Alfa shows its bound and nothing more.
    figures = data.total(alfa).get(wl)
    assert (figures.censor, figures.n, figures.mean, figures.dist) == ("low", None, None, None)


def test_yes_no_items_publish_nothing_below_k_dist(session: Session, app: Flask) -> None:
    """A "no 'yes' answers" below k_dist is an exact zero: alfa's and beta's three people all said no. And with
    the department's yes count published at k_dist, those zeros give the yes count of gamma and delta together
    (four people, below k_dist): department − 0 − 0 = 1, a "flag raised" pointing at the hidden teams."""
    vi = "OSA-VI1"
    no, yes = {vi: 0}, {vi: 1}
    made = release_rounds(session, app, {"alfa": 3, "beta": 3, "gamma": 2, "delta": 2}, [{
        "alfa": [no] * 3, "beta": [no] * 3, "gamma": [yes, no], "delta": [no, no]}], k=3, k_dist=5)
    data = disclosure.load_release(session, made.releases[0])
    tree = Tree(data.parents)
    answered = {made.teams[n].id: size for n, size in (("alfa", 3), ("beta", 3), ("gamma", 2), ("delta", 2))}
    counts = membership_counts(session, data, tree, answered)
    # Cells whose yes count the published figures give exactly: a distribution, or "no 'yes' answers".
    known = set()
    for cell in tree.cells():
        figures = data.cells[(cell.unit, cell.kind.value)].get(vi)
        if figures.dist is not None or (figures.n is not None and not figures.flag):
            known.add(cell)
    assert brute_force_violations(tree, known, counts, 5, all_groups=True) == []
    for cell in data.cells.values():
        figures = cell.get(vi)
        assert figures.n is None or figures.n >= 5, (cell.name, figures)
    # The flag for risk assessment appears at the lowest level with at least k_dist answers: the department.
    dept = disclosure.unit_result(session, made.releases[0], made.dept.id, EVERYTHING)
    assert [r.question.code for r in dept.flags] == [vi]
    assert dept.unit.get(vi).yes == 10 and dept.unit.get(vi).dist == (9, 1, 0)
    for name in ("alfa", "beta"):
        team = disclosure.unit_result(session, made.releases[0], made.teams[name].id, EVERYTHING)
        assert team.unit.published and team.flags == [] and team.unit.get(vi).hidden


def test_change_since_the_round_before_uses_the_published_figures(session: Session, app: Flask) -> None:
    """41/15 = 2.733… shown as 2.7, then 43/15 = 2.866… shown as 2.9: the change is +0.2, not +0.13 — a change
    computed from the exact means would tell more than the two figures beside it."""
    wl = "OSA-WL1"
    first = [{wl: v} for v in answers_of({3: 11, 2: 4})]
    second = [{wl: v} for v in answers_of({3: 13, 2: 2})]
    made = release_rounds(session, app, {"alfa": 15}, [{"alfa": first}, {"alfa": second}], k=5, k_dist=10)
    alfa = made.teams["alfa"].id
    result = disclosure.unit_result(session, made.releases[1], alfa, EVERYTHING)
    row = next(r for r in result.rows if r.question.code == wl)
    assert (row.before.mean, row.now.mean) == (2.7, 2.9)
    assert row.before.sd is not None and row.now.sd is not None
    assert row.before.sd == round(row.before.sd, 1) and row.now.sd == round(row.now.sd, 1)
    assert row.change == change((2.7, row.before.sd, 15), (2.9, row.now.sd, 15))
    assert row.change is not None and abs(row.change.difference - 0.2) < 1e-9


def test_older_releases_are_read_by_todays_rules() -> None:
    """Releases frozen before bounds were protected and figures rounded still show no more than a new one."""
    censored = disclosure.parse_figures({"v": 1, "n": 3, "censor": "low"})
    assert censored.bound and censored.n is None and censored.mean is None
    exact = disclosure.parse_figures({"v": 1, "n": 15, "mean": 41 / 15, "sd": 0.4577, "dist": [0, 4, 11, 0, 0],
                                      "skip": 100 / 6})
    assert (exact.mean, exact.sd, exact.skip) == (2.7, 0.5, 17)
    flag_only = disclosure.parse_figures({"v": 1, "n": 6, "flag": False})
    assert flag_only.hidden and not flag_only.flag
    share = disclosure.parse_figures({"v": 1, "n": 16, "flag": True, "yes": 12.5, "dist": [14, 2, 0],
                                      "skip": 0.0})
    assert share.exact and share.flag and share.yes == 13
