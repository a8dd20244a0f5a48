"""``pulse survey``, ``pulse round`` and ``pulse tick``: surveys, rounds and the scheduler from the command line."""

from __future__ import annotations

import datetime as dt
import sys
import time
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from pulse import scheduler
from pulse.common.context import record_audit
from pulse.common.db import get_database, utcnow
from pulse.domain.participation import closed_participation
from pulse.domain.pooling import MAX_ROUNDS, MIN_ROUNDS, POOLINGS
from pulse.domain.questionbank import DEFAULT_PULSE
from pulse.domain.schedule import CADENCES
from pulse.models import Round, Survey, Unit
from pulse.services import pooling
from pulse.services import rounds as round_service
from pulse.services.surveys import REMINDER_POLICIES, SurveyError, SurveyInput, create_survey

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def parse_now(value: str | None) -> dt.datetime:
    """``--now``: an ISO-8601 time; without a zone it is read in the configured time zone."""
    if not value:
        return utcnow()
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 date and time (e.g. 2026-11-24T08:00)",
                                 param_hint="--now") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(current_app.config["PULSE"].timezone))
    return parsed.astimezone(dt.UTC)


survey_group = AppGroup("survey", help="Survey (pulse programme) commands.")
round_group = AppGroup("round", help="Round commands.")


@survey_group.command("create")
@click.option("--name", required=True)
@click.option("--unit", "units", multiple=True, required=True, help="Unit id (from units.csv); repeat for several.")
@click.option("--question", "questions", multiple=True, help="Question code; repeat. Default: the standard pulse.")
@click.option("--cadence", type=click.Choice(CADENCES), default="weekly", show_default=True)
@click.option("--weekday", type=click.Choice(WEEKDAYS), default="mon", show_default=True)
@click.option("--time", "open_time", default="08:00", show_default=True, help="Local opening time, HH:MM.")
@click.option("--open-days", type=click.IntRange(1, 20), default=5, show_default=True, help="Working days open.")
@click.option("--language", type=click.Choice(["sv", "en"]), default="sv", show_default=True)
@click.option("--rotate", type=click.IntRange(1, 20), default=None, help="Ask N questions per round, rotating.")
@click.option("--k", "min_group_size", type=int, default=None, help="Minimum respondents (default: configured).")
@click.option("--k-dist", "min_dist_size", type=int, default=None)
@click.option("--k-comments", "min_comment_size", type=int, default=None)
@click.option("--no-comments", is_flag=True)
@click.option("--reminders", type=click.Choice(REMINDER_POLICIES), default="everyone", show_default=True)
@click.option("--remind-after", type=click.IntRange(1, 19), default=2, show_default=True, help="Working days.")
@click.option("--now", "now_text", default=None, help="Pretend it is this time (ISO-8601).")
def survey_create(name: str, units: tuple[str, ...], questions: tuple[str, ...], cadence: str, weekday: str,
                  open_time: str, open_days: int, language: str, rotate: int | None, min_group_size: int | None,
                  min_dist_size: int | None, min_comment_size: int | None, no_comments: bool, reminders: str,
                  remind_after: int, now_text: str | None) -> None:
    """Create a survey for the given units (and everything below them)."""
    config = current_app.config["PULSE"]
    with get_database(current_app).session(write=True) as session:
        unit_ids = []
        for key in units:
            unit_id = session.scalar(select(Unit.id).where(Unit.key == key))
            if unit_id is None:
                raise click.BadParameter(f"no unit with id {key!r}", param_hint="--unit")
            unit_ids.append(unit_id)
        data = SurveyInput(
            name=name, unit_ids=tuple(unit_ids), question_codes=tuple(q.upper() for q in questions) or DEFAULT_PULSE,
            cadence=cadence, open_weekday=WEEKDAYS.index(weekday), open_time=open_time, open_days=open_days,
            language=language, min_group_size=min_group_size or config.thresholds.min_group_size,
            min_dist_size=min_dist_size or config.thresholds.min_dist_size,
            min_comment_size=min_comment_size or config.thresholds.min_comment_size,
            question_mode="rotation" if rotate else "fixed", rotation_count=rotate, comment_enabled=not no_comments,
            reminder_policy=reminders, reminder_after_days=remind_after,
        )
        try:
            survey = create_survey(session, data, floors=config.thresholds, now=parse_now(now_text),
                                   tz=ZoneInfo(config.timezone))
        except SurveyError as exc:
            raise click.ClickException(f"{exc.field or 'survey'}: {exc.code} {exc.params or ''}".strip()) from None
        record_audit(session, "survey.create", f"survey:{survey.id}", {"name": survey.name})
        session.commit()
        click.echo(f"Survey {survey.id} created: {survey.name}. Next round opens: "
                   f"{survey.next_open_at.isoformat() if survey.next_open_at else 'manually'}")


