from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from pulse.common.labels import REQUEST_KIND_LABELS
from pulse.services.safety import MAX_TEXT, MAX_TITLE
from pulse.staff.forms import Form, choices


class RequestForm(Form):
    unit = SelectField(_l("Unit"), coerce=int, validate_choice=True,
                       description=_l("A unit of your safety area that the request is about."))
    kind = SelectField(_l("What you request"), choices=choices(REQUEST_KIND_LABELS.items()))
    title = StringField(_l("The request in one sentence"),
                        description=_l("For example “Adjustable desks in the reception”."),
                        validators=[DataRequired(_l("Write what you request.")), Length(max=MAX_TITLE)])
    reasons = TextAreaField(_l("Reasons"),
                            description=_l("What you have seen, the risks, and what you want done."),
                            validators=[DataRequired(_l("Write the reasons for the request.")),
                                        Length(max=MAX_TEXT)])
    reply_by = DateField(_l("Answer by"),
                         description=_l("The date by which the employer must answer."),
                         validators=[InputRequired(_l("Enter a date, for example 2026-12-15."))])
    files = MultipleFileField(_l("Attachments (optional)"),
                              description=_l("PDF, PNG or JPEG, at most 4 MB each and 10 in all."))


class AttachmentForm(Form):
    files = MultipleFileField(_l("Add files"), description=_l("PDF, PNG or JPEG, at most 4 MB each."))


class AnswerForm(Form):
    answer = TextAreaField(_l("The employer's answer"),
                           validators=[DataRequired(_l("Write the answer.")), Length(max=MAX_TEXT)])
    measures = TextAreaField(_l("Measures planned or taken"),
                             description=_l("What will be done, by whom and when; or why nothing will be done."),
                             validators=[Optional(), Length(max=MAX_TEXT)])
    actions = SelectMultipleField(_l("Actions in the action plan (optional)"), coerce=int, validate_choice=True,
                                  description=_l("The actions of the unit's action plan that carry out the answer."))


class NoteForm(Form):
    note = TextAreaField(_l("Note"), description=_l("A meeting, a call, a reply outside Pulse. It is dated and "
                                                    "shown to both sides."),
                         validators=[DataRequired(_l("Write the note.")), Length(max=MAX_TEXT)])


class CloseForm(Form):
    note = TextAreaField(_l("Why you close it (optional)"), validators=[Optional(), Length(max=MAX_TEXT)])


class FollowUpStartForm(Form):
    unit = SelectField(_l("Unit"), coerce=int, validate_choice=True)
    year = SelectField(_l("Year"), coerce=int, validate_choice=True)


class ReportForm(Form):
    class Meta:
        csrf = False

    start = DateField(_l("From"), validators=[InputRequired(_l("Enter a date, for example 2026-01-01."))])
    end = DateField(_l("To"), validators=[InputRequired(_l("Enter a date, for example 2026-12-31."))])
