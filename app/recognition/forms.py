"""Forms: give a recognition, react to one, the organisation's points allowance."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.forms import IntField, parse_int
from app.org.forms import MultiCheckboxField
from app.org.principles import Principle
from app.recognition.models import REACTIONS, EvidenceKind, Visibility
from app.recognition.services import MESSAGE_MAX
from app.validators import CleanText, strip_filter


def person_id(value) -> int:
    """A person's id from a checkbox: ASCII digits within the id range, else the field reports an error."""
    number = parse_int(value, minimum=1)
    if number is None:
        raise ValueError(value)
    return number


def optional_id(value) -> int | None:
    """An optional id from a select: None when empty or not an id."""
    return parse_int(value, minimum=1)


class RecognitionForm(FlaskForm):
    receivers = MultiCheckboxField(_l("Who do you recognise?"), coerce=person_id, validate_choice=False)
    whole_pod = BooleanField(_l("The whole pod"))
    message = TextAreaField(_l("What did they do?"), validators=[DataRequired(), Length(max=MESSAGE_MAX), CleanText()],
                            filters=[strip_filter])
    principle = RadioField(_l("Principle"), choices=lambda: list(Principle.labels().items()),
                           validators=[DataRequired()])
    evidence = RadioField(_l("Evidence"), choices=lambda: list(EvidenceKind.labels().items()),
                          default=EvidenceKind.CASE.value, validators=[DataRequired()])
    case_ref = StringField(_l("Case id"), validators=[Optional(), Length(max=64), CleanText()], filters=[strip_filter],
                           description=_l("The case's id in the helpdesk, e.g. 48213."))
    metric = SelectField(_l("Metric"), validators=[Optional()], validate_choice=False)
    subject = SelectField(_l("Whose figure"), choices=[("agent", _l("The person's own figure")),
                                                       ("pod", _l("The pod's figure"))], default="agent")
    action = SelectField(_l("Retro action"), coerce=optional_id,
                         validators=[Optional()], validate_choice=False)
    points = IntField(_l("Points"), default=0, minimum=0, maximum=100_000, validators=[Optional()])
    visibility = RadioField(_l("Who can see it"), default=Visibility.POD.value,
                            choices=list(Visibility.labels().items()))
    suggestion = StringField(validators=[Optional(), Length(max=80), CleanText()])
    submit = SubmitField(_l("Recognise"))


class ReactionForm(FlaskForm):
    kind = SelectField(choices=[(kind, kind) for kind in REACTIONS])


class SettingsForm(FlaskForm):
    monthly_allowance = IntField(_l("Points each person may give per month"), default=0, minimum=0,
                                 maximum=100_000, validators=[InputRequired()],
                                 description=_l("0 turns points off. Unused points do not roll over."))
    submit = SubmitField(_l("Save"))
