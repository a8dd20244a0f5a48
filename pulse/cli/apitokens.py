"""``pulse api-token``: personal tokens for the read-only JSON API."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from pulse.common.context import key, record_audit
from pulse.common.db import get_database
from pulse.domain.crypto import KeyPurpose
from pulse.models import Person
from pulse.services import apitokens


@click.group("api-token", cls=AppGroup)
def group() -> None:
    """API token commands."""


@group.command("create")
@click.argument("email")
@click.option("--name", default="command line", show_default=True, help="What the token is for.")
def create_command(email: str, name: str) -> None:
    """Create a token for EMAIL and print it (once)."""
    with get_database(current_app).session(write=True) as session:
        person = session.scalar(select(Person).where(Person.email == email.strip().lower()))
        if person is None:
            raise click.ClickException(f"No person with the e-mail address {email}.")
        try:
            token, secret = apitokens.create_token(session, key(KeyPurpose.TOKEN_HASH), person, name)
        except apitokens.TokenError:
            raise click.ClickException("The name must be 1 to 100 characters.") from None
        record_audit(session, "api_token.create", f"api_token:{token.id}", {"name": token.name, "for": person.email})
        session.commit()
        click.echo(secret)


@group.command("revoke")
@click.argument("token_id", type=int)
def revoke_command(token_id: int) -> None:
    """Revoke the token with id TOKEN_ID."""
    with get_database(current_app).session(write=True) as session:
        try:
            apitokens.revoke(session, None, token_id)
        except apitokens.TokenError:
            raise click.ClickException(f"No token {token_id}.") from None
        record_audit(session, "api_token.revoke", f"api_token:{token_id}")
        session.commit()
        click.echo(f"Token {token_id} is revoked.")


@group.command("list")
@click.argument("email")
def list_command(email: str) -> None:
    """List EMAIL's tokens."""
    with get_database(current_app).session() as session:
        person = session.scalar(select(Person).where(Person.email == email.strip().lower()))
        if person is None:
            raise click.ClickException(f"No person with the e-mail address {email}.")
        for token in apitokens.tokens_of(session, person.id):
            state = "revoked" if token.revoked_at else "active"
            click.echo(f"{token.id:5}  {token.prefix}…  {state:8} {token.name}")
