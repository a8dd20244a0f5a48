"""A deterministic generator for large organisations with a year of weekly pulse history (benchmarks, demos).

Presets follow the benchmark brief (README, "Benchmarks"): ``reference`` is a large Swedish municipality — about
20,000 employees in 1,600 units over five levels (municipality → 8 administrations → ~40 departments → ~250 units
→ ~1,300 groups of 3–25 people, some very small on purpose), managers, safety representatives with safety areas, and one
weekly pulse of 8 items + 1 comment for 52 rounds with response rates of 40–90 % by unit. ``medium`` and
``small`` have the same shape at about 3,000 and 300 employees.

History rounds are written straight into the final tables in bulk — the shape a closed round leaves behind
(responses with random keys and no timestamps, encrypted comments, counts per unit) — because sealing and
opening 730,000 answers one by one would measure the generator, not Pulse; each round's release is then computed
exactly as at a real close. The real open → answer → close path is what `pulse demo` (default size) and the
tests use.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from pulse.common.config import Thresholds
from pulse.demo import DEMO_COMMENTS, FIRST_NAMES, LAST_NAMES, simulated_answer
from pulse.domain import crypto
from pulse.domain.orgtree import OrgTree, group_at_least
from pulse.models import (
    Comment,
    CountingMerge,
    Management,
    Person,
    PersonStatus,
    Response,
    Round,
    RoundParticipation,
    RoundQuestion,
    SafetyAreaUnit,
    Unit,
)
from pulse.services import questions as question_service
from pulse.services.releases import compute_release
from pulse.services.rounds import RoundKeys, comment_key, round_context
from pulse.services.surveys import SurveyInput, create_survey

#: The eight items of the generated weekly pulse.
PULSE_ITEMS = ("OSA-WL1", "OSA-PR1", "OSA-SU1", "OSA-RC1", "OSA-IN1", "OSA-SP1", "OSA-VI1", "OSA-FB1")


@dataclass(frozen=True)
class Preset:
    administrations: int
    #: (fewest, most) children per node at each level below an administration.
    departments: tuple[int, int]
    units: tuple[int, int]
    groups: tuple[int, int]
    rounds: int


PRESETS = {
    "small": Preset(1, (2, 2), (2, 2), (5, 5), 12),  # ≈ 300 people, 30 units
    "medium": Preset(3, (4, 4), (4, 4), (4, 4), 52),  # ≈ 3,000 people, 260 units
    "reference": Preset(8, (5, 5), (5, 7), (4, 7), 52),  # ≈ 20,000 people, 1,600 units
}


@dataclass
class GeneratedCounts:
    units: int = 0
    people: int = 0
    rounds: int = 0
    responses: int = 0
    comments: int = 0


def _group_size(rng: random.Random) -> int:
    # Mostly 8–20, a tail of very small groups (3–5) on purpose, some up to 25.
    roll = rng.random()
    if roll < 0.12:
        return rng.randint(3, 5)
    if roll < 0.9:
        return rng.randint(8, 20)
    return rng.randint(21, 25)


def _names(rng: random.Random) -> Iterator[str]:
    while True:
        yield f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def generate(session: Session, keys: RoundKeys, *, size: str, now: dt.datetime, tz: ZoneInfo,
             thresholds: tuple[int, int, int], seed: int = 20_000, batch: int = 20_000,
             rounds: int | None = None) -> GeneratedCounts:
    """Fill an empty database with a generated organisation and its pulse history (the caller commits).

    :param rounds: history rounds to write (default: the preset's; 0 for just the organisation and survey).
    """
    preset = PRESETS[size]
    history = preset.rounds if rounds is None else rounds
    rng = random.Random(seed)  # noqa: S311 - generated data, not secrets
    counts = GeneratedCounts()
    names = _names(rng)
    unit_rows: list[dict[str, object]] = []
    parents: dict[int, int | None] = {}
    level: dict[int, int] = {}
    next_id = iter(range(1, 10_000_000))

    def add_unit(name: str, parent: int | None) -> int:
        uid = next(next_id)
        unit_rows.append({"id": uid, "key": f"u{uid:05d}", "name": name, "parent_id": parent, "active": True})
        parents[uid] = parent
        level[uid] = 0 if parent is None else level[parent] + 1
        return uid

    root = add_unit("Storstad kommun", None)
    groups: list[int] = []
    for a in range(preset.administrations):
        adm = add_unit(f"Förvaltning {a + 1}", root)
        for d in range(rng.randint(*preset.departments)):
            dep = add_unit(f"Avdelning {a + 1}.{d + 1}", adm)
            for u in range(rng.randint(*preset.units)):
                unit = add_unit(f"Enhet {a + 1}.{d + 1}.{u + 1}", dep)
                for g in range(rng.randint(*preset.groups)):
                    groups.append(add_unit(f"Grupp {a + 1}.{d + 1}.{u + 1}.{g + 1}", unit))
    session.execute(insert(Unit), unit_rows)
    counts.units = len(unit_rows)

    people: list[dict[str, object]] = []
    managers: list[dict[str, int]] = []
    safety: list[dict[str, int]] = []

    def add_person(unit: int, *, admin: bool = False) -> int:
        pid = len(people) + 1
        name = next(names)
        email = f"p{pid:06d}@storstad.example"
        people.append({"id": pid, "email": email, "name": name, "unit_id": unit, "language": "sv",
                       "status": PersonStatus.ACTIVE, "is_admin": admin, "password_hash": None,
                       "session_version": 1})
        return pid

    add_person(root, admin=True)
    # Every unit above group level has a manager sitting in it; each group's manager sits in the parent unit,
    # so managers count one level up, as they do when answering.
    for row in unit_rows:
        uid = int(row["id"])  # type: ignore[call-overload]
        host = parents[uid] if level[uid] == 4 else uid
        pid = add_person(host if host is not None else uid)
        managers.append({"person_id": pid, "unit_id": uid})
        if level[uid] == 2:
            safety.append({"person_id": add_person(uid), "unit_id": uid})
    for group in groups:
        for _ in range(_group_size(rng)):
            add_person(group)
    for start in range(0, len(people), batch):
        session.execute(insert(Person), people[start:start + batch])
    session.execute(insert(Management), managers)
    session.execute(insert(SafetyAreaUnit), safety)
    counts.people = len(people)

    question_service.install_bank(session)
    low, dist, comments_k = thresholds
    survey = create_survey(session, SurveyInput(
        name="Veckopuls", unit_ids=(root,), question_codes=PULSE_ITEMS, min_group_size=low, min_dist_size=dist,
        min_comment_size=comments_k, cadence="weekly", open_weekday=0, open_time="08:00",
        active=False), floors=Thresholds(*thresholds), now=now, tz=tz)
    questions = question_service.current_by_code(session, list(PULSE_ITEMS))
    asked = [questions[code] for code in PULSE_ITEMS]

    # Who answers where: people by the unit their answer counts in — as a real round counts them: a manager one
    # level above the unit they lead, and groups of fewer than k merged upwards — a response rate and a mood per
    # unit.
    led = {m["person_id"]: m["unit_id"] for m in managers}
    where: dict[int, int | None] = {}
    for person in people:
        pid = int(person["id"])  # type: ignore[call-overload]
        where[pid] = parents[led[pid]] if pid in led else int(person["unit_id"])  # type: ignore[call-overload]
    grouping = group_at_least(OrgTree(parents), where, low)
    members: dict[int, int] = {}
    for uid in grouping.where.values():
        members[uid] = members.get(uid, 0) + 1
    invited_total = len(grouping.where)
    rate = {uid: rng.uniform(0.4, 0.9) for uid in members}
    mood = {uid: rng.gauss(0.0, 0.45) for uid in members}
    trend = {uid: rng.gauss(0.0, 0.01) for uid in members}

    first_open = now - dt.timedelta(weeks=history)
    for number in range(1, history + 1):
        opened = first_open + dt.timedelta(weeks=number - 1)
        closes = opened + dt.timedelta(days=7)
        rnd = Round(survey_id=survey.id, number=number, status="closed", opened_at=opened, closes_at=closes,
                    closed_at=closes, remind_at=None, reminded=True, reminder_policy="everyone", language="sv",
                    min_group_size=low, min_dist_size=dist, min_comment_size=comments_k, comment_enabled=True,
                    public_key=secrets.token_bytes(32), headcount=len(people), invited=invited_total,
                    excluded=len(people) - invited_total, mailout="done", mailout_attempts=1, undelivered=0)
        session.add(rnd)
        session.flush()
        session.add_all(RoundQuestion(round_id=rnd.id, position=i, question_id=q.id) for i, q in enumerate(asked))
        if grouping.moved:  # recorded as a real open records them (the round page and results pages say so)
            session.execute(insert(CountingMerge), [{"round_id": rnd.id, "unit_id": unit, "counted_in_id": target}
                                                    for unit, target in sorted(grouping.moved.items())])
        responses: list[dict[str, object]] = []
        participation: list[dict[str, object]] = []
        texts: list[tuple[int, str]] = []
        for uid, invited in members.items():
            answered = sum(1 for _ in range(invited) if rng.random() < rate[uid])
            participation.append({"round_id": rnd.id, "unit_id": uid, "invited": invited, "answered": answered})
            feeling = mood[uid] + trend[uid] * number
            for _ in range(answered):
                values = [simulated_answer(rng, q.scale, q.reverse, feeling) for q in asked]
                responses.append({"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "round_id": rnd.id,
                                  "unit_id": uid, "values": json.dumps(values, separators=(",", ":"))})
                if rng.random() < 0.1:
                    texts.append((uid, rng.choice(DEMO_COMMENTS)))
        # Stored in random order, as a real close stores them.
        rng.shuffle(responses)
        for start in range(0, len(responses), batch):
            session.execute(insert(Response), responses[start:start + batch])
        session.execute(insert(RoundParticipation), participation)
        ckey = comment_key(keys, rnd.id)
        context = round_context(rnd.id)
        if texts:
            session.execute(insert(Comment), [
                {"id": str(uuid.uuid4()), "round_id": rnd.id, "unit_id": uid, "status": "pending",
                 "sealed": crypto.encrypt(ckey, text.encode(), context)} for uid, text in texts])
        rnd.answers, rnd.comments = len(responses), len(texts)
        rnd.roster_added = rnd.roster_removed = rnd.roster_moved = 0
        session.flush()
        # The same protected, audited release a real close computes.
        compute_release(session, rnd, created_by="generator", now=closes)
        counts.rounds += 1
        counts.responses += len(responses)
        counts.comments += len(texts)
    return counts


def is_empty(session: Session) -> bool:
    return session.scalar(select(Person.id).limit(1)) is None
