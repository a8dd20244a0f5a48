"""A new release version after a re-organisation (issue 7, B): audited against what was already published, with
the membership it had then (docs/ANONYMITY.md, "Earlier versions and re-organisations").

The attack: a unit X where three of its six people answered sits under team A when the round closes (version 1).
A re-import moves X under team B, and a recompute publishes version 2. Were version 2 protected on today's tree
alone, with version 1's cells counted as known by (unit, kind), version 1's "team A" (A and X) minus version 2's
"team A" (A alone) would be the three people's count and every one of their sums. The tests play that attacker
with everything the gate publishes, in both versions, and exact linear algebra over atoms (the people counted
directly in one unit), with a brute force over every group of atoms.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from pulse import disclosure, scheduler
from pulse.domain.derivation import audit_sets
from pulse.domain.suppression import Counts
from pulse.models import Release, ReleaseCell, Round, RoundParticipation, Unit
from pulse.services import answers as answer_service
from pulse.services import orgimport
from pulse.services.releases import ReleaseError, compute_release
from tests.factories import PASSWORD, make_person, make_unit
from tests.rounds import MONDAY, keys, make_survey, open_with_credentials
from tests.unit.test_derivation import brute_force

K, K_DIST = 5, 8
WL, SP, VI, NPS = "OSA-WL1", "OSA-SP1", "OSA-VI1", "OSA-NPS"


@dataclass
class Made:
    round_id: int
    units: dict[str, int]
    #: unit id → one dict of answers per respondent
    answers: dict[int, list[dict[str, int | None]]]


def answers_for(name: str, count: int) -> list[dict[str, int | None]]:
    """Answers that differ by team, so that a team's sums tell something about it."""
    base = {"A": 4, "B": 2, "X": 1}.get(name, 3)
    return [{WL: base if i % 3 else min(base + 1, 5), SP: 3 + (i % 2), VI: 1 if name == "X" and i == 0 else 0,
             NPS: (base * 2 + i) % 11} for i in range(count)]


def closed_round(session: Session, app: Flask, *, x_answering: int = 3) -> Made:
    """Avdelning with teams A (10 people, all answering) and B (10), and unit X (6 people, ``x_answering``
    answering) under team A; one round, answered and closed (version 1 of its release)."""
    root = make_unit(session, "root", "Kommun")
    dept = make_unit(session, "dept", "Avdelning", root)
    team_a = make_unit(session, "a", "Team A", dept)
    team_b = make_unit(session, "b", "Team B", dept)
    unit_x = make_unit(session, "x", "Enhet X", team_a)
    sizes = {"A": (team_a, 10, 10), "B": (team_b, 10, 10), "X": (unit_x, 6, x_answering)}
    for name, (unit, invited, _) in sizes.items():
        for i in range(invited):
            make_person(session, f"{name.lower()}{i}@example.org", unit=unit, password=None)
    # Administrators belong to the municipality, outside the survey (and so stay in the re-imported files).
    make_person(session, "admin@example.org", unit=root, admin=True, language="en")
    make_person(session, "admin-sv@example.org", unit=root, admin=True, language="sv")
    session.commit()
    survey = make_survey(session, [dept], min_group_size=K, min_dist_size=K_DIST, min_comment_size=K_DIST)
    opened = open_with_credentials(session, app, survey)
    given: dict[int, list[dict[str, int | None]]] = {}
    for name, (unit, _, answering) in sizes.items():
        given[unit.id] = answers_for(name, answering)
        for i, values in enumerate(given[unit.id]):
            link, _code = opened.credentials[f"{name.lower()}{i}@example.org"]
            answer_service.submit(session, keys(app).token, link, dict(values), None, now=MONDAY)
    session.commit()
    rnd = session.get_one(Round, opened.round.id)
    with app.app_context():
        scheduler.close_round(session, rnd, keys(app), now=rnd.closes_at)
    session.commit()
    units = {"dept": dept.id, "A": team_a.id, "B": team_b.id, "X": unit_x.id}
    return Made(rnd.id, units, given)


def reimport_moving(session: Session, unit_key: str, new_parent_key: str) -> None:
    """A re-import of the organisation files in which one unit has a new parent (as an administrator would make
    it: export, edit units.csv, import)."""
    units_text, people_text = orgimport.export_files(session)
    rows = list(csv.reader(io.StringIO(units_text)))
    for row in rows[1:]:
        if row[0] == unit_key:
            row[2] = new_parent_key
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    units_data, people_data = out.getvalue().encode(), people_text.encode()
    plan = orgimport.plan_import(session, units_data, people_data)
    assert plan.ok, plan.problems
    orgimport.apply_import(session, plan, units_data, people_data)
    session.commit()


