"""Forms of the import pages: the upload and one value mapping."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from app.forms import validate_timezone_field
from app.outcomes.attribution import KINDS
from app.outcomes.importers import FORMAT_NAMES, FORMATS
from app.validators import CleanText, strip_filter


class ImportForm(FlaskForm):
    file = FileField(_l("Export file (CSV)"), validators=[FileRequired(_l("Choose the CSV file to import."))])
    format = SelectField(_l("Format"), choices=[(fmt, FORMAT_NAMES[fmt]) for fmt in FORMATS], default="zendesk")
    timezone = StringField(_l("Time zone of the file's dates"),
                           validators=[DataRequired(), Length(max=64), validate_timezone_field],
                           filters=[strip_filter])
    segment_from = StringField(_l("Segment from"), validators=[Optional(), Length(max=120), CleanText()],
                               filters=[strip_filter])
    stage_from = StringField(_l("Lifecycle stage from"), validators=[Optional(), Length(max=120), CleanText()],
                             filters=[strip_filter])
    request_type_from = StringField(_l("Request type from"), validators=[Optional(), Length(max=120), CleanText()],
                                    filters=[strip_filter])
    submit = SubmitField(_l("Import"))


class MappingForm(FlaskForm):
    """One source value and what it means in Podium; the target is checked by the service."""

    kind = SelectField(choices=[(kind, kind) for kind in KINDS], validators=[DataRequired()])
    source_value = StringField(validators=[DataRequired(), Length(max=254), CleanText()], filters=[strip_filter])
    target = StringField(validators=[DataRequired(), Length(max=32)], filters=[strip_filter])
