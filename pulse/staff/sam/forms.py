"""Forms of the SAM records. Choices that depend on the unit (owners, risks, meetings, releases, actions) are filled
in by the view; the service checks them again (pulse.services.sam)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from pulse.domain.sam import ACTION_STATUSES, MAX_TEXT, RISK_AREAS, RISK_STATUSES
from pulse.staff.forms import Form, choices


def optional_int(value: object) -> int | None:
    """A select's value as an id, or None for the empty choice ("—")."""
    if value in (None, "", "None"):
        return None
    try:
        return int(str(value))
    except ValueError:
        return -1  # not among the choices: refused by validate_choice


def _labels(codes: dict[str, str]) -> list[SelectChoice]:
    return choices((code, _l(label)) for code, label in codes.items())


DATE_REQUIRED = _l("Enter a date (YYYY-MM-DD).")


class Date(DateField):
    """A date field whose unreadable dates get Pulse's own, translated message."""

    def process_formdata(self, valuelist: list[object]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(DATE_REQUIRED)) from None


class RiskForm(Form):
    description = TextAreaField(_l("What could harm people's health or safety?"),
                                description=_l("Describe the situation, not people. Never try to find out who "
                                               "answered what."),
                                validators=[DataRequired(_l("Describe the risk.")), Length(max=MAX_TEXT)])
    area = SelectField(_l("Area"), choices=_labels(RISK_AREAS))
    serious = BooleanField(_l("Serious risk (act at once, AFS 2023:1)"))
    assessed_by = StringField(_l("Assessed by"), description=_l("A name or a role, e.g. “Maja Chef, unit manager”."),
                              validators=[DataRequired(_l("Say who made the assessment.")), Length(max=200)])
    assessed_with = StringField(_l("Together with"), description=_l("E.g. “the team at the APT on 3 December”."),
                                validators=[Length(max=300)])
    safety_rep_involved = BooleanField(_l("The safety representative took part"))
    assessed_on = Date(_l("Date of the assessment"), validators=[InputRequired(DATE_REQUIRED)])
    status = SelectField(_l("Status"), choices=_labels(RISK_STATUSES))
    release_id = SelectField(_l("Results that prompted it"), coerce=optional_int, validate_choice=True)
    question_code = SelectField(_l("Question"), validate_choice=True)


class ActionForm(Form):
    activity = TextAreaField(_l("Activity: what will be done"),
                             validators=[DataRequired(_l("Say what will be done.")), Length(max=MAX_TEXT)])
    goal = TextAreaField(_l("Goal"), description=_l("What should be different when it is done?"),
                         validators=[Length(max=MAX_TEXT)])
    owner_role = StringField(_l("Owner's role"), description=_l("E.g. “unit manager” or “scheduler”."),
                             validators=[Length(max=100)])
    owner_id = SelectField(_l("Owner"), coerce=optional_int, validate_choice=True,
                           description=_l("The owner gets the reminders, and so does the unit's safety "
                                          "representative."))
    start_on = Date(_l("Start"), validators=[InputRequired(DATE_REQUIRED)])
    due_on = Date(_l("Done by"), validators=[InputRequired(DATE_REQUIRED)])
    status = SelectField(_l("Status"), choices=_labels(ACTION_STATUSES))
    follow_up_on = Date(_l("Follow up on"), validators=[Optional()],
                             description=_l("When you will check whether it worked."))
    cost_sek = IntegerField(_l("Estimated cost in kronor (optional)"),
                            validators=[Optional(), NumberRange(min=0, max=1_000_000_000,
                                                                message=_l("Enter a whole number of kronor."))])
    result = TextAreaField(_l("Result and effect"), description=_l("What came of it. Written at the follow-up."),
                           validators=[Length(max=MAX_TEXT)])
    risk_id = SelectField(_l("Risk it answers"), coerce=optional_int, validate_choice=True)
    question_code = SelectField(_l("Question whose results show the effect"), validate_choice=True)
    meeting_id = SelectField(_l("Decided at the APT"), coerce=optional_int, validate_choice=True)


class MeetingForm(Form):
    held_on = Date(_l("Date of the meeting"), validators=[InputRequired(DATE_REQUIRED)],
                        description=_l("A date ahead plans the meeting; write the minutes afterwards."))
    release_id = SelectField(_l("Results discussed"), coerce=optional_int, validate_choice=True)
    minutes = TextAreaField(_l("Minutes: what was discussed and decided"),
                            description=_l("Write what the group discussed and decided, not who said what. Add the "
                                           "decisions as actions below."),
                            validators=[Length(max=MAX_TEXT * 4)])


class FeedbackForm(Form):
    release_id = SelectField(_l("Results it answers"), coerce=optional_int, validate_choice=True,
                             validators=[InputRequired(_l("Choose the results you are answering."))])
    heard = TextAreaField(_l("What we heard"),
                          description=_l("In a few sentences, from the released results: what stood out."),
                          validators=[DataRequired(_l("Write what you heard.")), Length(max=2000)])
    doing = TextAreaField(_l("What we are doing"), validators=[Length(max=2000)])
    action_ids = SelectMultipleField(_l("Actions to show"), coerce=int, validate_choice=True,
                                     description=_l("Employees see the activity, its status and its done-by date."))


class HelpForm(Form):
    body = TextAreaField(_l("Where to get help"),
                         description=_l("Shown on the thanks page to everyone whose round asked about victimisation "
                                        "or threats, whatever they answered. Leave empty to remove it."),
                         validators=[Length(max=2000)])
    links = TextAreaField(_l("Links, one per line"),
                          description=_l("“Label | https://…”; mailto: and tel: links work too."),
                          validators=[Length(max=2000)])


def release_choices(pairs: list[tuple[int, str]], *, empty: bool = True) -> list[SelectChoice]:
    base: list[tuple[object, object]] = [("", _l("— none —"))] if empty else [("", _l("— choose —"))]
    return choices(base + [(str(i), label) for i, label in pairs])
