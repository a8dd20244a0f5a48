"""The audit log page: one translated sentence per event (the stored JSON on demand), filters by event, person
and date, paged.

The stored entries stay exactly as written (English codes and canonical JSON: the hash chain covers them); only
the page puts them into words.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional

from pulse.common.context import config
from pulse.common.db import get_session
from pulse.models import AuditEntry, Person, Unit
from pulse.services.org import Role
from pulse.staff.admin import bp
from pulse.staff.admin.imports import CHANGE_LABELS
from pulse.staff.auth.session import staff_required
from pulse.staff.forms import Form, choices

PAGE_SIZE = 50

#: Every event the application writes, as the filter names it.
EVENTS: dict[str, object] = {
    "api_token.create": _l("API token created"),
    "api_token.revoke": _l("API token revoked"),
    "auth.password_change": _l("Password changed"),
    "auth.password_reset": _l("Password set with a reset link"),
    "auth.password_reset_requested": _l("Password reset link requested"),
    "box.write": _l("Named message to the box"),
    "box.acknowledge": _l("Box message acknowledged"),
    "box.reply": _l("Box message answered"),
    "box.close": _l("Box message closed"),
    "box.settings": _l("Box settings changed"),
    "box.released": _l("Box text released to the manager"),
    "box.redacted": _l("Box text released redacted"),
    "box.withheld": _l("Box text withheld"),
    "box.purge": _l("Old box texts deleted"),
    # Written before the review (revision 0012) replaced "restore" with "pass on as written"; old entries keep it.
    "box.restored": _l("Box text shown as written again"),
    "comment.released": _l("Comment released"),
    "comment.redacted": _l("Comment redacted"),
    "comment.withheld": _l("Comment withheld"),
    "comment.pending": _l("Comment back to unread"),
    "demo.generate": _l("Demo data generated"),
    "demo.load": _l("Demo organisation loaded"),
    "follow_up.save": _l("Annual follow-up saved"),
    "follow_up.sign": _l("Annual follow-up signed"),
    "org.export": _l("Organisation downloaded"),
    "org.import": _l("Organisation imported"),
    "person.create": _l("Person added"),
    "person.make_admin": _l("Administrator made from the command line"),
    "person.update": _l("Person changed"),
    "question.add": _l("Question added"),
    "question.edit": _l("Question edited"),
    "question.retire": _l("Question retired"),
    "question.restore": _l("Question restored"),
    "release.api_view": _l("Results read through the API"),
    "release.api_view_pooled": _l("Pooled results read through the API"),
    "release.pool": _l("Rounds pooled into a period"),
    "release.create": _l("Results published"),
    "release.export": _l("Results exported"),
    "release.view": _l("Results viewed"),
    "release.view_apt": _l("APT pack viewed"),
    "release.view_comments": _l("Comments viewed"),
    "release.view_heatmap": _l("Heat map viewed"),
    "release.view_trends": _l("Trends viewed"),
    "release.view_pooled": _l("Pooled results viewed"),
    "release.export_pooled": _l("Pooled results exported"),
    "report.view": _l("Safety representative's report viewed"),
    "report.export": _l("Safety representative's report exported"),
    "retention.purge": _l("Old answers deleted"),
    "safety_request.create": _l("6:6a request made"),
    "safety_request.confirm": _l("6:6a request confirmed as received"),
    "safety_request.answer": _l("6:6a request answered"),
    "safety_request.note": _l("Note added to a 6:6a request"),
    "safety_request.attach": _l("File attached to a 6:6a request"),
    "safety_request.close": _l("6:6a request closed"),
    "safety_request.pdf": _l("6:6a request downloaded as PDF"),
    "sam.risk_create": _l("Risk assessment added"),
    "sam.risk_update": _l("Risk assessment changed"),
    "sam.action_create": _l("Action added"),
    "sam.action_update": _l("Action changed"),
    "sam.meeting_create": _l("APT added"),
    "sam.meeting_update": _l("APT changed"),
    "sam.feedback_create": _l("Feedback added"),
    "sam.feedback_update": _l("Feedback changed"),
    "sam.feedback_publish": _l("Feedback published"),
    "sam.feedback_withdraw": _l("Feedback withdrawn"),
    "sam.help_update": _l("Help text changed"),
    "sam.apt_prompts": _l("APT pack's discussion questions saved"),
    "round.close": _l("Round closed"),
    "round.open": _l("Round opened"),
    "survey.create": _l("Survey created"),
    "survey.update": _l("Survey changed"),
    "survey.pooling": _l("Survey pooling changed"),
    "unit.create": _l("Unit added"),
    "unit.update": _l("Unit changed"),
}


class AuditFilterForm(Form):
    class Meta:
        csrf = False

    event = SelectField(_l("Event"), validate_choice=True, default="")
    person = StringField(_l("Person (name or e-mail)"), validators=[Length(max=100)],
                         description=_l("Who did it, or whom it was about."))
    since = DateField(_l("From (date)"), validators=[Optional()])
    until = DateField(_l("To (date)"), validators=[Optional()])


@dataclass(frozen=True)
class Names:
    """Names of the people and units the shown entries refer to."""

    people: Mapping[int, str]
    units: Mapping[int, str]

    def target(self, target: str) -> str:
        kind, _sep, ident = target.partition(":")
        if ident.isdigit():
            if kind == "person" and int(ident) in self.people:
                return self.people[int(ident)]
            if kind == "unit" and int(ident) in self.units:
                return self.units[int(ident)]
        return target


def _fields(details: Mapping[str, object]) -> str:
    return ", ".join(str(CHANGE_LABELS.get(_FIELD_ALIASES.get(key, key), key)) for key in sorted(details))


#: Diff keys of the admin forms that the import labels name differently.
_FIELD_ALIASES = {"is_admin": "admin"}


def _count(value: object) -> int:
    return len(value) if isinstance(value, list) else 0


def _number(details: Mapping[str, object], key: str) -> int:
    value = details.get(key)
    return value if isinstance(value, int) else 0


def sentence(entry: AuditEntry, details: Mapping[str, object], names: Names) -> str:
    """The entry as one sentence in the page's language (the stored code when the event is unknown)."""
    who = names.target(entry.target)
    unit = details.get("unit")
    unit_of_details = names.units.get(unit, str(unit)) if isinstance(unit, int) else _("a unit")
    _kind, _sep, ident = entry.target.partition(":")
    sentences: dict[str, Callable[[], str]] = {
        "api_token.create": lambda: _("Created the API token \u201c%(name)s\u201d.", name=details.get("name", "")),
        "api_token.revoke": lambda: _("Revoked API token %(id)s.", id=ident),
        "auth.password_change": lambda: _("Changed their password."),
        "auth.password_reset": lambda: _("Set a new password with a reset link."),
        "auth.password_reset_requested": lambda: _("Asked for a password reset link."),
        "box.write": lambda: _("Wrote a message with their name to the box of %(unit)s.", unit=unit_of_details),
        "box.acknowledge": lambda: _("Acknowledged message %(id)s in the box.", id=ident),
        "box.reply": lambda: _("Answered message %(id)s in the box.", id=ident),
        "box.close": lambda: _("Closed message %(id)s in the box.", id=ident),
        "box.settings": lambda: _("Changed the box's deadlines, retention or main safety representative."),
        "box.released": lambda: _("Released a text of message %(id)s in the box to the manager as written.", id=ident),
        "box.redacted": lambda: _("Released a text of message %(id)s in the box with parts removed.", id=ident),
        "box.withheld": lambda: _("Withheld a text of message %(id)s in the box from the manager.", id=ident),
        "box.restored": lambda: _("Showed a text of message %(id)s in the box to the manager as written again.",
                                  id=ident),
        "box.purge": lambda: ngettext("Deleted the texts of %(num)d box message past the retention period.",
                                      "Deleted the texts of %(num)d box messages past the retention period.",
                                      _number(details, "items")),
        "comment.released": lambda: _("Released a comment for reading."),
        "comment.redacted": lambda: _("Released a comment with parts removed."),
        "comment.withheld": lambda: _("Withheld a comment."),
        "comment.pending": lambda: _("Put a comment back among the unread."),
        "demo.generate": lambda: _("Generated demo data."),
        "demo.load": lambda: _("Loaded the demo organisation."),
        "follow_up.save": lambda: _("Saved the annual follow-up %(year)s for %(unit)s.",
                                    year=details.get("year", "?"), unit=unit_of_details),
        "follow_up.sign": lambda: _("Signed an annual follow-up (%(id)s).", id=ident),
        "org.export": lambda: _("Downloaded %(file)s.csv.", file=entry.target),
        "org.import": lambda: " ".join([
            _("Imported the organisation:"),
            ngettext("%(num)d person added,", "%(num)d people added,", _number(details, "people_added")),
            ngettext("%(num)d person changed,", "%(num)d people changed,", _number(details, "people_changed")),
            ngettext("%(num)d person marked as left;", "%(num)d people marked as left;",
                     _number(details, "people_left")),
            ngettext("%(num)d unit added.", "%(num)d units added.", _number(details, "units_added")),
        ]),
        "person.create": lambda: _("Added %(person)s.", person=who),
        "person.make_admin": lambda: _("Made %(person)s an administrator.", person=who),
        "person.update": lambda: _("Changed %(person)s: %(fields)s.", person=who, fields=_fields(details)),
        "question.add": lambda: _("Added the question %(code)s.", code=ident),
        "question.edit": lambda: _("Edited the question %(code)s (now version %(version)s).", code=ident,
                                   version=details.get("version", "?")),
        "question.retire": lambda: _("Retired the question %(code)s.", code=ident),
        "question.restore": lambda: _("Brought back the question %(code)s.", code=ident),
        "release.api_view": lambda: _("Read results (release %(id)s) through the API.", id=ident),
        "release.api_view_pooled": lambda: _("Read pooled results (%(id)s) through the API.", id=ident),
        "release.pool": lambda: _("Pooled the rounds of survey %(survey)s for the period %(period)s.",
                                  survey=details.get("survey", "?"), period=details.get("period", "?")),
        "release.create": lambda: _("Published results (release %(id)s, version %(version)s).", id=ident,
                                    version=details.get("version", "?")),
        "release.export": lambda: _("Exported results (release %(id)s) as %(format)s.", id=ident,
                                    format=str(details.get("format", "")).upper()),
        "release.view": lambda: _("Viewed results (release %(id)s).", id=ident),
        "release.view_comments": lambda: ngettext(
            "Viewed the comments of release %(id)s: %(num)d shown.",
            "Viewed the comments of release %(id)s: %(num)d shown.", _number(details, "shown"), id=ident),
        "release.view_apt": lambda: _("Opened the APT pack (release %(id)s).", id=ident),
        "release.view_heatmap": lambda: _("Viewed the heat map (release %(id)s).", id=ident),
        "release.view_trends": lambda: _("Viewed the trends (up to release %(id)s).", id=ident),
        "release.view_pooled": lambda: _("Viewed pooled results (up to pooled release %(id)s).", id=ident),
        "release.export_pooled": lambda: _("Exported pooled results (up to pooled release %(id)s) as %(format)s.",
                                           id=ident, format=str(details.get("format", "")).upper()),
        "report.view": lambda: _("Viewed the safety representative's report."),
        "report.export": lambda: _("Exported the safety representative's report."),
        "retention.purge": lambda: _("Deleted answers past the retention period."),
        "safety_request.create": lambda: _("Made request %(id)s under 6:6a.", id=ident),
        "safety_request.confirm": lambda: _("Confirmed receiving request %(id)s under 6:6a.", id=ident),
        "safety_request.answer": lambda: _("Answered request %(id)s under 6:6a.", id=ident),
        "safety_request.note": lambda: _("Added a note to request %(id)s under 6:6a.", id=ident),
        "safety_request.attach": lambda: ngettext("Attached %(num)d file to request %(id)s under 6:6a.",
                                                  "Attached %(num)d files to request %(id)s under 6:6a.",
                                                  _count(details.get("files")), id=ident),
        "safety_request.close": lambda: _("Closed request %(id)s under 6:6a.", id=ident),
        "safety_request.pdf": lambda: _("Downloaded request %(id)s under 6:6a as PDF.", id=ident),
        "sam.risk_create": lambda: _("Added a risk assessment for %(unit)s.", unit=unit_of_details),
        "sam.risk_update": lambda: _("Changed a risk assessment for %(unit)s.", unit=unit_of_details),
        "sam.action_create": lambda: _("Added an action to the action plan of %(unit)s.", unit=unit_of_details),
        "sam.action_update": lambda: _("Changed an action in the action plan of %(unit)s.", unit=unit_of_details),
        "sam.meeting_create": lambda: _("Added an APT for %(unit)s.", unit=unit_of_details),
        "sam.meeting_update": lambda: _("Changed an APT for %(unit)s.", unit=unit_of_details),
        "sam.feedback_create": lambda: _("Wrote feedback for %(unit)s.", unit=unit_of_details),
        "sam.feedback_update": lambda: _("Changed feedback for %(unit)s.", unit=unit_of_details),
        "sam.feedback_publish": lambda: _("Published feedback to the respondents."),
        "sam.feedback_withdraw": lambda: _("Withdrew published feedback."),
        "sam.help_update": lambda: _("Changed the help text for %(unit)s.", unit=who) if ident
        else _("Changed the help text for the whole organisation."),
        "sam.apt_prompts": lambda: _("Saved the discussion questions of the APT pack for %(unit)s (release %(id)s): "
                                     "%(saved)d edited, %(restored)d back to the question bank's.",
                                     unit=unit_of_details, id=ident, saved=_count(details.get("saved")),
                                     restored=_count(details.get("restored"))),
        "round.close": lambda: _("Closed round %(number)s of survey %(survey)s.", number=details.get("number", "?"),
                                 survey=details.get("survey", "?")),
        "round.open": lambda: ngettext("Opened round %(number)s of survey %(survey)s: %(num)d person invited.",
                                       "Opened round %(number)s of survey %(survey)s: %(num)d people invited.",
                                       _number(details, "invited"), number=details.get("number", "?"),
                                       survey=details.get("survey", "?")),
        "survey.create": lambda: _("Created survey %(id)s.", id=ident),
        "survey.update": lambda: _("Changed survey %(id)s.", id=ident),
        "survey.pooling": lambda: _("Changed how survey %(id)s pools rounds.", id=ident),
        "unit.create": lambda: _("Added the unit %(unit)s.", unit=who),
        "unit.update": lambda: _("Changed the unit %(unit)s: %(fields)s.", unit=who, fields=_fields(details)),
    }
    make = sentences.get(entry.action)
    return make() if make else entry.action


