"""Forms: give a recognition, the organisation's points allowance."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.org.forms import MultiCheckboxField
from app.recognition.models import EvidenceKind, Visibility
from app.recognition.services import EVIDENCE_LABELS, MESSAGE_MAX, PRINCIPLE_LABELS
from app.validators import CleanText, strip_filter


class RecognitionForm(FlaskForm):
    receivers = MultiCheckboxField(_l("Who do you recognise?"), coerce=int, validate_choice=False)
    whole_pod = BooleanField(_l("The whole pod"))
    message = TextAreaField(_l("What did they do?"), validators=[DataRequired(), Length(max=MESSAGE_MAX), CleanText()],
                            filters=[strip_filter])
    principle = RadioField(_l("Principle"), choices=lambda: list(PRINCIPLE_LABELS.items()),
                           validators=[DataRequired()])
    evidence = RadioField(_l("Evidence"), choices=lambda: list(EVIDENCE_LABELS.items()),
                          default=EvidenceKind.CASE.value, validators=[DataRequired()])
    case_ref = StringField(_l("Case id"), validators=[Optional(), Length(max=64), CleanText()], filters=[strip_filter],
                           description=_l("The case's id in the helpdesk, e.g. 48213."))
    metric = SelectField(_l("Metric"), validators=[Optional()], validate_choice=False)
    subject = SelectField(_l("Whose figure"), choices=[("agent", _l("The person's own figure")),
                                                       ("pod", _l("The pod's figure"))], default="agent")
    action = SelectField(_l("Retro action"), coerce=lambda v: int(v) if str(v).isdigit() else None,
                         validators=[Optional()], validate_choice=False)
    points = IntegerField(_l("Points"), default=0, validators=[Optional(), NumberRange(min=0, max=100_000)])
    visibility = RadioField(_l("Who can see it"), default=Visibility.POD.value,
                            choices=[(Visibility.POD.value, _l("The pod")),
                                     (Visibility.ORG.value, _l("The whole organisation"))])
    suggestion = StringField(validators=[Optional(), Length(max=80)])
    submit = SubmitField(_l("Recognise"))


class SettingsForm(FlaskForm):
    monthly_allowance = IntegerField(_l("Points each person may give per month"), default=0,
                                     validators=[NumberRange(min=0, max=100_000)],
                                     description=_l("0 turns points off. Unused points do not roll over."))
    submit = SubmitField(_l("Save"))
