"""Releases made through the real path (open → answer → close → release) with answers chosen by the test, and
the attacker's view of them: tests play the attacker with exactly what the gate publishes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse import disclosure
from pulse.domain.suppression import Cell, Counts, Tree, cell_counts
from pulse.models import Release, RoundParticipation, Survey, Unit
from pulse.services import answers as answer_service
from tests.factories import make_person, make_unit
from tests.rounds import MONDAY, QUESTIONS, close_when_due, keys, make_survey, open_with_credentials

#: team → one dict of answers per member (members beyond the list do not answer).
Answers = dict[str, list[dict[str, int | None]]]


@dataclass
class Made:
    survey: Survey
    dept: Unit
    teams: dict[str, Unit]
    #: The release of each round, oldest first.
    releases: list[int]


def release_rounds(session: Session, app: Flask, sizes: dict[str, int], rounds: list[Answers], *, k: int,
                   k_dist: int, questions: tuple[str, ...] = QUESTIONS) -> Made:
    """A department with teams of the given sizes (and nobody directly in it), one survey, and one closed,
    released round per entry of ``rounds``. An administrator admin@example.org sees everything."""
    root = make_unit(session, "root", "Kommun")
    dept = make_unit(session, "dept", "Avdelning", root)
    teams = {}
    for name, size in sizes.items():
        teams[name] = make_unit(session, name, name, dept)
        for i in range(size):
            make_person(session, f"{name}{i}@example.org", unit=teams[name], password=None)
    make_person(session, "admin@example.org", admin=True, language="en")
    session.commit()
    survey = make_survey(session, [dept], questions=questions, min_group_size=k, min_dist_size=k_dist,
                         min_comment_size=k_dist)
    releases = []
    now = MONDAY
    for answers in rounds:
        opened = open_with_credentials(session, app, survey, now=now)
        for name, members in answers.items():
            for i, values in enumerate(members):
                link, _ = opened.credentials[f"{name}{i}@example.org"]
                answer_service.submit(session, keys(app).token, link, values, None, now=now)
        rnd = close_when_due(session, app, opened.round.id)
        release = session.scalar(select(Release.id).where(Release.round_id == rnd.id))
        assert release is not None
        releases.append(release)
        now = rnd.closes_at + dt.timedelta(days=3)
    return Made(survey, dept, teams, releases)


def values(counts: dict[int, int]) -> list[int]:
    """Answers from {value: how many}."""
    return [v for v, n in counts.items() for _ in range(n)]


# --- the attacker's view -------------------------------------------------------------------------------------------


def membership_counts(session: Session, data: disclosure.ReleaseData, tree: Tree,
                      answered: dict[int, int]) -> dict[Cell, Counts]:
    """Per cell: how many answered the question (from the test's own answers) and how many were invited (which
    an attacker knows: membership)."""
    invited = dict(session.execute(select(RoundParticipation.unit_id, RoundParticipation.invited).where(
        RoundParticipation.round_id == data.info.round_id)).all())
    return cell_counts(tree, {u: Counts(answered.get(u, 0), invited.get(u, 0)) for u in tree.parents})


def published_cells(data: disclosure.ReleaseData, tree: Tree, code: str) -> set[Cell]:
    """Cells whose figures for ``code`` give an exact sum: an answered count with a mean or a distribution."""
    result = set()
    for cell in tree.cells():
        view = data.cells.get((cell.unit, cell.kind.value))
        if view is None or not view.published:
            continue
        figures = view.get(code)
        if figures.n is not None and (figures.mean is not None or figures.dist is not None):
            result.add(cell)
    return result
