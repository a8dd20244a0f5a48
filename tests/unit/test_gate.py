"""One read gate (docs/ARCHITECTURE.md, "The gate"): no view reads releases, their cells or comments itself.

Every page, chart, export and API response of both apps, the respondent's "my unit's results" included, gets what it
shows from pulse.disclosure. The views, and the reporting they call, may not import the models that hold published
things, nor the data access the gate reads them through. (tests/web/test_gate_reads.py checks the same at run time:
every statement that reads those tables during a request comes from the gate.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PULSE = Path(__file__).resolve().parent.parent.parent / "pulse"
#: Everything that builds a response: both apps and the reporting (charts, exports) they use.
VIEW_PACKAGES = ("respondent", "staff", "reporting")
#: What holds published things: the models, and the data access behind the gate.
GATED_MODELS = {"Release", "ReleaseCell", "PooledRelease", "PooledReleaseCell", "Comment"}
GATED_FUNCTIONS = {"pulse.services.comments.released_comments", "pulse.domain.figures.read_cell",
                   "pulse.disclosure.unit_cells", "pulse.disclosure.read_cell", "pulse.disclosure._parse"}
GATED_NAMES = GATED_MODELS | {name.rpartition(".")[2] for name in GATED_FUNCTIONS}


def _view_modules() -> list[Path]:
    return sorted(path for package in VIEW_PACKAGES for path in (PULSE / package).rglob("*.py"))


def _gated_uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                if (node.module.startswith("pulse.models") and alias.name in GATED_MODELS) \
                        or node.module in ("pulse.models.release",) or name in GATED_FUNCTIONS:
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
        elif isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {a.name}" for a in node.names if a.name == "pulse.models.release"]
        elif isinstance(node, ast.Attribute) and node.attr in GATED_NAMES:
            # models.Release, comment_service.released_comments, disclosure.unit_cells, …
            found.append(f"line {node.lineno}: .{node.attr}")
    return found


@pytest.mark.parametrize("path", _view_modules(), ids=lambda p: str(p.relative_to(PULSE)))
def test_no_view_reads_releases_cells_or_comments_itself(path: Path) -> None:
    assert _gated_uses(path) == []


def test_the_check_sees_a_view_that_reads_them(tmp_path: Path) -> None:
    """The check itself: the ways a view used to read them around the gate are all caught."""
    view = tmp_path / "view.py"
    view.write_text("from pulse.models import Release, Round\n"
                    "from pulse.services.comments import released_comments\n"
                    "from pulse import disclosure, models\n"
                    "def f(db):\n"
                    "    db.get(models.Comment, 1)\n"
                    "    return disclosure.unit_cells(db, [1], 2)\n")
    assert len(_gated_uses(view)) == 4
