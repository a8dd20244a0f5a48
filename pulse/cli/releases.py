"""``pulse release``: recompute a closed round's release as a new, audited version (never edits the old one), and
pool a survey's complete periods (docs/ANONYMITY.md, "Pooled periods")."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from pulse.common.context import record_audit
from pulse.common.db import get_database, utcnow
from pulse.domain.pooling import Period, from_key
from pulse.domain.protection import AuditError
from pulse.models import Round, Survey, Unit
from pulse.services import pooling
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
            if exc.code == "pooled":
                raise click.ClickException(
                    f"Round {round_id} is part of a pooled release: a new version of it would not be audited "
                    "together with the pooled figures, so none is made (docs/ANONYMITY.md, \"Pooled periods\")."
                ) from None
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


@group.command("pool")
@click.argument("survey_id", type=int)
@click.option("--period", "period_key", help="Pool this period (e.g. 2026-11, 2026-Q4, rounds-5-8) as a new "
              "version, even if it has a pooled release already.")
def pool_command(survey_id: int, period_key: str | None) -> None:
    """Pool SURVEY_ID's complete periods that have no pooled release yet (the scheduler does the same on its own).

    A period is complete when no further round can join it and every round in it is closed and released. Each
    pooled release is audited together with every version of its rounds' releases: no pooled figure minus
    published round figures may give a hidden one. A period the audit refused before is tried again (the scheduler
    waits until a round's release or the pooling changes), and a refusal says why (exit status 1).
    """
    with get_database(current_app).session(write=True) as session:
        survey = session.get(Survey, survey_id)
        if survey is None:
            raise click.ClickException(f"No survey {survey_id}.")
        if not survey.pooling:
            raise click.ClickException(f"Survey {survey_id} does not pool its rounds; choose a pooling first "
                                       "(pulse survey pooling).")
        now = utcnow()
        refused: list[tuple[Period, pooling.PoolingError]] = []
        if period_key is None:
            made = pooling.pool_due(session, survey, now=now, refused=refused, retry=True)
        else:
            try:
                period = from_key(period_key)
            except ValueError:
                raise click.ClickException(f"Not a period: {period_key}.") from None
            try:
                made = [pooling.compute_pooled(session, survey, period, created_by="system", now=now)]
            except pooling.PoolingError as exc:
                session.rollback()
                # Remembered like the scheduler's refusals: the survey's page shows it, and the scheduler waits for
                # new inputs instead of trying again.
                pooling.record_refusal(session, session.get_one(Survey, survey_id), period, exc, now=now)
                session.commit()
                names = dict(session.execute(select(Unit.id, Unit.name)).all())
                raise click.ClickException(_refusal(exc, period_key, names)) from None
        for pooled in made:
            record_audit(session, "release.pool", f"pooled_release:{pooled.id}",
                         {"survey": survey.id, "period": pooled.period, "version": pooled.version})
        session.commit()
        if not made and not refused:
            click.echo(f"Survey {survey_id}: no complete period waits to be pooled.")
        names = dict(session.execute(select(Unit.id, Unit.name)).all())
        for pooled in made:
            layers = json.loads(pooled.audit)["layers"]
            click.echo(f"Pooled release {pooled.id} ({pooled.period}, version {pooled.version}): audit passed "
                       f"together with its rounds' releases; {layers['respondents']['published']} cells published, "
                       f"{layers['respondents']['suppressed']} hidden.")
            for line in explain(reasons(pooled), names):
                click.echo(f"  - {line}")
        if refused:
            raise click.ClickException("\n".join(_refusal(exc, period.key, names) for period, exc in refused))


def _refusal(exc: pooling.PoolingError, period: str, names: dict[int, str]) -> str:
    """Why a period was not pooled, for the command's output: for the audit's refusal, what the published figures
    together would reveal (units, rounds and versions, never a figure)."""
    if exc.code == "incomplete":
        return (f"Period {period} is not complete: a round may still join it, or one of its rounds is open or "
                "has no release yet.")
    if exc.code == "purged":
        return f"Period {period}: a round's raw answers were deleted after the retention time; it cannot be pooled."
    lines = "".join(f"\n  - {line}" for line in explain(exc.findings, names))
    return (f"Period {period}: nothing was pooled. What is published already reveals something on its own "
            f"(docs/ANONYMITY.md, \"Pooled periods\"); it needs a review.{lines}")
