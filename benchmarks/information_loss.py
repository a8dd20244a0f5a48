"""Information lost by suppression (issue 7): of the unit totals with at least k respondents, how many are published,
and how many are hidden only as complements — before (the rules, ``protect(..., method="rules")``) and after (least
loss, the default) — measured on the rounds stored in a database, in one run.

    python -m benchmarks.information_loss                      # the demo (rounds 2–6 of `pulse demo`)
    python -m benchmarks.information_loss --database URL       # any database, e.g. the reference organisation
    python -m benchmarks.information_loss --database URL --rounds 2-6 --merge

``make bench`` runs it on the demo and on the organisation W5 generated (every round); ``make bench-quick`` on the
demo and the small preset. Rerun it after the round-opening change that merges counting units with fewer than k
invited into their parents has landed: it reads whatever the rounds hold. ``--merge`` adds a simulation of that
change on today's data (fold each counting unit with fewer than k invited into its parent, bottom-up), labelled as
such.

Only the respondents layer is measured (the item layers are at most what it shows). Counts are read as
``compute_release`` reads them: respondents from the stored answers, invited from the round's participation.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from pulse.domain.derivation import EarlierVersion, protect_version, tree_cells
from pulse.domain.suppression import Counts, InformationLoss, Kind, Tree, audit, cell_counts, information_loss, protect
from pulse.models import Response, Round, RoundParticipation
from pulse.services.releases import release_tree

METHODS = ("rules", "least_loss")
GOAL = 0.85
#: Pooled periods measured: the demo's six rounds as two periods of three; the generated organisation's weekly rounds
#: as periods of four (about a month), the newest few (each pooled protection audits thousands of atoms).
POOL_DEMO, POOL_REFERENCE, POOL_REFERENCE_BLOCKS = 3, 4, 2


@dataclass
class RoundCounts:
    """What the respondents layer of one round's release is computed from."""

    number: int
    k: int
    tree: Tree
    direct: dict[int, Counts]
    survey: int = 0


def load_rounds(database_url: str, numbers: Iterable[int] | None = None) -> list[RoundCounts]:
    """The closed rounds (all, or those with the given numbers) of every survey in a database."""
    wanted = set(numbers) if numbers is not None else None
    engine = create_engine(database_url)
    result = []
    try:
        with Session(engine) as session:
            for rnd in session.scalars(select(Round).where(Round.status == "closed")
                                       .order_by(Round.survey_id, Round.number)):
                if wanted is not None and rnd.number not in wanted:
                    continue
                tree = release_tree(session, rnd.id)
                invited = dict(session.execute(select(RoundParticipation.unit_id, RoundParticipation.invited)
                                               .where(RoundParticipation.round_id == rnd.id)).all())
                answered = dict(session.execute(select(Response.unit_id, func.count()).where(
                    Response.round_id == rnd.id).group_by(Response.unit_id)).all())
                direct = {u: Counts(answered.get(u, 0), invited.get(u, 0)) for u in tree.parents}
                result.append(RoundCounts(rnd.number, rnd.min_group_size, tree, direct, rnd.survey_id))
    finally:
        engine.dispose()
    return result


def merge_small_units(tree: Tree, direct: dict[int, Counts], k: int) -> dict[int, Counts]:
    """A simulation of the planned round-opening change: each counting unit with fewer than k invited is counted in
    its parent instead (bottom-up, so the parent may pass it on)."""
    merged = dict(direct)
    for unit in tree.bottom_up:
        parent = tree.parents[unit]
        counts = merged[unit]
        if parent is not None and 0 < counts.invited < k:
            above = merged[parent]
            merged[parent] = Counts(above.respondents + counts.respondents, above.invited + counts.invited)
            merged[unit] = Counts(0, 0)
    return merged


def measure(rounds: Sequence[RoundCounts], *, merge: bool = False) -> dict[str, Any]:
    """Before and after, summed over the rounds, with the median time of one protection of the respondents layer."""
    result: dict[str, Any] = {"rounds": [r.number for r in rounds], "units": max((len(r.tree.parents) for r in rounds),
                                                                                 default=0)}
    for method in METHODS:
        loss = InformationLoss()
        seconds = []
        per_round = []
        for r in rounds:
            direct = merge_small_units(r.tree, r.direct, r.k) if merge else r.direct
            counts = cell_counts(r.tree, direct)
            started = time.perf_counter()
            protection = protect(r.tree, counts, r.k, method=method)  # type: ignore[arg-type]
            seconds.append(time.perf_counter() - started)
            if audit(r.tree, protection.published, counts, r.k):
                raise AssertionError(f"round {r.number}: the audit rejects the {method} protection")
            round_loss = information_loss(counts, protection.published, protection.suppressed, r.k)
            loss += round_loss
            per_round.append([r.number, round_loss.published, round_loss.large])
        result[method] = {"large": loss.large, "published": loss.published, "complementary": loss.complementary,
                          "primary_totals": loss.primary, "share_published": round(loss.share_published, 4),
                          "share_complementary": round(loss.share_complementary, 4),
                          "protect_median_ms": round(statistics.median(seconds) * 1000, 2) if seconds else None,
                          "per_round": per_round if len(rounds) <= 12 else None}
    return result