def release_ids(session: Session, round_id: int) -> list[int]:
    return list(session.scalars(select(Release.id).where(Release.round_id == round_id).order_by(Release.version)))


# --- the attacker ----------------------------------------------------------------------------------------------


def version_cells(data: disclosure.ReleaseData) -> dict[tuple[int, str], frozenset[int]]:
    """Every cell of one published version as the set of units whose directly counted people it holds — worked
    out from what the gate publishes (the version's own tree), independently of pulse.domain.derivation."""
    result: dict[tuple[int, str], frozenset[int]] = {}
    for unit in data.parents:
        result[(unit, "total")] = frozenset(data.subtree(unit))
        if data.children.get(unit):
            result[(unit, "remainder")] = frozenset({unit})
    return result


def sum_is_published(figures: disclosure.Figures) -> bool:
    """Whether the figures give the cell's exact answered count and sum (a mean, or a distribution)."""
    return figures.n is not None and (figures.mean is not None or figures.dist is not None)


@dataclass
class Attack:
    """What the attacker can compute in one layer from every version's published cells."""

    #: unsafe groups (fewer than the threshold answering, and not "nobody out of enough invited")
    groups: list[frozenset[Hashable]]
    #: whether the moved unit's figures can be computed on their own
    moved_unit: bool


def attack(session: Session, releases: Iterable[int], atoms: dict[Hashable, Counts], moved: int, threshold: int,
           published: str) -> Attack:
    """``published``: "respondents", "CODE" (exact sum), or "CODE:dist" (the distribution)."""
    rows: dict[Hashable, frozenset[Hashable]] = {}
    for release_id in releases:
        data = disclosure.load_release(session, release_id)
        for key, members in version_cells(data).items():
            view = data.cells[key]
            if not view.published:
                continue
            code, _, part = published.partition(":")
            shown = (view.respondents is not None if published == "respondents"
                     else view.get(code).dist is not None if part == "dist" else sum_is_published(view.get(code)))
            if shown:
                rows[(data.info.version, key)] = frozenset(members)
    derivable, groups = brute_force(atoms, rows.values(), threshold, {"moved": [moved]})
    # pulse.domain.derivation's exact audit agrees (a second opinion; the brute force above is the proof here).
    findings = audit_sets(atoms, rows, threshold, hidden={"moved": [moved]})
    assert bool(findings) == bool(groups or derivable), (findings, groups, derivable)
    return Attack(groups, "moved" in derivable)


def atom_counts(session: Session, made: Made, code: str | None) -> dict[Hashable, Counts]:
    """Per atom: how many answered (``code``; None: how many responded at all) — from the test's own answers — and
    how many were invited (membership, which an attacker knows)."""
    invited = dict(session.execute(select(RoundParticipation.unit_id, RoundParticipation.invited).where(
        RoundParticipation.round_id == made.round_id)).all())
    result: dict[Hashable, Counts] = {}
    for unit in made.units.values():
        given = made.answers.get(unit, [])
        answered = len(given) if code is None else sum(1 for a in given if a.get(code) is not None)
        result[unit] = Counts(answered, invited.get(unit, 0))
    return result


def attacks(session: Session, made: Made) -> dict[str, Attack]:
    """Every layer of every question, played against every published version of the round."""
    releases = release_ids(session, made.round_id)
    moved = made.units["X"]
    result = {"respondents": attack(session, releases, atom_counts(session, made, None), moved, K, "respondents")}
    for code in (WL, SP, NPS):
        result[code] = attack(session, releases, atom_counts(session, made, code), moved, K, code)
        result[f"{code}:dist"] = attack(session, releases, atom_counts(session, made, code), moved, K_DIST,
                                        f"{code}:dist")
    result[VI] = attack(session, releases, atom_counts(session, made, VI), moved, K_DIST, VI)
    return result


# --- the tests -------------------------------------------------------------------------------------------------