def _load_details(entry: AuditEntry) -> dict[str, object]:
    try:
        loaded = json.loads(entry.details)
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _names(session: Session, entries: list[AuditEntry]) -> Names:
    people: set[int] = set()
    units: set[int] = set()
    for entry in entries:
        kind, _sep, ident = entry.target.partition(":")
        if ident.isdigit():
            (people if kind == "person" else units if kind == "unit" else set()).add(int(ident))
        if entry.action.startswith(("sam.", "box.", "follow_up.")):
            unit = _load_details(entry).get("unit")
            if isinstance(unit, int):
                units.add(unit)
    return Names(
        dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(people))).all()) if people else {},
        dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(units))).all()) if units else {},
    )


def _conditions(session: Session, form: AuditFilterForm) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if form.event.data:
        conditions.append(AuditEntry.action == form.event.data)
    text = (form.person.data or "").strip().lower()
    if text:
        matching = list(session.scalars(select(Person.id).where(or_(
            func.lower(Person.name).contains(text, autoescape=True), Person.email.contains(text, autoescape=True)))))
        conditions.append(or_(AuditEntry.actor.contains(text, autoescape=True),
                              AuditEntry.actor_id.in_(matching),
                              AuditEntry.target.in_([f"person:{pid}" for pid in matching])))
    tz = ZoneInfo(config().timezone)
    if form.since.data:
        conditions.append(AuditEntry.at >= dt.datetime.combine(form.since.data, dt.time(), tz))
    if form.until.data:
        conditions.append(AuditEntry.at < dt.datetime.combine(form.until.data + dt.timedelta(days=1), dt.time(), tz))
    return conditions


