"""The layers hold (docs/ARCHITECTURE.md): pure domain modules import neither Flask nor SQLAlchemy, the respondent
app imports nothing of the staff app, and nothing imports the apps' views from below."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
PULSE = ROOT / "pulse"
DOMAIN = sorted(p.stem for p in (PULSE / "domain").glob("*.py") if p.stem != "__init__")


def imported_after(statement: str) -> list[str]:
    """The modules a fresh interpreter has loaded after running ``statement``."""
    code = f"import sys; {statement}; import json; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("module", DOMAIN)
def test_domain_modules_are_pure(module: str) -> None:
    loaded = imported_after(f"import pulse.domain.{module}")
    assert not [m for m in loaded if m.split(".")[0] in ("flask", "sqlalchemy", "werkzeug", "flask_babel")]
    assert not [m for m in loaded if m.startswith("pulse.") and not m.startswith(("pulse.domain",))]


def test_the_respondent_app_loads_no_staff_code() -> None:
    statement = ("from pulse.respondent import create_respondent_app; from tests.conftest import make_config; "
                 "import tempfile, pathlib; d = pathlib.Path(tempfile.mkdtemp()); "
                 "app = create_respondent_app(make_config(f'sqlite:///{d}/t.db', d)); "
                 "app.test_client().get('/r'); app.test_client().get('/privacy')")
    loaded = imported_after(statement)
    assert [m for m in loaded if m.startswith("pulse.")]  # it did load Pulse
    assert not [m for m in loaded if m.startswith(("pulse.staff", "pulse.combined", "pulse.cli", "pulse.scheduler",
                                                     "pulse.reporting", "pulse.demo"))]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("package", ["respondent", "services", "domain", "common", "models"])
def test_no_staff_imports_below_or_beside_the_staff_app(package: str) -> None:
    """Only the staff app, the combined app and the command line may import the staff app."""
    for path in (PULSE / package).rglob("*.py"):
        staff = sorted(name for name in _imports(path) if name == "pulse.staff" or name.startswith("pulse.staff."))
        assert not staff, f"{path.relative_to(ROOT)} imports {staff}"


def test_services_do_not_import_the_apps() -> None:
    for path in (PULSE / "services").rglob("*.py"):
        apps = sorted(n for n in _imports(path) if n.startswith(("pulse.respondent", "pulse.staff")))
        assert not apps, f"{path.relative_to(ROOT)} imports {apps}"
