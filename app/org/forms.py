"""Forms for people, segments, lifecycle stages, pods, memberships and settings."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.forms import (
    EARLIEST_DATE,
    LANGUAGE_CHOICES,
    LATEST_DATE,
    IntField,
    language_or_none,
    parse_int,
    validate_timezone_field,
)
from app.org.models import Role
from app.validators import CleanText, strip_filter


def role_choices():
    return list(Role.labels().items())


def weekday_choices():
    return [
        ("1", _l("Monday")), ("2", _l("Tuesday")), ("3", _l("Wednesday")), ("4", _l("Thursday")),
        ("5", _l("Friday")), ("6", _l("Saturday")), ("7", _l("Sunday")),
    ]


def profile_choices():
    return [("generalist", _l("Generalist")), ("specialist", _l("Specialist"))]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(check_deliverability=False), Length(max=254),
                                                CleanText()], filters=[strip_filter])
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=120), CleanText()],
                               filters=[strip_filter])
    role = SelectField(_l("Role"), choices=role_choices)
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, coerce=language_or_none)
    timezone = StringField(_l("Time zone"), default="Europe/Madrid",
                           validators=[DataRequired(), Length(max=64), validate_timezone_field], filters=[strip_filter])
    active = BooleanField(_l("Active (may sign in)"), default=True)
    password = PasswordField(_l("Password"), validators=[Optional(), Length(min=10, max=512)],
                             description=_l("Leave empty to keep the current password."))
    submit = SubmitField(_l("Save"))


class OrderedItemForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80), CleanText()], filters=[strip_filter])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000), CleanText()],
                                filters=[strip_filter])
    position = IntField(_l("Position"), default=0, validators=[Optional(), NumberRange(min=0, max=10000)])
    active = BooleanField(_l("Active"), default=True)
    submit = SubmitField(_l("Save"))


class PodForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80), CleanText()], filters=[strip_filter])
    mission = TextAreaField(_l("Mission"), validators=[Optional(), Length(max=2000), CleanText()],
                            filters=[strip_filter])
    timezone = StringField(_l("Time zone"), default="Europe/Madrid",
                           validators=[DataRequired(), Length(max=64), validate_timezone_field], filters=[strip_filter])
    standup_time = TimeField(_l("Stand-up time"), validators=[DataRequired()])
    working_days = MultiCheckboxField(_l("Working days"), choices=weekday_choices,
                                      default=["1", "2", "3", "4", "5"])
    coaches = MultiCheckboxField(_l("Coaches"), choices=[], coerce=lambda value: ascii_id(value))
    submit = SubmitField(_l("Save pod"))

    def validate_working_days(self, field):
        if not field.data:
            raise ValidationError(_l("Choose at least one working day."))


def supported_date(form, field):
    if field.data is not None and not EARLIEST_DATE <= field.data <= LATEST_DATE:
        raise ValidationError(_l("Give a date between %(first)s and %(last)s.", first=EARLIEST_DATE.isoformat(),
                                 last=LATEST_DATE.isoformat()))


def ascii_id(value) -> int:
    """SelectField coercion for ids: ASCII digits within the id range ("١" is not 1), else a form error."""
    number = parse_int(value, minimum=1)
    if number is None:
        raise ValueError(_l("Choose a person from the list."))
    return number


class MemberForm(FlaskForm):
    # Not limited to the listed choices: the service refuses who the acting user may not add, with the reason.
    user_id = SelectField(_l("Person"), coerce=ascii_id, validators=[DataRequired()], validate_choice=False)
    start_date = DateField(_l("Member from"), validators=[DataRequired(), supported_date])
    profile = SelectField(_l("Profile"), choices=profile_choices)
    skills = StringField(_l("Skills"), validators=[Optional(), Length(max=500), CleanText()], filters=[strip_filter],
                         description=_l("Free text, e.g. billing, porting, Italian"))
    submit = SubmitField(_l("Add member"))


class MembershipEditForm(FlaskForm):
    profile = SelectField(_l("Profile"), choices=profile_choices)
    skills = StringField(_l("Skills"), validators=[Optional(), Length(max=500), CleanText()], filters=[strip_filter])
    submit = SubmitField(_l("Save"))


class EndMembershipForm(FlaskForm):
    end_date = DateField(_l("Member until"), validators=[DataRequired(), supported_date])
    submit = SubmitField(_l("End membership"))


class OrganisationForm(FlaskForm):
    name = StringField(_l("Organisation name"), validators=[DataRequired(), Length(max=120), CleanText()],
                       filters=[strip_filter])
    timezone = StringField(_l("Organisation time zone"),
                           validators=[DataRequired(), Length(max=64), validate_timezone_field], filters=[strip_filter])
    fiscal_year_start_month = IntField(_l("Fiscal year starts in month"), default=1,
                                           validators=[DataRequired(), NumberRange(min=1, max=12)])
    submit = SubmitField(_l("Save settings"))


class CoverageForm(FlaskForm):
    """Carries only the CSRF token for the coverage toggles."""
