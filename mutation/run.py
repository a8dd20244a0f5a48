"""`make mutation`: mutmut over the anonymity core, one module at a time, each against its own tests.

Why per module: a mutant of ``pulse/domain/sealing.py`` can only be killed by the tests that exercise sealing, and
running the whole suite (browser tests, PostgreSQL) for each of some 3 000 mutants would take days on two cores.
:data:`TARGETS` maps every core module to the test files that defend it; mutmut then runs, for each mutant, only
those of the module's tests that call the mutated function (it records who calls what in a first, clean run).

Each module gets its own scratch folder ``.mutation/<module>/`` (symlinks to the sources, a generated setup.cfg with
the ``[mutmut]`` section), so the runs do not disturb each other or the work tree, and mutmut's own state
(``mutants/``) is kept between runs: a second run only tests what changed.

The report (printed, and written to ``.mutation/report.md``) lists per module killed / survived / timeouts and
the score, and every surviving mutant that ``mutation/survivors.md`` does not explain. Each explained survivor has
a line there with its reason (equivalent, or harmless and why). The exit status is 1 when a survivor is
unexplained, so a change to the core that weakens its tests does not go unnoticed when the run is repeated.

Time budget (docs/TESTING.md): several hours on two cores for every module from scratch (minutes for sealing,
crypto and stats); use
``python -m mutation.run sealing crypto`` for one module and ``--max-children 1`` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"
SURVIVORS = Path(__file__).resolve().parent / "survivors.md"
#: What the tests need besides the package and the tests themselves (templates, the migrations, their config).
LINKED = ("pulse", "tests", "templates", "migrations", "alembic.ini", "babel.cfg")


@dataclass(frozen=True)
class Target:
    """A core module and the test files that defend it (the fast selection)."""

    path: str
    tests: tuple[str, ...]
    #: Tests left out of the selection: slow ones whose cases the others already cover.
    deselect: tuple[str, ...] = ()
    #: The module has code for one database only (statements written out per database): its tests run against
    #: PostgreSQL too when ``PULSE_TEST_DATABASE_URL`` is set. The others run on SQLite only (same logic on both).
    both_databases: bool = False


#: Every module of the anonymity core (docs/ANONYMITY.md) → the tests that should kill its mutants.
TARGETS: dict[str, Target] = {
    # The 30-unit property test takes a third of the file's time and checks what the 9-unit ones check.
    "suppression": Target("pulse/domain/suppression.py", ("tests/unit/test_suppression.py",), deselect=(
        "tests/unit/test_suppression.py::test_larger_trees_hide_every_suppressed_cell_and_person",)),
    "protection": Target("pulse/domain/protection.py", (
        "tests/unit/test_protection.py", "tests/unit/test_versions.py", "tests/unit/test_pooling.py")),
    "derivation": Target("pulse/domain/derivation.py", (
        "tests/unit/test_derivation.py", "tests/unit/test_versions.py", "tests/unit/test_pooling.py")),
    "stats": Target("pulse/domain/stats.py", (
        "tests/unit/test_stats.py", "tests/unit/test_figures.py", "tests/unit/test_ranking.py")),
    "sealing": Target("pulse/domain/sealing.py", ("tests/unit/test_sealing.py",)),
    "crypto": Target("pulse/domain/crypto.py", ("tests/unit/test_crypto.py", "tests/unit/test_sealing.py")),
    "disclosure": Target("pulse/disclosure.py", (
        "tests/unit/test_gate.py", "tests/integration/test_disclosure_gate.py", "tests/web/test_gate_reads.py",
        "tests/web/test_release_scope.py", "tests/web/test_results.py", "tests/web/test_pooled.py",
        "tests/integration/test_releases.py", "tests/web/test_counted_elsewhere.py", "tests/unit/test_ranking.py",
        "tests/unit/test_cache.py", "tests/integration/test_sam.py", "tests/web/test_safety_report.py",
        "tests/web/test_safety_desk.py", "tests/web/test_apt.py", "tests/integration/test_gate_overview.py",
        "tests/integration/test_gate_lookups.py", "tests/integration/test_gate_periods.py",
        "tests/integration/test_gate_pooled.py", "tests/integration/test_gate_parse.py")),
    "answers": Target("pulse/services/answers.py", (
        "tests/integration/test_counts.py", "tests/integration/test_rounds.py", "tests/web/test_answer_api.py",
        "tests/web/test_respond.py"), both_databases=True),
}

#: Lines not mutated: raising an exception with a free-text message (a sentence, for developers reading a traceback).
#: Callers act on the exception's type, which is still checked; codes that callers read (``"used"``) are one word
#: and stay mutated.
NOT_MUTATED = r'raise \w+\(f?"[^"]* [^"]*"'

STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 36: "timeout",
          37: "type check", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout", -11: "crashed",
          -9: "crashed", None: "not checked"}


def setup_cfg(target: Target) -> str:
    """The project's setup.cfg (pytest's settings) with a ``[mutmut]`` section for one target."""
    lines = "\n    ".join
    return (ROOT / "setup.cfg").read_text() + f"""
[mutmut]
source_paths = pulse
only_mutate = {target.path}
also_copy =
    {lines(LINKED[2:])}
pytest_add_cli_args_test_selection =
    {lines([*target.tests, *(f"--deselect={test}" for test in target.deselect)])}
pytest_add_cli_args =
    -p
    no:cacheprovider
    -o
    addopts=
do_not_mutate_patterns =
    {NOT_MUTATED}
