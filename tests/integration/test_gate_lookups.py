"""The disclosure gate (pulse/disclosure.py): lookups — which releases hold a unit, and why a unit in the viewer's
scope has no results of its own in a round. Checked from outside, on an organisation whose counting merges change
from one round to the next: a unit held by one release and not another, and merges into a unit some viewers may not
open."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse import disclosure
from pulse.models import Person, Release, Round
from pulse.services import answers as answer_service
from pulse.services.org import Scope, scope_of
from tests.factories import make_person
from tests.figures import Made, release_rounds
from tests.rounds import close_when_due, keys, open_with_credentials

EVERYTHING = Scope(True, frozenset())


@pytest.fixture
def made(session: Session, app: Flask) -> Made:
    """A department (k = 5) with teams of 6, 2, 3 and 2: in round 1 the three small teams count in the department
    together. Then three people join the team of 2 (lilla), and in round 2 it has results of its own while the
    other two small teams still count in the department."""
    result = release_rounds(session, app, {"stora": 6, "lilla": 2, "mini": 3, "mikro": 2}, [{
        "stora": [{"OSA-WL1": v} for v in (4, 3, 5, 4, 2, 3)], "lilla": [{"OSA-WL1": 1}] * 2,
        "mini": [{"OSA-WL1": 2}] * 3, "mikro": [{"OSA-WL1": 5}] * 2}], k=5, k_dist=5)
    for i in range(2, 5):
        make_person(session, f"lilla{i}@example.org", unit=result.teams["lilla"], password=None)
    make_person(session, "chef.avdelning@example.org", manages=[result.dept])
    make_person(session, "chef.lilla@example.org", manages=[result.teams["lilla"]])
    make_person(session, "chef.stora@example.org", manages=[result.teams["stora"]])
    session.commit()
    # Round 2, as release_rounds makes its rounds.
    first = session.get_one(Round, session.scalar(select(Release.round_id).where(Release.id == result.releases[0])))
    opened = open_with_credentials(session, app, result.survey, now=first.closes_at + dt.timedelta(days=3))
    sizes = {"stora": 6, "lilla": 5, "mini": 3, "mikro": 2}
    for name, size in sizes.items():
        for i in range(size):
            link, _ = opened.credentials[f"{name}{i}@example.org"]
            answer_service.submit(session, keys(app).token, link, {"OSA-WL1": 3}, None, now=opened.round.opened_at)
    rnd = close_when_due(session, app, opened.round.id)
    second = session.scalar(select(Release.id).where(Release.round_id == rnd.id))
    assert second is not None
    result.releases.append(second)
    return result


def scope(session: Session, email: str) -> Scope:
    person = session.scalar(select(Person).where(Person.email == email))
    assert person is not None
    return scope_of(session, person)


def test_a_unit_is_held_only_by_the_releases_that_have_its_cell(session: Session, made: Made) -> None:
    """lilla was counted in the department in round 1 and has its own cell in round 2; mini never has one; stora
    always has. Asking about one release must never answer from another one, or from another unit."""
    first, second = made.releases
    lilla, mini, stora = (made.teams[name].id for name in ("lilla", "mini", "stora"))
    assert [disclosure.holds_unit(session, release, unit) for release in (first, second)
            for unit in (lilla, mini, stora)] == [False, False, True, True, False, True]
    assert disclosure.releases_holding(session, lilla) == [second]
    assert disclosure.releases_holding(session, mini) == []
    assert disclosure.releases_holding(session, stora) == [second, first]
    assert disclosure.latest_release_ids(session) == disclosure.latest_release_ids(session, made.survey.id) == [
        second, first]


def test_a_merged_unit_names_where_it_counts_and_links_only_inside_the_scope(session: Session, made: Made) -> None:
    """The answer is about this unit in this round: its name, the release asked about, the unit its people counted
    in — and that unit's id, for a link, only to a viewer whose scope holds it."""
    first, second = made.releases
    lilla, dept = made.teams["lilla"].id, made.dept.id
    for viewer, link in ((EVERYTHING, dept), (scope(session, "chef.avdelning@example.org"), dept),
                         (scope(session, "chef.lilla@example.org"), None)):
        found = disclosure.counted_elsewhere(session, first, lilla, viewer)
        assert found is not None
        assert (found.unit_name, found.release.id, found.release.round_number, found.target_name,
                found.target_id) == ("lilla", first, 1, "Avdelning", link)
    found = disclosure.counted_elsewhere(session, second, made.teams["mikro"].id, EVERYTHING)
    assert found is not None
    assert (found.unit_name, found.release.id, found.target_name, found.target_id) == ("mikro", second, "Avdelning",
                                                                                      dept)


def test_no_merge_is_reported_from_another_round_another_unit_or_outside_the_scope(session: Session,
                                                                                     made: Made) -> None:
    """In round 2 lilla has its own results (its round 1 merge, and the merges of mini and mikro in the same round,
    are not about it); stora was never merged; and the manager of stora learns nothing of the small teams."""
    first, second = made.releases
    stora = scope(session, "chef.stora@example.org")
    assert disclosure.counted_elsewhere(session, second, made.teams["lilla"].id, EVERYTHING) is None
    assert disclosure.counted_elsewhere(session, first, made.teams["stora"].id, EVERYTHING) is None
    for release in (first, second):
        for name in ("lilla", "mini", "mikro"):
            assert disclosure.counted_elsewhere(session, release, made.teams[name].id, stora) is None
