"""``pulse release``: recompute a closed round's release as a new, audited version (never edits the old one)."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from pulse.common.context import record_audit
from pulse.common.db import get_database, utcnow
from pulse.domain.protection import AuditError
from pulse.models import Round, Unit
from pulse.services.releases import ReleaseError, compute_release, explain, reasons


@click.group("release", cls=AppGroup)
def group() -> None:
    """Release commands."""


@group.command("recompute")
@click.argument("round_id", type=int)
def recompute_command(round_id: int) -> None:
    """Compute a new version of ROUND_ID's release (the earlier versions stay, and stay known).

    Each new version is audited together with every earlier one, cells as the people they held then (a
    re-organisation moves units, never the people counted in them). It says why it hides more than today's
    organisation alone needs; if the earlier versions already reveal something on their own, it publishes nothing
    and says what (exit status 1).
    """
    with get_database(current_app).session(write=True) as session:
        rnd = session.get(Round, round_id)
        if rnd is None:
            raise click.ClickException(f"No round {round_id}.")
        try:
            release = compute_release(session, rnd, created_by="system", now=utcnow())
        except ReleaseError as exc:
            session.rollback()
            if exc.code == "purged":
                raise click.ClickException(f"Round {round_id}'s raw answers were deleted after the retention time; "
                                           "its existing releases are final.") from None
            if exc.code == "earlier_unsafe":
                names = dict(session.execute(select(Unit.id, Unit.name)).all())
                lines = "\n".join(f"  - {line}" for line in explain(exc.findings, names))
                raise click.ClickException(
                    f"Round {round_id}: no new version was computed. What the earlier versions published already "
                    f"reveals something on its own, which a new version cannot take back; they need a review "
                    f"(docs/ANONYMITY.md, \"Earlier versions and re-organisations\"):\n{lines}") from None
            raise click.ClickException(f"Round {round_id} is still open: there is nothing to release yet.") from None
        except AuditError as exc:  # never expected: the protection hides until the audit passes
            session.rollback()
            raise click.ClickException(f"Round {round_id}: the audit did not pass ({exc}); nothing was published."
                                       ) from None
        record_audit(session, "release.create", f"release:{release.id}", {"round": rnd.id, "version": release.version})
        session.commit()
        layers = json.loads(release.audit)["layers"]
        earlier = release.version - 1
        together = f", together with the {earlier} earlier version{'s' if earlier > 1 else ''}" if earlier else ""
        click.echo(f"Release {release.id} (version {release.version}) of round {round_id}: audit passed{together}; "
                   f"{layers['respondents']['published']} cells published, "
                   f"{layers['respondents']['suppressed']} hidden.")
        why = reasons(release)
        if why:
            names = dict(session.execute(select(Unit.id, Unit.name)).all())
            click.echo(f"Because of what earlier versions published, version {release.version} hides more than "
                       "today's organisation alone needs:")
            for line in explain(why, names):
                click.echo(f"  - {line}")
