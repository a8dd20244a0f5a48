"""``pulse org``: import and export the organisation as CSV."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale

from pulse.common.context import record_audit
from pulse.common.db import get_database
from pulse.services import orgimport
from pulse.staff.admin.problems import describe


@click.group("org", cls=AppGroup)
def group() -> None:
    """Organisation commands."""


@group.command("import")
@click.argument("units_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("people_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the files and show the differences; change nothing.")
def import_command(units_csv: Path, people_csv: Path, dry_run: bool) -> None:
    """Import the organisation from UNITS_CSV and PEOPLE_CSV (all or nothing).

    Exit status: 0 imported (or would import, with --dry-run), 1 the files have problems.
    """
    units_data, people_data = units_csv.read_bytes(), people_csv.read_bytes()
    with get_database(current_app).session(write=True) as session, force_locale("en"):
        plan = orgimport.plan_import(session, units_data, people_data, units_name=units_csv.name,
                                     people_name=people_csv.name)
        if not plan.ok:
            for problem in plan.problems:
                where = f"{problem.file}:{problem.line}" if problem.line else problem.file
                click.echo(f"{where}: {describe(problem)}", err=True)
            click.echo(f"{len(plan.problems)} problem(s); nothing was imported.", err=True)
            sys.exit(1)
        counts = plan.counts()
        summary = ", ".join(f"{name.replace('_', ' ')}: {count}" for name, count in counts.items())
        if dry_run:
            click.echo(f"Dry run, nothing changed. Would apply: {summary}; unchanged people: {plan.unchanged_people}.")
            return
        result = orgimport.apply_import(session, plan, units_data, people_data)
        record_audit(session, "org.import", "organisation", {
            **result.counts, "units_file": units_csv.name, "people_file": people_csv.name,
            "units_sha256": result.units_sha256, "people_sha256": result.people_sha256,
        })
        session.commit()
        click.echo(f"Imported. {summary}; unchanged people: {plan.unchanged_people}.")


@group.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def export_command(folder: Path) -> None:
    """Write the organisation as FOLDER/units.csv and FOLDER/people.csv (the import format)."""
    folder.mkdir(parents=True, exist_ok=True)
    with get_database(current_app).session() as session:
        units_text, people_text = orgimport.export_files(session)
    (folder / "units.csv").write_text(units_text, encoding="utf-8")
    (folder / "people.csv").write_text(people_text, encoding="utf-8")
    click.echo(f"Wrote {folder / 'units.csv'} and {folder / 'people.csv'}.")
