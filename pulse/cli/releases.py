"""``pulse release``: recompute a closed round's release as a new, audited version (never edits the old one)."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup

from pulse.common.context import record_audit
from pulse.common.db import get_database, utcnow
from pulse.models import Round
from pulse.services.releases import ReleaseError, compute_release


@click.group("release", cls=AppGroup)
def group() -> None:
    """Release commands."""


@group.command("recompute")
@click.argument("round_id", type=int)
def recompute_command(round_id: int) -> None:
    """Compute a new version of ROUND_ID's release (the earlier versions stay, and stay known)."""
    with get_database(current_app).session(write=True) as session:
        rnd = session.get(Round, round_id)
        if rnd is None:
            raise click.ClickException(f"No round {round_id}.")
        try:
            release = compute_release(session, rnd, created_by="system", now=utcnow())
        except ReleaseError as exc:
            if exc.code == "purged":
                raise click.ClickException(f"Round {round_id}'s raw answers were deleted after the retention time; "
                                           "its existing releases are final.") from None
            raise click.ClickException(f"Round {round_id} is still open: there is nothing to release yet.") from None
        record_audit(session, "release.create", f"release:{release.id}", {"round": rnd.id, "version": release.version})
        session.commit()
        layers = json.loads(release.audit)["layers"]
        click.echo(f"Release {release.id} (version {release.version}) of round {round_id}: audit passed; "
                   f"{layers['respondents']['published']} cells published, "
                   f"{layers['respondents']['suppressed']} hidden.")