@survey_group.command("list")
def survey_list() -> None:
    """List surveys with their schedule."""
    with get_database(current_app).session() as session:
        for survey in session.scalars(select(Survey).order_by(Survey.id)):
            state = "active" if survey.active else "paused"
            nxt = survey.next_open_at.isoformat() if survey.next_open_at else "-"
            click.echo(f"{survey.id:4}  {survey.name:40} {survey.cadence:9} {state:7} next: {nxt}")


@survey_group.command("pooling")
@click.argument("survey_ident")
@click.argument("kind", type=click.Choice(["none", *POOLINGS]))
@click.option("--rounds", "size", type=int, help=f"Rounds per period for 'rounds' ({MIN_ROUNDS}–{MAX_ROUNDS}).")
def survey_pooling(survey_ident: str, kind: str, size: int | None) -> None:
    """Pool SURVEY's rounds by calendar month, quarter or N consecutive rounds (or not at all), for units too small
    to show figures round by round. Fixed once a pooled release exists: periods never overlap
    (docs/ANONYMITY.md, "Pooled periods")."""
    with get_database(current_app).session(write=True) as session:
        survey = _survey(session, survey_ident)
        try:
            changed = pooling.set_pooling(session, survey, None if kind == "none" else kind, size)
        except pooling.PoolingError as exc:
            if exc.code == "locked":
                raise click.ClickException("A pooled release exists: the periods cannot change any more (new ones "
                                           "would overlap the released ones).") from None
            raise click.ClickException(f"Rounds per period must be {MIN_ROUNDS}–{MAX_ROUNDS}.") from None
        if changed:
            record_audit(session, "survey.pooling", f"survey:{survey.id}",
                         {"pooling": survey.pooling, "rounds": survey.pool_rounds})
        session.commit()
        click.echo(f"Survey {survey.id}: pooling {survey.pooling or 'none'}"
                   + (f" ({survey.pool_rounds} rounds)" if survey.pool_rounds else "") + ".")


def _survey(session: object, ident: str) -> Survey:
    survey = session.get(Survey, int(ident)) if ident.isdigit() else None  # type: ignore[attr-defined]
    if survey is None:
        raise click.ClickException(f"No survey {ident!r}.")
    return survey


def _round(session: object, ident: str) -> Round:
    rnd = session.get(Round, int(ident)) if ident.isdigit() else None  # type: ignore[attr-defined]
    if rnd is None:
        raise click.ClickException(f"No round {ident!r}.")
    return rnd


@round_group.command("open")
@click.argument("survey")
@click.option("--now", "now_text", default=None, help="Pretend it is this time (ISO-8601).")
def round_open(survey: str, now_text: str | None) -> None:
    """Open the next round of SURVEY now and send its invitations."""
    now = parse_now(now_text)
    database = get_database(current_app)
    keys = scheduler.round_keys()
    with database.session(write=True) as session:
        found = _survey(session, survey)
        try:
            rnd = scheduler.open_round(session, found, keys, now=now, tz=ZoneInfo(current_app.config["PULSE"].timezone))
        except round_service.RoundError as exc:
            raise click.ClickException(f"Cannot open a round: {exc.code}") from None
        session.commit()
        round_id, invited, excluded = rnd.id, rnd.invited, rnd.excluded
    outcome = scheduler.mail_now(database, round_id, keys)
    note = f" ({excluded} not invited: no group of at least k to count in)" if excluded else ""
    if outcome is None:
        click.echo(f"Round {round_id} is open: {invited} invited{note}; a scheduler run is sending the invitations.")
    else:
        click.echo(f"Round {round_id} is open: {invited} invited{note}, {outcome.sent} invitations sent"
                   + (f", {len(outcome.failed)} could not be sent" if outcome.failed else "")
                   + (" (the mail system took none: the next `pulse tick` tries again)"
                      if outcome.outcome == "mail_down" else "") + ".")