def test_version_2_after_a_move_does_not_isolate_the_moved_unit(session: Session, app: Flask) -> None:
    """The issue's attack through the real path: version 1 under team A, a re-import moves X under team B,
    version 2 is computed; nothing of X's three respondents — their count, any question's sum — can be worked
    out from both versions' published figures, and no other group too small can either."""
    made = closed_round(session, app)
    first = attacks(session, made)
    assert all(not a.groups and not a.moved_unit for a in first.values()), first  # version 1 is safe on its own
    reimport_moving(session, "x", "b")
    assert session.get_one(Unit, made.units["X"]).parent_id == made.units["B"]
    rnd = session.get_one(Round, made.round_id)
    release = compute_release(session, rnd, created_by="admin@example.org", now=rnd.closes_at)
    session.commit()
    assert release.version == 2
    # Version 2 sits on today's tree: X under team B.
    data = disclosure.load_release(session, release.id)
    assert data.parents[made.units["X"]] == made.units["B"]
    for layer, result in attacks(session, made).items():
        assert not result.moved_unit, f"{layer}: the moved unit's figures can be computed"
        assert result.groups == [], f"{layer}: groups too small can be computed: {result.groups}"
    # It is not a matter of publishing nothing: version 2 shows the department, and team B's people directly.
    assert data.total(made.units["dept"]).published and data.total(made.units["dept"]).get(WL).mean is not None
    assert data.remainder(made.units["B"]) is not None and data.remainder(made.units["B"]).published  # type: ignore[union-attr]
    # It says why, in the audit record, naming cells and units but no hidden figure.
    record = json.loads(release.audit)
    assert record["earlier_versions_included"] == 1 and record["earlier_versions"]["versions"] == [1]
    reasons = record["earlier_versions"]["reasons"]
    # On today's tree alone, version 2 would publish team A (now A's own people): version 1's team A minus it is X,
    # and it is version 1's hidden "team A's own people" as well.
    reveals = [r for r in reasons if r["role"] == "reveals"]
    assert any(r["kind"] == "small_group" and r["units"] == [made.units["X"]] and r["layers"] == ["respondents"]
               and {(t["version"], t["unit"], t["kind"], t["coefficient"]) for t in r["formula"]}
               == {(1, made.units["A"], "total", "1"), (2, made.units["A"], "total", "-1")} for r in reveals), reveals
    hidden = {(r["hides"]["unit"], r["hides"]["kind"]) for r in reasons if r["role"] in ("hides", "more")}
    assert hidden == {(made.units["A"], "total"), (made.units["B"], "total")}
    assert not re.search(r"\d+ (respondents|invited)", release.audit), release.audit


def test_the_attack_the_test_plays_finds_the_leak_when_there_is_one(session: Session, app: Flask) -> None:
    """The attacker above has teeth: given what the code before this change published as version 2 (version 1's
    cells counted as known by unit and kind: team A's total published again, now without X), it computes X."""
    made = closed_round(session, app)
    reimport_moving(session, "x", "b")
    first = session.get_one(Release, release_ids(session, made.round_id)[0])
    v1 = {(c.unit_id, c.kind): c for c in session.scalars(select(ReleaseCell).where(
        ReleaseCell.release_id == first.id))}
    a, b, x = made.units["A"], made.units["B"], made.units["X"]
    # Version 2 as the old code made it: the department and team A published (known from version 1), team B
    # published (known), B's own people hidden as the complement of X, X hidden (3 < k).
    tree = {made.units["dept"]: None, a: made.units["dept"], b: made.units["dept"], x: b}
    published = {(made.units["dept"], "total"), (made.units["dept"], "remainder"), (a, "total"), (b, "total")}
    release = Release(round_id=made.round_id, version=2, created_at=first.created_at, created_by="old code",
                      min_group_size=K, min_dist_size=K_DIST, min_comment_size=K_DIST, audit="{}")
    session.add(release)
    session.flush()
    counts = atom_counts(session, made, None)
    rows = []
    for unit, parent in tree.items():
        members = {unit} if unit != made.units["dept"] else set(tree)
        if unit == b:
            members = {b, x}
        respondents = sum(counts[u].respondents for u in members)
        for kind in ("total", "remainder") if unit in (made.units["dept"], b) else ("total",):
            shown = (unit, kind) in published
            rows.append({"release_id": release.id, "unit_id": unit, "kind": kind,
                         "parent_id": parent if kind == "total" else unit, "published": shown,
                         "respondents": (respondents if kind == "total" else counts[unit].respondents) if shown
                         else None, "invited": None, "stats": "{}"})
    session.execute(insert(ReleaseCell), rows)
    session.commit()
    assert v1[(a, "total")].published and v1[(a, "total")].respondents == 13
    result = attack(session, release_ids(session, made.round_id), counts, x, K, "respondents")
    assert result.moved_unit and frozenset({x}) in result.groups