def better_choices(rounds: Sequence[RoundCounts], limit: int = 200_000) -> dict[str, Any]:
    """Whether any choice of published cells shows more unit totals with at least k respondents than least loss, by
    exhaustive search (small trees only: every subset of those totals to hide, fewer than least loss hides, and for
    each every subset of the other cells that are not primary suppressions). ``None`` per round when the search would
    pass ``limit`` audits."""
    per_round = []
    for r in rounds:
        counts = cell_counts(r.tree, r.direct)
        chosen = protect(r.tree, counts, r.k)
        primary = {c for c, why in chosen.suppressed.items() if str(why) == "primary"}
        large = [c for c, n in counts.items() if c.kind is Kind.TOTAL and n.respondents >= r.k]
        others = [c for c in counts if c not in primary and c not in large]
        hidden = sum(1 for c in large if c not in chosen.published)
        choices = sum(math.comb(len(large), h) for h in range(hidden)) * 2 ** len(others)
        better: bool | None = None
        if choices <= limit:
            better = any(
                not audit(r.tree, [c for c in large if c not in hide] + [c for c in others if c not in also], counts,
                          r.k)
                for h in range(hidden) for hide in itertools.combinations(large, h)
                for size in range(len(others) + 1) for also in itertools.combinations(others, size))
        per_round.append({"round": r.number, "large": len(large), "published": len(large) - hidden,
                          "choices": choices, "better_exists": better})
    return {"per_round": per_round,
            "none_better": all(row["better_exists"] is False for row in per_round)}


def reorganisation(rounds: Sequence[RoundCounts], moves: int, seed: int = 1) -> dict[str, Any] | None:
    """Time ``protect_version`` for a version 2 after ``moves`` leaf units moved to other parents (the last round)."""
    if not rounds:
        return None
    r = rounds[-1]
    old = r.tree
    leaves = sorted(u for u in old.parents if not old.children[u] and old.parents[u] is not None)
    parents_of_leaves = sorted({p for u in leaves if (p := old.parents[u]) is not None})
    if len(parents_of_leaves) < 2:
        return None
    rng = random.Random(seed)  # noqa: S311 - a benchmark scenario, not a secret
    parents = dict(old.parents)
    moved = rng.sample(leaves, min(moves, len(leaves)))
    for unit in moved:
        parents[unit] = rng.choice([p for p in parents_of_leaves if p != old.parents[unit]])
    new = Tree(parents)
    old_counts, new_counts = cell_counts(old, r.direct), cell_counts(new, r.direct)
    first = protect(old, old_counts, r.k)
    cells = tree_cells(old)
    earlier = [EarlierVersion("version 1", {c: cells[c] for c in first.published},
                              {c: cells[c] for c in first.suppressed})]
    started = time.perf_counter()
    second = protect_version(new, new_counts, r.k, earlier=earlier, version="version 2")
    seconds = time.perf_counter() - started
    alone = protect(new, new_counts, r.k)
    return {"round": r.number, "units": len(old.parents), "moved_units": len(moved), "seconds": round(seconds, 3),
            "published_alone": len(alone.published), "published": len(second.protection.published),
            "new_findings": sum(not f.earlier for f in second.findings), "reasons": len(second.reasons)}


