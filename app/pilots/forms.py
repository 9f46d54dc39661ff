"""Forms behind every pilot POST: bounded and clean before a service sees them."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from app.forms import IntField, parse_date, parse_int
from app.org.forms import MultiCheckboxField
from app.pilots.services import HYPOTHESIS_MAX, NAME_MAX
from app.validators import CleanText, strip_filter


def cell_value(segment_id: int, stage_id: int) -> str:
    return f"{segment_id}-{stage_id}"


def parse_cells(values) -> list[tuple[int, int]]:
    """"segment-stage" ids as sent by the cell checkboxes; anything else (or an id beyond INTEGER) is dropped."""
    cells = []
    for value in values or ():
        left, _sep, right = str(value).partition("-")
        segment, stage = parse_int(left, minimum=1), parse_int(right, minimum=1)
        if segment is not None and stage is not None:
            cells.append((segment, stage))
    return cells


class _Cells(FlaskForm):
    cells = MultiCheckboxField(_l("Cells"), choices=[], validate_choice=False)
    start_date = StringField(_l("Start date"), validators=[InputRequired(_l("Give the start date.")),
                                                           Length(max=10)], filters=[strip_filter])

    @property
    def start(self):
        return parse_date(self.start_date.data)


class PilotForm(_Cells):
    name = StringField(_l("Name"), validators=[InputRequired(_l("Give the pilot a name.")), CleanText(),
                                               Length(max=NAME_MAX)], filters=[strip_filter])
    pod_id = IntField(_l("Pod"), minimum=1, validators=[Optional()])
    new_pod_name = StringField(_l("Or create a pod named"), validators=[Optional(), CleanText(), Length(max=80)],
                               filters=[strip_filter])
    metrics = MultiCheckboxField(_l("Metrics it aims to move"), choices=[], validate_choice=False)
    hypothesis = TextAreaField(_l("Hypothesis"), validators=[InputRequired(_l("Write the hypothesis.")), CleanText(),
                                                             Length(max=HYPOTHESIS_MAX)], filters=[strip_filter])


class WidenForm(_Cells):
    pass


class CloseForm(FlaskForm):
    outcome = SelectField(_l("Outcome"), choices=[("ended", _l("End")), ("adopted", _l("Adopt"))])
    on = StringField(_l("On"), validators=[Optional(), Length(max=10)], filters=[strip_filter])


class SettingsForm(FlaskForm):
    complaints = MultiCheckboxField(_l("Request types that are complaints"), choices=[], validate_choice=False)