def test_an_unchanged_tree_publishes_the_same(session: Session, app: Flask) -> None:
    made = closed_round(session, app)
    rnd = session.get_one(Round, made.round_id)
    second = compute_release(session, rnd, created_by="admin@example.org", now=rnd.closes_at)
    session.commit()
    first_id, second_id = release_ids(session, made.round_id)
    cells = lambda rid: {(c.unit_id, c.kind, c.parent_id, c.published, c.respondents, c.invited, c.stats)  # noqa: E731
                         for c in session.scalars(select(ReleaseCell).where(ReleaseCell.release_id == rid))}
    assert cells(first_id) == cells(second_id)
    assert json.loads(second.audit)["earlier_versions"]["reasons"] == []


def test_a_second_move_is_audited_against_both_earlier_versions(session: Session, app: Flask) -> None:
    """Version 3 after X moves back under team A, and a fourth after it moves again: all versions together still
    reveal nothing."""
    made = closed_round(session, app)
    rnd = session.get_one(Round, made.round_id)
    for parent in ("b", "a", "b"):
        reimport_moving(session, "x", parent)
        compute_release(session, session.get_one(Round, rnd.id), created_by="admin@example.org", now=rnd.closes_at)
        session.commit()
    assert len(release_ids(session, made.round_id)) == 4
    for layer, result in attacks(session, made).items():
        assert not result.moved_unit and result.groups == [], layer


# --- refusing, and saying so ----------------------------------------------------------------------------------


def old_style_version(session: Session, made: Made) -> int:
    """A version as releases made before censored means were protected were: X's six answers to OSA-WL1 are near
    the low end, so its mean is shown only as a bound "≤ 1,5" (with its n, as those releases stored it) — but team A
    and team A's own people are shown exactly, so X's sum is one minus the other."""
    first = session.get_one(Release, release_ids(session, made.round_id)[0])
    release = Release(round_id=made.round_id, version=2, created_at=first.created_at, created_by="system",
                      min_group_size=K, min_dist_size=K_DIST, min_comment_size=K_DIST, audit="{}")
    session.add(release)
    session.flush()
    a, x, dept, b = made.units["A"], made.units["X"], made.units["dept"], made.units["B"]
    wl = {u: [v[WL] for v in made.answers[u]] for u in (a, b, x)}

    def exact(*units: int) -> str:
        numbers = [v for u in units for v in wl[u] if v is not None]
        return json.dumps({WL: {"v": 1, "n": len(numbers), "mean": round(sum(numbers) / len(numbers), 1)}})

    size = {u: len(made.answers[u]) for u in (a, b, x)}
    rows = [
        {"unit_id": dept, "kind": "total", "parent_id": None, "respondents": sum(size.values()),
         "stats": exact(a, b, x)},
        {"unit_id": dept, "kind": "remainder", "parent_id": dept, "respondents": 0, "stats": "{}"},
        {"unit_id": a, "kind": "total", "parent_id": dept, "respondents": size[a] + size[x], "stats": exact(a, x)},
        {"unit_id": a, "kind": "remainder", "parent_id": a, "respondents": size[a], "stats": exact(a)},
        {"unit_id": x, "kind": "total", "parent_id": a, "respondents": size[x],
         "stats": json.dumps({WL: {"v": 1, "n": size[x], "censor": "low"}})},
        {"unit_id": b, "kind": "total", "parent_id": dept, "respondents": size[b], "stats": exact(b)},
    ]
    session.execute(insert(ReleaseCell), [{"release_id": release.id, "published": True, "invited": None, **row}
                                          for row in rows])
    session.commit()
    return release.id


