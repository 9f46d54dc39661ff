"""Forms behind every review POST: what is read from them is bounded and clean before a service sees it."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from app.forms import IntField
from app.reviews.services import NARRATIVE_MAX, REASON_MAX, TITLE_MAX
from app.validators import CleanText, strip_filter


def _one_newline(value):
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


def _required_line(label, missing, limit: int, too_long) -> StringField:
    """A required one-line text, clean and no longer than its column."""
    return StringField(label, validators=[InputRequired(missing), CleanText(), Length(max=limit, message=too_long)],
                       filters=[strip_filter])


class OpenReviewForm(FlaskForm):
    pod_id = IntField(_l("Pod"), minimum=1, validators=[InputRequired(_l("Choose a pod from the list."))])
    quarter = StringField(_l("Quarter"), validators=[InputRequired(_l("Choose a quarter like 2026-Q4.")),
                                                     Length(max=7, message=_l("Choose a quarter like 2026-Q4."))],
                          filters=[strip_filter])


class NarrativeForm(FlaskForm):
    section = StringField(validators=[InputRequired(), Length(max=16)])
    text = TextAreaField(validators=[Optional(), CleanText(),
                                     Length(max=NARRATIVE_MAX, message=_l("Keep each section under %(n)s characters.",
                                                                          n=NARRATIVE_MAX))],
                         filters=[_one_newline, strip_filter])


class ObjectiveForm(FlaskForm):
    title = _required_line(_l("New objective"), _l("Give the objective a title."), TITLE_MAX,
                           _l("Keep the title under %(n)s characters.", n=TITLE_MAX))


class KeyResultForm(FlaskForm):
    metric = StringField(_l("Metric"), validators=[InputRequired(_l("Choose a metric from the list.")),
                                                   Length(max=32)])
    target = StringField(_l("Target"), validators=[InputRequired(_l("Enter the target as a number.")),
                                                   Length(max=40)])
    confidence = IntField(_l("Confidence"), minimum=0, maximum=10, validators=[Optional()])


class ConfidenceForm(FlaskForm):
    confidence = IntField(_l("Confidence"), minimum=0, maximum=10,
                          validators=[InputRequired(_l("Confidence is a whole number from 0 to 10."))])


class ReopenForm(FlaskForm):
    reason = _required_line(_l("Reason for reopening"), _l("Say why the review is reopened."), REASON_MAX,
                            _l("Keep the reason under %(n)s characters.", n=REASON_MAX))
