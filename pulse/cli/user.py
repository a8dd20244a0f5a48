"""``pulse user``: administrator accounts."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from pulse.common.context import passwords, record_audit
from pulse.common.db import get_database
from pulse.common.passwords import MIN_PASSWORD_LENGTH
from pulse.services import auth as auth_service


@click.group("user", cls=AppGroup)
def group() -> None:
    """Staff account commands."""


@group.command("create-admin")
@click.argument("email")
@click.option("--name", default="", help="Full name (kept if the person exists and this is empty).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of asking.")
def create_admin_command(email: str, name: str, password_stdin: bool) -> None:
    """Create an administrator EMAIL, or make that existing person an administrator, and set a password."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with get_database(current_app).session(write=True) as session:
        try:
            person = auth_service.create_admin(session, passwords(), email=email, name=name, password=password)
        except auth_service.PasswordPolicyError:
            raise click.ClickException(f"The password must be at least {MIN_PASSWORD_LENGTH} characters.") from None
        except ValueError as exc:
            raise click.ClickException(f"Not a valid e-mail address: {exc}") from None
        record_audit(session, "person.make_admin", f"person:{person.id}", {"email": person.email})
        session.commit()
        click.echo(f"{person.email} is an administrator and can sign in.")