@bp.route("/audit")
@staff_required(Role.ADMIN)
def audit_log() -> str | tuple[str, int]:
    db = get_session()
    form = AuditFilterForm(request.args)
    known = set(db.scalars(select(AuditEntry.action).distinct()))
    form.event.choices = choices([("", _("Every event"))] + sorted(
        ((code, EVENTS.get(code, code)) for code in set(EVENTS) | known), key=lambda pair: str(pair[1]).casefold()))
    if not form.validate():
        return render_template("admin/audit.html", form=form, rows=[], page=1, pages=1, total=0, filters={}), 400
    if form.since.data and form.until.data and form.until.data < form.since.data:
        form.until.errors = [_("The end date is before the start date.")]
        return render_template("admin/audit.html", form=form, rows=[], page=1, pages=1, total=0, filters={}), 400
    conditions = _conditions(db, form)
    page = max(1, request.args.get("page", 1, type=int))  # garbage or below 1: the first page
    total = db.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    # Before the query: an offset past the end can be too large for the database to take.
    if page > pages:
        abort(404)
    entries = list(db.scalars(select(AuditEntry).where(*conditions).order_by(AuditEntry.seq.desc())
                              .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    names = _names(db, entries)
    rows = []
    for entry in entries:
        details = _load_details(entry)
        rows.append((entry, sentence(entry, details, names),
                     json.dumps(details, indent=2, ensure_ascii=False, sort_keys=True) if details else ""))
    filters = {key: value for key, value in (
        ("event", form.event.data), ("person", (form.person.data or "").strip()),
        ("since", form.since.data.isoformat() if form.since.data else ""),
        ("until", form.until.data.isoformat() if form.until.data else "")) if value}
    return render_template("admin/audit.html", form=form, rows=rows, page=page, pages=pages, total=total,
                           filters=filters)