def test_a_recompute_refuses_when_an_earlier_version_reveals_something_on_its_own(session: Session,
                                                                                   app: Flask) -> None:
    made = closed_round(session, app, x_answering=6)
    first = disclosure.load_release(session, release_ids(session, made.round_id)[0])
    assert first.total(made.units["X"]).get(WL).censor == "low"  # today's release: a bound, protected
    old_style_version(session, made)
    rnd = session.get_one(Round, made.round_id)
    before = release_ids(session, made.round_id)
    with pytest.raises(ReleaseError, match="earlier_unsafe") as refused:
        compute_release(session, rnd, created_by="admin@example.org", now=rnd.closes_at)
    findings = refused.value.findings
    session.rollback()
    assert release_ids(session, made.round_id) == before  # nothing new
    # What it says: X's hidden sum (its bound) follows from version 2's team A minus team A's own people.
    assert findings and all(f["role"] == "earlier" for f in findings)
    assert any(f["kind"] == "derivable" and f["units"] == [made.units["X"]] and f["layers"] == [f"{WL}:k"]
               and {(t["unit"], t["kind"]) for t in f["formula"]}  # type: ignore[union-attr]
               == {(made.units["A"], "total"), (made.units["A"], "remainder")} for f in findings), findings
    # The command says so and fails; the admin page says so, in English and in Swedish; nothing is published.
    result = app.test_cli_runner().invoke(args=["release", "recompute", str(rnd.id)])
    assert result.exit_code == 1, result.output
    assert "no new version was computed" in result.output
    assert "The earlier versions already let the hidden figures of Enhet X in version " in result.output
    assert " − Team A, directly in the unit in version 2. Figures: OSA-WL1." in result.output
    for email, words in (("admin@example.org", ("No new version was computed", "the hidden figures of Enhet X")),
                         ("admin-sv@example.org", ("Ingen ny version beräknades", "de dolda siffrorna för Enhet X"))):
        page = post_recompute(app, session, email, rnd.id)
        assert all(w in page for w in words), page
    session.rollback()
    assert release_ids(session, made.round_id) == before


# --- the command and the page -----------------------------------------------------------------------------------


def signed_in(app: Flask, session: Session, email: str) -> FlaskClient:
    client = app.test_client()
    response = client.post("/staff/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def post_recompute(app: Flask, session: Session, email: str, round_id: int) -> str:
    """"Compute a new version" on the admin round page; the page it comes back to."""
    response = signed_in(app, session, email).post(f"/staff/admin/rounds/{round_id}/release", follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_command_says_why_and_the_admin_page_too(session: Session, app: Flask) -> None:
    made = closed_round(session, app)
    reimport_moving(session, "x", "b")
    rnd = session.get_one(Round, made.round_id)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["release", "recompute", str(rnd.id)])
    assert result.exit_code == 0, result.output
    assert "(version 2)" in result.output and "audit passed, together with the 1 earlier version" in result.output
    assert "version 2 hides more than today's organisation alone needs" in result.output
    assert ("On today's organisation alone, this version would, together with earlier versions, let the figures "
            "of a group too small to be shown (Enhet X) be worked out as ") in result.output
    assert "So it hides Team A, Team B, which today's organisation alone would show." in result.output
    assert not re.search(r"\d+ (respondents|invited)", result.output)
    # Again from the admin page (version 3, against versions 1 and 2), in English and in Swedish.
    page = post_recompute(app, session, "admin@example.org", rnd.id)
    assert "Version 3 of the release is computed and audited" in page
    assert "version 3 hides more than today&#39;s organisation alone needs" in page
    assert "So it hides Team A, Team B, which today&#39;s organisation alone would show" in page
    page = post_recompute(app, session, "admin-sv@example.org", rnd.id)
    assert "Version 4 av sammanställningen är beräknad och granskad" in page
    assert "Därför döljer den Team A, Team B, som skulle visas med enbart dagens organisation" in page
    session.rollback()
    assert session.scalar(select(func.max(Release.version)).where(Release.round_id == rnd.id)) == 4
    for layer, attacked in attacks(session, made).items():
        assert not attacked.moved_unit and attacked.groups == [], layer


def test_bad_round_ids_are_clear_errors(session: Session, app: Flask) -> None:
    made = closed_round(session, app)
    runner = app.test_cli_runner()
    missing = runner.invoke(args=["release", "recompute", "999999"])
    assert missing.exit_code == 1 and "No round 999999" in missing.output
    assert runner.invoke(args=["release", "recompute", "abc"]).exit_code == 2
    client = signed_in(app, session, "admin@example.org")
    assert client.post("/staff/admin/rounds/999999/release").status_code == 404
    assert client.post("/staff/admin/rounds/abc/release").status_code == 404
    assert client.post(f"/staff/admin/rounds/{made.round_id}/release").status_code == 302