def pooled_gain(rounds: Sequence[RoundCounts], size: int, *, last_blocks: int | None = None) -> dict[str, Any]:
    """What pooling over blocks of ``size`` consecutive rounds gains (docs/ANONYMITY.md, "Pooled periods"), in the
    respondents layer: of the unit totals with at least k invited in the block that no round of the block shows
    ("too small per round"), how many the pooled release shows — protected jointly with the rounds' releases, as
    pulse.services.pooling does (atoms ``(round, unit)``, every round's cells as earlier versions). Also those hidden
    in some rounds but not all, and the time one pooled protection takes.

    ``last_blocks`` limits the measurement to the newest blocks (the reference organisation's 13 blocks take long).
    """
    by_survey: dict[int, dict[int, RoundCounts]] = {}
    for r in rounds:
        by_survey.setdefault(r.survey, {})[r.number] = r
    blocks: list[list[RoundCounts]] = []
    for numbered in by_survey.values():
        for start in range(1, max(numbered, default=0) + 1, size):
            block = [numbered[n] for n in range(start, start + size) if n in numbered]
            if len(block) == size:
                blocks.append(block)
    if last_blocks is not None:
        blocks = blocks[-last_blocks:]
    never = never_shown = some = some_shown = large = large_shown = 0
    seconds = []
    for block in blocks:
        k = max(r.k for r in block)
        parents: dict[int, int | None] = {}
        for r in block:
            parents.update(r.tree.parents)
        tree = Tree(parents)
        units: dict[int, dict[Any, Counts]] = {u: {} for u in tree.parents}
        earlier = []
        shown_in: dict[int, int] = {}
        for r in block:
            for unit, own in r.direct.items():
                if own.invited:
                    units[unit][(r.number, unit)] = own
            protection = protect(r.tree, cell_counts(r.tree, r.direct), r.k)
            cells = {c: frozenset((r.number, u) for u in m) for c, m in tree_cells(r.tree).items()}
            earlier.append(EarlierVersion(f"round {r.number}", {c: cells[c] for c in protection.published},
                                          {c: cells[c] for c in protection.suppressed}))
            for cell in protection.published:
                if cell.kind.value == "total":
                    shown_in[cell.unit] = shown_in.get(cell.unit, 0) + 1
        direct = {u: Counts(sum(c.respondents for c in a.values()), sum(c.invited for c in a.values()))
                  for u, a in units.items()}
        pooled_counts = cell_counts(tree, direct)
        mine = {a for parts in units.values() for a in parts}
        others = {a: Counts(0, 0) for e in earlier for group in (*e.published.values(), *e.hidden.values())
                  for a in group if a not in mine}
        started = time.perf_counter()
        pooled = protect_version(tree, pooled_counts, k, earlier=earlier, version="pooled", parts=units,
                                 other_atoms=others)
        seconds.append(time.perf_counter() - started)
        if any(not f.earlier for f in pooled.findings):
            raise AssertionError("the joint audit left a finding")
        published = {c.unit for c in pooled.protection.published if c.kind.value == "total"}
        for cell, size_ in pooled_counts.items():
            if cell.kind.value != "total" or size_.invited < k:
                continue
            times = shown_in.get(cell.unit, 0)
            if times == 0:
                never += 1
                never_shown += cell.unit in published
            elif times < len(block):
                some += 1
                some_shown += cell.unit in published
            if size_.respondents >= k:
                large += 1
                large_shown += cell.unit in published
    return {"rounds_per_period": size, "periods": len(blocks),
            "never_shown_per_round": never, "of_those_shown_pooled": never_shown,
            "shown_in_some_rounds": some, "of_those_shown_pooled_too": some_shown,
            "pooled_large": large, "pooled_large_shown": large_shown,
            "share_pooled_large_shown": round(large_shown / large, 4) if large else None,
            "pool_median_s": round(statistics.median(seconds), 3) if seconds else None}


def demo_database(workdir: Path) -> str:
    """A fresh `pulse demo` database (the real open → answer → close path) in ``workdir``."""
    from benchmarks.run import environment, pulse_cli

    url = f"sqlite:///{workdir / 'demo.db'}"
    env = environment(url, workdir)
    pulse_cli(env, "db", "upgrade")
    pulse_cli(env, "demo")
    return url


