from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from pulse.common.i18n import LANGUAGE_NAMES
from pulse.common.passwords import MAX_PASSWORD_LENGTH
from pulse.staff.auth.forms import NewPasswordForm
from pulse.staff.forms import Form, choices


class SettingsForm(Form):
    language = SelectField(_l("Language for pages and e-mail"), choices=choices(LANGUAGE_NAMES.items()))


class ChangePasswordForm(NewPasswordForm):
    """A new password (the same fields and rules as a reset), confirmed with the current one."""

    current = PasswordField(_l("Current password"), validators=[DataRequired(_l("Enter your current password.")),
                                                                Length(max=MAX_PASSWORD_LENGTH)])


class ApiTokenForm(Form):
    name = StringField(_l("What the token is for"), description=_l("For example “Power BI” or “HR dashboard”."),
                       validators=[DataRequired(_l("Say what the token is for.")), Length(max=100)])
