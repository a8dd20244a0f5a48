from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from pulse.common.i18n import LANGUAGE_NAMES
from pulse.models import PersonStatus
from pulse.staff.forms import Form, choices

STATUS_LABELS = {
    PersonStatus.ACTIVE.value: _l("Active"),
    PersonStatus.ON_LEAVE.value: _l("On leave"),
    PersonStatus.LEFT.value: _l("Left"),
}


#: Roles the people list filters by ("none": people with no staff role).
ROLE_FILTERS = {
    "admin": _l("Administrators"),
    "manager": _l("Managers"),
    "safety_rep": _l("Safety representatives"),
    "none": _l("No staff role"),
}


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes: works by keyboard (Tab, Space) and on a phone, unlike a
    Ctrl-click list box. The template renders it inside a fieldset (macros/forms.html, ``checkboxes``)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PersonForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    unit = SelectField(_l("Unit"), coerce=int, validate_choice=True)
    language = SelectField(_l("Language"), choices=choices(LANGUAGE_NAMES.items()))
    status = SelectField(_l("Status"), choices=choices(STATUS_LABELS.items()),
                         description=_l("People on leave are not invited to pulses. People who have left "
                                        "keep their history but cannot sign in."))
    is_admin = BooleanField(_l("Administrator"))
    manages = CheckboxesField(_l("Leads these units (as manager)"), coerce=int, validate_choice=True,
                              description=_l("A manager sees results for these units and everything below them."))
    safety_area = CheckboxesField(_l("Safety area (as safety representative)"), coerce=int, validate_choice=True,
                                  description=_l("A safety representative sees results for these units and "
                                                 "everything below them."))
    #: The fingerprint of the move preview the administrator saw; saving a move needs it to match.
    move_digest = HiddenField()


class NewPersonForm(PersonForm):
    email = StringField(_l("E-mail"), validators=[DataRequired(_l("Enter an e-mail address.")), Length(max=254)],
                        description=_l("The person signs in with this address and gets their invitations there."))


class UnitForm(Form):
    key = StringField(_l("Unit id"), validators=[DataRequired(_l("Enter a unit id.")), Length(max=64)],
                      description=_l("The organisation's own identifier, as in units.csv (unit_id). It cannot be "
                                     "changed later."))
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    parent = SelectField(_l("Belongs to"), coerce=int, validate_choice=True)
    active = BooleanField(_l("Active"), default=True,
                          description=_l("An inactive unit keeps its history but is not surveyed."))
    move_digest = HiddenField()


class SearchForm(Form):
    class Meta:
        csrf = False

    q = StringField(_l("Search by name or e-mail"), validators=[Length(max=100)])
    unit = SelectField(_l("Unit (with the units below it)"), coerce=int, validate_choice=True, default=0)
    role = SelectField(_l("Role"), validate_choice=True, default="",
                       choices=choices([("", _l("Any role")), *ROLE_FILTERS.items()]))
    status = SelectField(_l("Status"), validate_choice=True, default="",
                         choices=choices([("", _l("Any status")), *STATUS_LABELS.items()]))


class ImportForm(Form):
    units = FileField(_l("Units file (units.csv)"),
                      validators=[FileRequired(_l("Choose the units file.")),
                                  FileAllowed(["csv", "txt"], _l("Upload a .csv file."))])
    people = FileField(_l("People file (people.csv)"),
                       validators=[FileRequired(_l("Choose the people file.")),
                                   FileAllowed(["csv", "txt"], _l("Upload a .csv file."))])


class ConfirmImportForm(Form):
    digest = HiddenField()


class QuestionForm(Form):
    code = StringField(_l("Code"), description=_l("Letters, digits and dashes, e.g. OWN-WL3. It never changes."),
                       validators=[Length(max=32)])
    area = SelectField(_l("Area"))
    scale = SelectField(_l("Answer scale"), description=_l("The scale cannot be changed later."))
    text_sv = TextAreaField(_l("Question in Swedish"), validators=[DataRequired(_l("Write the question in Swedish.")),
                                                                    Length(max=1000)])
    text_en = TextAreaField(_l("Question in English"), validators=[DataRequired(_l("Write the question in English.")),
                                                                    Length(max=1000)])
    allow_skip = BooleanField(_l("Offer \"prefer not to say / don't know\""), default=True)
    sensitive = BooleanField(_l("Sensitive (only shown as protected totals, never crossed with anything)"))
    reverse = BooleanField(_l("A high value is bad (e.g. reachable outside working hours)"))


class SurveyForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    units = SelectMultipleField(_l("Who is asked"), coerce=int, validate_choice=True,
                                description=_l("Everyone in these units and the units below them. People on leave "
                                               "are not invited."))
    questions = SelectMultipleField(_l("Questions"), validate_choice=True,
                                    description=_l("Five to ten questions take about two minutes."))
    question_mode = SelectField(_l("Questions per round"))
    rotation_count = IntegerField(_l("Questions per round when rotating"), validators=[Optional()])
    cadence = SelectField(_l("How often"))
    open_weekday = SelectField(_l("Opening day"), coerce=int)
    open_time = StringField(_l("Opening time (HH:MM)"), validators=[DataRequired(_l("Enter a time such as 08:00.")),
                                                                     Length(max=5)])
    open_days = IntegerField(_l("Working days open"), validators=[DataRequired(_l("Enter a number of days."))])
    language = SelectField(_l("Language if a person has none"))
    min_group_size = IntegerField(_l("Minimum answers for any number (k)"),
                                  validators=[DataRequired(_l("Enter a number."))])
    min_dist_size = IntegerField(_l("Minimum answers for a distribution"),
                                 validators=[DataRequired(_l("Enter a number."))])
    min_comment_size = IntegerField(_l("Minimum group size for comments"),
                                    validators=[DataRequired(_l("Enter a number."))])
    comment_enabled = BooleanField(_l("Ask for an optional comment"), default=True)
    reminder_policy = SelectField(_l("Reminder"))
    reminder_after_days = IntegerField(_l("Working days after opening when the reminder goes out"),
                                       validators=[Optional()])
    active = BooleanField(_l("Active (rounds open on schedule)"), default=True)


class PoolingForm(Form):
    """How a survey's rounds are pooled for units too small round by round (docs/ANONYMITY.md, "Pooled periods")."""

    pooling = SelectField(_l("Pool the rounds"),
                          description=_l("Units with too few answers per round get figures over a fixed period. "
                                         "Periods never overlap; the choice is fixed once a period is pooled."))
    pool_rounds = IntegerField(_l("Rounds per period"), validators=[Optional()],
                               description=_l("Only when pooling a number of consecutive rounds."))


class ActionForm(Form):
    """A button that changes something (open or close a round, retire a question): CSRF only."""