def run(reference_url: str | None, reference_size: str | None, *, demo_rounds: Sequence[int] = (2, 3, 4, 5, 6),
        moves: int = 30) -> dict[str, Any]:
    """The IL record of ``make bench``: the demo, and the generated organisation when there is one."""
    workdir = Path(tempfile.mkdtemp(prefix="pulse-il-"))
    try:
        demo_all = load_rounds(demo_database(workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    demo = [r for r in demo_all if r.number in set(demo_rounds)]
    record: dict[str, Any] = {"id": "IL", "backend": "sqlite", "demo": measure(demo),
                              "demo_merged_simulation": measure(demo, merge=True),
                              "demo_pooled": pooled_gain(demo_all, POOL_DEMO), "demo_exhaustive": better_choices(demo)}
    if reference_url is not None:
        reference = load_rounds(reference_url)
        record["reference"] = {"size": reference_size, **measure(reference)}
        record["reference_merged_simulation"] = measure(reference, merge=True)
        record["reorganisation"] = reorganisation(reference, moves)
        record["reference_pooled"] = pooled_gain(reference, POOL_REFERENCE, last_blocks=POOL_REFERENCE_BLOCKS)
    after = [record["demo"]["least_loss"]["share_published"]]
    if "reference" in record:
        after.append(record["reference"]["least_loss"]["share_published"])
    record["goal"] = f"≥ {GOAL:.0%} of unit totals with ≥ k respondents published"
    record["met"] = all(share >= GOAL for share in after)
    return record


def summary_lines(record: dict[str, Any]) -> list[str]:
    """Lines for the benchmark table: before → after."""
    lines = []
    for key, label in (("demo", "demo rounds " + _span(record["demo"]["rounds"])),
                       ("demo_merged_simulation", "demo, merge simulated"),
                       ("reference", f"{record.get('reference', {}).get('size')} "
                                     f"({len(record.get('reference', {}).get('rounds', []))} rounds)"),
                       ("reference_merged_simulation", "generated, merge simulated")):
        if key not in record:
            continue
        before, after = record[key]["rules"], record[key]["least_loss"]
        lines.append(f"{label:32} published {before['published']}/{before['large']} "
                     f"({before['share_published']:.1%}) → {after['published']}/{after['large']} "
                     f"({after['share_published']:.1%}); complements only {before['share_complementary']:.1%} → "
                     f"{after['share_complementary']:.1%}; protect {before['protect_median_ms']} → "
                     f"{after['protect_median_ms']} ms")
    for key, label in (("demo_pooled", "demo, pooled"), ("reference_pooled", "generated, pooled")):
        pooled = record.get(key)
        if pooled:
            lines.append(f"{label:32} {pooled['periods']} periods of {pooled['rounds_per_period']} rounds: "
                         f"{pooled['of_those_shown_pooled']}/{pooled['never_shown_per_round']} unit totals shown in "
                         f"no round are shown pooled, {pooled['of_those_shown_pooled_too']}/"
                         f"{pooled['shown_in_some_rounds']} shown in some rounds too; pooled totals with ≥ k "
                         f"shown {pooled['pooled_large_shown']}/{pooled['pooled_large']}; "
                         f"{pooled['pool_median_s']} s per period")
    exhaustive = record.get("demo_exhaustive")
    if exhaustive:
        searched = [row for row in exhaustive["per_round"] if row["better_exists"] is not None]
        verdict = "no" if exhaustive["none_better"] else "SOME"
        lines.append(f"{'demo, exhaustive search':32} {verdict} round has a choice that publishes more unit totals "
                     f"with ≥ k than least loss ({len(searched)} of {len(exhaustive['per_round'])} rounds searched, "
                     f"{sum(row['choices'] for row in searched)} choices audited at most)")
    reorg = record.get("reorganisation")
    if reorg:
        lines.append(f"{'re-organisation, version 2':32} {reorg['moved_units']} units moved: protect_version "
                     f"{reorg['seconds']:.2f} s, {reorg['published']} cells published "
                     f"({reorg['published_alone']} on its own tree), {reorg['new_findings']} findings left")
    return lines


def _span(numbers: Sequence[int]) -> str:
    return f"{min(numbers)}–{max(numbers)}" if numbers else "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="measure this database's rounds instead of a fresh demo")
    parser.add_argument("--rounds", help="round numbers, e.g. 2-6 or 1,5,9 (default: 2-6 of the demo, all otherwise)")
    parser.add_argument("--merge", action="store_true", help="also simulate merging units with fewer than k invited")
    args = parser.parse_args()
    numbers: list[int] | None = None
    if args.rounds:
        numbers = []
        for part in args.rounds.split(","):
            low, _, high = part.partition("-")
            numbers += list(range(int(low), int(high or low) + 1))
    if args.database:
        rounds = load_rounds(args.database, numbers)
        result = {"database": args.database, **measure(rounds)}
        if args.merge:
            result["merged_simulation"] = measure(rounds, merge=True)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="pulse-il-"))
        try:
            rounds = load_rounds(demo_database(workdir), numbers or [2, 3, 4, 5, 6])
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        result = {"database": "pulse demo", **measure(rounds)}
        if args.merge:
            result["merged_simulation"] = measure(rounds, merge=True)
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
