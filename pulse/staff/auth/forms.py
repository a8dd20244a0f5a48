from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, PasswordField, SelectField
from wtforms.validators import DataRequired, EqualTo, Length

from pulse.common.i18n import LANGUAGE_NAMES
from pulse.common.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from pulse.staff.forms import Form, choices


class SignInForm(Form):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(_l("Enter your e-mail address.")),
                                                          Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")),
                                                         Length(max=MAX_PASSWORD_LENGTH)])
    next = HiddenField()


class ForgotPasswordForm(Form):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(_l("Enter your e-mail address.")),
                                                          Length(max=254)])


class NewPasswordForm(Form):
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


class LanguageForm(Form):
    language = SelectField(_l("Language"), choices=choices(LANGUAGE_NAMES.items()))
    next = HiddenField()
