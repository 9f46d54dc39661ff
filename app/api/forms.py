"""The form admins create API tokens with."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from app.api.auth import NAME_LIMIT
from app.org.forms import ascii_id
from app.validators import CleanText, strip_filter


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), description=_l("What the token is for, e.g. “Zendesk nightly sync”."),
                       validators=[DataRequired(), Length(max=NAME_LIMIT), CleanText()], filters=[strip_filter])
    user_id = SelectField(_l("Acts as"), coerce=ascii_id, validate_choice=True,
                          description=_l("The token can do what this person can do, and nothing more."))
    submit = SubmitField(_l("Create token"))