use_git_change_detection = false
timeout_multiplier = 10
"""


def prepare(name: str, target: Target) -> Path:
    folder = WORK / name
    folder.mkdir(parents=True, exist_ok=True)
    for entry in LINKED:
        link = folder / entry
        if not link.exists():
            link.symlink_to(ROOT / entry)
    (folder / "setup.cfg").write_text(setup_cfg(target))
    return folder


def run_module(name: str, target: Target, max_children: int, *, fresh: bool, survivors: bool, timeouts: bool,
               only: list[str], mutants: list[str]) -> float:
    folder = prepare(name, target)
    if fresh:
        shutil.rmtree(folder / "mutants", ignore_errors=True)
    wanted = {"survived", "no tests"} if survivors else set()
    if timeouts:
        wanted.add("timeout")
    again = [m for m, status in results(name, target).items() if status in wanted]
    module = target.path[:-3].replace('/', '.')
    again += [f"{module}.*{function}__mutmut_*" for function in only]
    again += [f"{module}.*{mutant}" for mutant in mutants]
    if wanted and not again:
        return 0.0  # nothing to test again (an empty list would make mutmut test every mutant)
    started = time.monotonic()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PULSE_HYPOTHESIS_PROFILE": "mutation"}
    if not target.both_databases:
        env.pop("PULSE_TEST_DATABASE_URL", None)  # SQLite only: the logic is the same on both databases
    with open(folder / "mutmut.log", "w") as log:
        subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), *again],
                       cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    return time.monotonic() - started


def results(name: str, target: Target) -> dict[str, str]:
    """Mutant name → status, from mutmut's state in the module's folder."""
    meta = WORK / name / "mutants" / (target.path + ".meta")
    if not meta.exists():
        return {}
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return {mutant: STATUS.get(code, "suspicious") for mutant, code in codes.items()}


def explained() -> dict[str, str]:
    """The survivors mutation/survivors.md explains: lines ``- `mutant name`: reason``."""
    pattern = re.compile(r"^- `([^`]+)`: (.+)$")
    return {m[1]: m[2] for line in SURVIVORS.read_text().splitlines() if (m := pattern.match(line))}


def diff(name: str, mutant: str) -> str:
    shown = subprocess.run([sys.executable, "-m", "mutmut", "show", mutant], cwd=WORK / name, capture_output=True,
                           text=True, check=False)
    return "\n".join(line for line in shown.stdout.splitlines()[1:] if line.startswith(("+", "-"))
                     and not line.startswith(("+++", "---")))


def report(names: list[str], durations: dict[str, float]) -> tuple[str, int]:
    reasons = explained()
    lines = ["# Mutation testing of the anonymity core", "",
             "| module | mutants | killed | survived | timeout | no tests | not tested yet | score | minutes |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    unexplained: list[tuple[str, str]] = []
    for name in names:
        statuses = results(name, TARGETS[name])
        count = {s: sum(1 for v in statuses.values() if v == s) for s in ("killed", "survived", "timeout",
                                                                          "no tests", "not checked")}
        tested = count["killed"] + count["survived"] + count["timeout"]
        score = f"{100 * (count['killed'] + count['timeout']) / tested:.1f} %" if tested else "–"
        minutes = f"{durations[name] / 60:.1f}" if name in durations else ""
        lines.append(f"| {name} | {len(statuses)} | {count['killed']} | {count['survived']} | {count['timeout']} "
                     f"| {count['no tests']} | {count['not checked']} | {score} | {minutes} |")
        unexplained += [(name, m) for m, s in sorted(statuses.items())
                        if s in ("survived", "no tests", "suspicious") and m not in reasons]
    lines += ["", f"Unexplained survivors: {len(unexplained)} (explain each in mutation/survivors.md, or kill it)."]
    for name, mutant in unexplained:
        lines += ["", f"## {mutant}", "", "```diff", diff(name, mutant), "```"]
    return "\n".join(lines) + "\n", len(unexplained)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", choices=[[], *TARGETS], default=[], metavar="module",
                        help=f"some of: {', '.join(TARGETS)} (default: all)")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested in parallel (default 2)")
    parser.add_argument("--report-only", action="store_true", help="report the last runs without running")
    parser.add_argument("--fresh", action="store_true", help="forget earlier results and mutate from scratch")
    parser.add_argument("--survivors", action="store_true",
                        help="test only the last run's survivors again (after adding tests)")
    parser.add_argument("--timeouts", action="store_true",
                        help="test the last run's timeouts again (a run beside other work times mutants out that "
                             "only ran slowly)")
    parser.add_argument("--only", action="append", default=[], metavar="FUNCTION",
                        help="test only the mutants of this function (repeatable; with one module)")
    parser.add_argument("--mutant", action="append", default=[], metavar="NAME",
                        help="test this mutant, e.g. censorable__mutmut_18 (repeatable; with one module)")
    arguments = parser.parse_args()
    names = arguments.modules or list(TARGETS)
    durations: dict[str, float] = {}
    for name in names:
        if not arguments.report_only:
            print(f"mutating {TARGETS[name].path} against {' '.join(TARGETS[name].tests)}", flush=True)
            durations[name] = run_module(name, TARGETS[name], arguments.max_children, fresh=arguments.fresh,
                                         survivors=arguments.survivors, timeouts=arguments.timeouts,
                                         only=arguments.only, mutants=arguments.mutant)
    text, unexplained = report(names, durations)
    WORK.mkdir(exist_ok=True)
    (WORK / "report.md").write_text(text)
    print(text)
    return 1 if unexplained else 0


if __name__ == "__main__":
    raise SystemExit(main())