@round_group.command("close")
@click.argument("round_id")
@click.option("--now", "now_text", default=None, help="Pretend it is this time (ISO-8601).")
def round_close(round_id: str, now_text: str | None) -> None:
    """Close ROUND now: shuffle and store its answers, purge the per-person ledger."""
    with get_database(current_app).session(write=True) as session:
        rnd = _round(session, round_id)
        try:
            result = scheduler.close_round(session, rnd, scheduler.round_keys(), now=parse_now(now_text))
        except round_service.RoundError as exc:
            raise click.ClickException(f"Cannot close round {round_id}: {exc.code}") from None
        session.commit()
        invited, k = rnd.invited, rnd.min_group_size
    round_service.scrub_closed(get_database(current_app))
    shown = closed_participation(invited, result.answers, k).answered
    click.echo(f"Round {round_id} is closed: " + (f"{shown} answers stored." if shown is not None else
                                                  f"fewer than {k} answers, so the number is not shown."))


@round_group.command("status")
@click.argument("round_id")
def round_status(round_id: str) -> None:
    """Show a round's integrity figures (every count only as far as the k rule allows)."""
    with get_database(current_app).session() as session:
        status = round_service.round_status(session, _round(session, round_id))
        rnd = status.round
        shown = status.participation
        click.echo(f"Round {rnd.id} ({rnd.survey.name} #{rnd.number}): {rnd.status}")
        click.echo(f"  opened {rnd.opened_at.isoformat()}, closes {rnd.closes_at.isoformat()}")
        click.echo(f"  headcount {rnd.headcount}, invited {status.invited}"
                   + (f", not invited {rnd.excluded} (no group of at least {rnd.min_group_size} to count in)"
                      if rnd.excluded else ""))
        for unit, target in status.merges:
            click.echo(f"  {unit} counts in {target}" if target else f"  {unit}: not invited")
        if rnd.status == "open":
            band = shown.band_percent
            text = f"{band[0]}–{band[1]} %" if band else "not shown (too few invited)"
            click.echo(f"  invitations {rnd.mailout}, mailed {status.mailed}, participation {text}")
        else:
            answers = shown.answered if shown.answered is not None else f"not shown (fewer than {rnd.min_group_size})"
            comments = status.comments if status.comments is not None else "not shown"
            click.echo(f"  answers {answers}, comments {comments}; roster changes during the round: "
                       f"{rnd.roster_added} added, {rnd.roster_removed} removed, {rnd.roster_moved} moved")


@click.command("tick")
@click.option("--now", "now_text", default=None, help="Pretend it is this time (ISO-8601).")
@click.option("--every", type=click.IntRange(10, 86400), default=None, help="Repeat every N seconds until stopped.")
@with_appcontext
def tick_command(now_text: str | None, every: int | None) -> None:
    """Do everything that is due: close rounds, open rounds, send invitations and reminders.

    Run it every minute from cron or a systemd timer; several at once are safe.
    """
    while True:
        report = scheduler.tick(current_app._get_current_object(),  # type: ignore[attr-defined]
                                now=parse_now(now_text))
        busy = (report.closed or report.opened or report.invitations_sent or report.reminders_sent or report.purged
                or report.errors or report.notes)
        if every is None or busy:
            click.echo(f"{utcnow().isoformat(timespec='seconds')} {report.summary()}")
        for note in report.notes:
            click.echo(f"  {note}")
        for error in report.errors:
            click.echo(f"  {error}", err=True)
        if every is None:
            sys.exit(1 if report.errors else 0)
        time.sleep(every)


groups = (survey_group, round_group, tick_command)
