"""``pulse demo``: load the demo organisation through the real import path."""

from __future__ import annotations

import sys
import time
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from pulse import demo
from pulse.common.context import box_keys, local_today, passwords, record_audit
from pulse.common.db import get_database, utcnow
from pulse.demo import generator
from pulse.demo.box import load_demo_box
from pulse.demo.desk import load_demo_desk
from pulse.demo.rounds import load_demo_rounds
from pulse.domain import orgcsv
from pulse.models import Person
from pulse.scheduler import round_keys
from pulse.services import auth as auth_service
from pulse.services import orgimport


@click.command("demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has people.")
@click.option("--size", type=click.Choice(sorted(generator.PRESETS)), default=None,
              help="Instead of the demo, generate a large organisation with a year of history (benchmarks).")
def group(if_empty: bool, size: str | None) -> None:
    """Load the demo organisation and print the demo sign-ins."""
    if size is not None:
        _generate(size, if_empty)
        return
    with get_database(current_app).session(write=True) as session:
        if session.scalar(select(func.count()).select_from(Person)):
            if if_empty:
                click.echo("The database already has data; the demo was not loaded.")
                _print_accounts()
                return
            raise click.ClickException("The database already has people. Use an empty database for the demo.")
        org = demo.build_demo()
        units_csv = orgcsv.write_units((u.key, u.name, u.parent_key) for u in org.units).encode()
        people_csv = orgcsv.write_people(org.people).encode()
        plan = orgimport.plan_import(session, units_csv, people_csv)
        if not plan.ok:  # a bug in the demo itself
            for problem in plan.problems:
                click.echo(str(problem), err=True)
            sys.exit(1)
        result = orgimport.apply_import(session, plan, units_csv, people_csv)
        for _, email in org.accounts:
            person = session.scalar(select(Person).where(Person.email == email))
            assert person is not None
            auth_service.set_password(person, passwords(), demo.DEMO_PASSWORD)
        record_audit(session, "demo.load", "organisation", result.counts)
        session.commit()
        click.echo(f"Loaded the demo organisation: {len(org.units)} units, {len(org.people)} people.")
    closed, open_round = load_demo_rounds(get_database(current_app), now=utcnow())
    click.echo(f"Demo survey '{demo.DEMO_SURVEY}': {closed} closed rounds of history and round {open_round} open; "
               f"its invitations are in {current_app.config['PULSE'].outbox_dir}")
    items = load_demo_box(get_database(current_app), box_keys(), today=local_today(),
                          k=current_app.config["PULSE"].thresholds.min_group_size, main_safety_rep=org.main_safety_rep)
    click.echo(f"Complaint box: {items} items, from new to closed and one overdue.")
    requests = load_demo_desk(get_database(current_app), now=utcnow(),
                              tz=ZoneInfo(current_app.config["PULSE"].timezone))
    click.echo(f"Safety desk: {requests} requests under 6:6a and the annual follow-up of Medborgarkontor Rinkeby.")
    _print_accounts()


def _print_accounts() -> None:
    org = demo.build_demo()
    click.echo(f"Demo sign-ins (password: {demo.DEMO_PASSWORD}) at {current_app.config['PULSE'].staff_url}/staff/login")
    for role, email in org.accounts:
        click.echo(f"  {email:45} {role}")


def _generate(size: str, if_empty: bool) -> None:
    from zoneinfo import ZoneInfo


    config = current_app.config["PULSE"]
    started = time.perf_counter()
    with get_database(current_app).session(write=True) as session:
        if not generator.is_empty(session):
            if if_empty:
                click.echo("The database already has data; nothing was generated.")
                return
            raise click.ClickException("The database already has people. Use an empty database.")
        thresholds = config.thresholds
        counts = generator.generate(session, round_keys(), size=size, now=utcnow(), tz=ZoneInfo(config.timezone),
                                    thresholds=(thresholds.min_group_size, thresholds.min_dist_size,
                                                thresholds.min_comment_size))
        admin = session.scalar(select(Person).where(Person.is_admin.is_(True)))
        assert admin is not None
        auth_service.set_password(admin, passwords(), demo.DEMO_PASSWORD)
        record_audit(session, "demo.generate", "organisation", {"size": size, **counts.__dict__})
        session.commit()
    click.echo(f"Generated '{size}': {counts.units} units, {counts.people} people, {counts.rounds} rounds, "
               f"{counts.responses} responses, {counts.comments} comments in {time.perf_counter() - started:.1f} s.")
    click.echo(f"Administrator: {admin.email} (password: {demo.DEMO_PASSWORD})")
