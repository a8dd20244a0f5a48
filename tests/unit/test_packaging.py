"""`make run` installs quietly: building Pulse prints no setuptools warnings (they used to bury the lines a
newcomer needs: where the app serves, the demo sign-ins, the outbox), and a broken build still fails loudly."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGING = ("setup.cfg", "pyproject.toml", "README.md", "LICENSE", "pulse")


def build(source: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """Build the wheel the way `make install` builds the editable install (setuptools' backend), offline."""
    return subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                           "--no-index", "-w", str(out), str(source)], capture_output=True, text=True, check=False)


def copy_project(target: Path) -> Path:
    target.mkdir()
    for name in PACKAGING:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, target / name)
    return target


def test_building_prints_no_setuptools_warnings(tmp_path: Path) -> None:
    result = build(copy_project(tmp_path / "src"), tmp_path / "wheel")
    assert result.returncode == 0, result.stderr
    printed = [line for line in (result.stdout + result.stderr).splitlines()
               if "Warning" in line or "deprecated" in line.lower()]
    assert printed == []
    [wheel] = (tmp_path / "wheel").glob("pulse-*.whl")
    listing = subprocess.run([sys.executable, "-m", "zipfile", "-l", str(wheel)], capture_output=True, text=True,
                             check=True).stdout
    # The quiet build still ships what the app needs at run time.
    assert "pulse/static/css/pulse.css" in listing and "pulse/translations/sv/LC_MESSAGES/messages.po" in listing


def test_the_editable_install_of_make_run_prints_nothing(tmp_path: Path) -> None:
    """`make install` installs in editable mode; setuptools' editable backend has its own notices."""
    source = copy_project(tmp_path / "src")
    (tmp_path / "out").mkdir()
    result = subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta; "
                             "print(build_meta.build_editable(sys.argv[1]))", str(tmp_path / "out")],
                            cwd=source, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr and "Editable installation" not in result.stderr, result.stderr


def test_a_broken_build_is_still_reported(tmp_path: Path) -> None:
    source = copy_project(tmp_path / "src")
    config = (source / "setup.cfg").read_text().replace("install_requires =", "install_requires =\n    Flask>>>3")
    (source / "setup.cfg").write_text(config)
    result = build(source, tmp_path / "wheel")
    assert result.returncode != 0
    assert "ERROR" in result.stderr or "error" in result.stderr.lower()
