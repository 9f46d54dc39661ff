"""Sign-in and profile forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.timeutil import is_valid_timezone
from app.validators import CleanText, strip_filter

# "" keeps no stored language: the person follows their browser's language until they choose one.
LANGUAGE_CHOICES = [("", _l("The browser's language")), ("en", "English"), ("es", "Español"), ("it", "Italiano")]


def language_or_none(value: str | None) -> str | None:
    return value or None


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254), CleanText()], filters=[strip_filter])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=512)])
    remember = BooleanField(_l("Remember me"))
    submit = SubmitField(_l("Sign in"))


def validate_timezone_field(form, field):
    # Length first: a 10,000-character name is a file name too long for the zoneinfo lookup (OSError).
    value = field.data or ""
    if len(value) > 64 or not is_valid_timezone(value):
        raise ValidationError(_l("Choose a time zone from the list."))


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
