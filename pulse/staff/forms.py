from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from pulse.forms import Form, choices
from pulse.i18n import LANGUAGE_NAMES
from pulse.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH


class SettingsForm(Form):
    language = SelectField(_l("Language for pages and e-mail"), choices=choices(LANGUAGE_NAMES.items()))


class ChangePasswordForm(Form):
    current = PasswordField(_l("Current password"), validators=[DataRequired(_l("Enter your current password.")),
                                                                Length(max=MAX_PASSWORD_LENGTH)])
    password = PasswordField(
        _l("New password"),
        description=_l("At least %(n)d characters. A few unrelated words make a strong password.",
                       n=MIN_PASSWORD_LENGTH),
        validators=[DataRequired(_l("Enter a new password.")),
                    Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
                           message=_l("The password must be %(min)d to %(max)d characters long.",
                                      min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH))],
    )
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(_l("Repeat the new password.")),
                                        EqualTo("password", _l("The two passwords are not the same."))])


class ApiTokenForm(Form):
    name = StringField(_l("What the token is for"), description=_l("For example “Power BI” or “HR dashboard”."),
                       validators=[DataRequired(_l("Say what the token is for.")), Length(max=100)])
