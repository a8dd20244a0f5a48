from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length

from pulse.forms import Form, choices
from pulse.i18n import LANGUAGE_NAMES
from pulse.models import PersonStatus

STATUS_LABELS = {
    PersonStatus.ACTIVE.value: _l("Active"),
    PersonStatus.ON_LEAVE.value: _l("On leave"),
    PersonStatus.LEFT.value: _l("Left"),
}


class PersonForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    unit = SelectField(_l("Unit"), coerce=int, validate_choice=True)
    language = SelectField(_l("Language"), choices=choices(LANGUAGE_NAMES.items()))
    status = SelectField(_l("Status"), choices=choices(STATUS_LABELS.items()),
                         description=_l("People on leave are not invited to pulses. People who have left "
                                        "keep their history but cannot sign in."))
    is_admin = BooleanField(_l("Administrator"))
    manages = SelectMultipleField(_l("Leads these units (as manager)"), coerce=int, validate_choice=True,
                                  description=_l("A manager sees results for these units and everything "
                                                 "below them."))
    safety_area = SelectMultipleField(_l("Safety area (as safety representative)"), coerce=int,
                                      validate_choice=True,
                                      description=_l("A safety representative sees results for these units "
                                                     "and everything below them."))


class SearchForm(Form):
    class Meta:
        csrf = False

    q = StringField(_l("Search by name or e-mail"), validators=[Length(max=100)])


class ImportForm(Form):
    units = FileField(_l("Units file (units.csv)"),
                      validators=[FileRequired(_l("Choose the units file.")),
                                  FileAllowed(["csv", "txt"], _l("Upload a .csv file."))])
    people = FileField(_l("People file (people.csv)"),
                       validators=[FileRequired(_l("Choose the people file.")),
                                   FileAllowed(["csv", "txt"], _l("Upload a .csv file."))])


class ConfirmImportForm(Form):
    digest = HiddenField()
