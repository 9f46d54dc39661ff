"""The forms behind every stand-up POST: text is cleaned and bounded like its column, numbers are ASCII and bounded."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from app.forms import INT_MAX, IntField
from app.standups.models import MAX_BLOCKER, MAX_CASE_REF, MAX_ENTRY_TEXT
from app.validators import CleanText, strip_filter

TOO_LONG = _l("At most %(max)d characters.")


class EntryForm(FlaskForm):
    yesterday = TextAreaField(_l("Yesterday"), filters=[strip_filter],
                              validators=[CleanText(), Length(max=MAX_ENTRY_TEXT, message=TOO_LONG)])
    today = TextAreaField(_l("Today"), filters=[strip_filter], validators=[CleanText(), Length(max=MAX_ENTRY_TEXT, message=TOO_LONG)])
    mood = IntField(_l("Mood"), validators=[Optional()], minimum=1, maximum=5)


class BlockerForm(FlaskForm):
    description = TextAreaField(_l("What blocks you?"), filters=[strip_filter],
                                validators=[CleanText(), Length(max=MAX_BLOCKER, message=TOO_LONG)])
    owner_id = IntField(_l("Owner"), validators=[Optional()], minimum=1, maximum=INT_MAX)
    case_ref = StringField(_l("Case reference (optional)"), filters=[strip_filter],
                           validators=[CleanText(), Length(max=MAX_CASE_REF, message=TOO_LONG)])


class BlockerActionForm(FlaskForm):
    """Resolve or escalate: the board the button was pressed on, to answer with that board's live part."""

    board_id = IntField(_l("Board"), validators=[InputRequired()], minimum=1, maximum=INT_MAX)


class SpeakerForm(FlaskForm):
    """Next / skip: the speaker the coach saw, so a double click advances once only."""

    index = IntField(_l("Speaker"), validators=[InputRequired()], minimum=0, maximum=10_000)


class SettingsForm(FlaskForm):
    escalate_after_days = IntField(_l("Escalate open blockers after (working days)"),
                                   validators=[InputRequired()], minimum=1, maximum=30)
    timebox_seconds = IntField(_l("Time per person (seconds)"), validators=[InputRequired()], minimum=15,
                               maximum=900)
