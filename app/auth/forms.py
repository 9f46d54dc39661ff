"""Sign-in and profile forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from app.forms import LANGUAGE_CHOICES, language_or_none, validate_timezone_field
from app.validators import CleanText, strip_filter


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254), CleanText()], filters=[strip_filter])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=512)])
    remember = BooleanField(_l("Remember me"))
    submit = SubmitField(_l("Sign in"))


class ProfileForm(FlaskForm):
    display_name = StringField(
        _l("Display name"), validators=[DataRequired(), Length(max=120), CleanText()], filters=[strip_filter]
    )
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, coerce=language_or_none)
    timezone = StringField(
        _l("Time zone"), validators=[DataRequired(), Length(max=64), validate_timezone_field], filters=[strip_filter]
    )
    submit = SubmitField(_l("Save profile"))


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=512)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=10, max=512)])
    confirm = PasswordField(
        _l("Repeat new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two passwords do not match."))],
    )
    submit = SubmitField(_l("Change password"))
