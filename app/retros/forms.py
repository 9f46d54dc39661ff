"""The forms every retro POST accepts: bounded lengths, ASCII numbers and dates, no control characters.

The forms check the shape of what is sent; the rules of retros (phases, budgets, who may do what) stay in the
services, which give their own messages.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import InputRequired, ValidationError

from app.forms import IntField, parse_date
from app.retros.services import MAX_ACTION, MAX_CARD, MAX_NOTE, MAX_TEMPLATE_NAME, MAX_TITLE
from app.validators import CleanText


class MaxLength:
    """At most ``limit`` characters, with a message that names the field."""

    def __init__(self, limit: int):
        self.limit = limit

    def __call__(self, form, field):
        if field.data and len(field.data) > self.limit:
            raise ValidationError(_l("%(field)s is too long (at most %(limit)d characters).",
                                     field=field.label.text, limit=self.limit))


def _text(label, limit: int, field=StringField):
    return field(label, validators=[MaxLength(limit), CleanText()], default="")


def _number(label, *, required: bool = True, minimum: int = 0):
    validators = [InputRequired(message=_l("A required value is missing."))] if required else []
    return IntField(label, validators=validators, minimum=minimum)


class IsoDateField(StringField):
    """A day as YYYY-MM-DD in ASCII digits (``data`` is a date, or None when empty)."""

    def process_formdata(self, valuelist):
        raw = (valuelist[0] if valuelist else "") or ""
        self.raw_text = raw
        self.data = parse_date(raw) if raw.strip() else None
        if raw.strip() and self.data is None:
            raise ValueError(_l("Give the date as YYYY-MM-DD."))


class RetroForm(FlaskForm):
    title = _text(_l("Title"), MAX_TITLE)
    template = _text(_l("Template"), 60)
    facilitator_id = _number(_l("Facilitator"), required=False, minimum=1)
    anonymous = BooleanField(_l("Anonymous cards"))
    votes_per_person = _number(_l("Votes per person"))
    max_votes_per_item = _number(_l("Most votes on one item"))
    hide_votes = BooleanField(_l("Hide vote counts until voting ends"))
    grouping = _text(_l("Who groups cards"), 20)


class TemplateForm(FlaskForm):
    name = _text(_l("Name"), MAX_TEMPLATE_NAME)
    columns = _text(_l("Columns, one per line"), 1000, TextAreaField)
    name_es = _text(_l("Name in Spanish"), MAX_TEMPLATE_NAME)
    name_it = _text(_l("Name in Italian"), MAX_TEMPLATE_NAME)
    columns_es = _text(_l("Columns in Spanish, one per line"), 1000, TextAreaField)
    columns_it = _text(_l("Columns in Italian, one per line"), 1000, TextAreaField)


class PhaseForm(FlaskForm):
    phase = _text(_l("Phase"), 12)


class TimerForm(PhaseForm):
    minutes = _number(_l("Timer (minutes)"))


class FacilitatorForm(FlaskForm):
    facilitator_id = _number(_l("Facilitator"), minimum=1)


class CheckinForm(FlaskForm):
    pulse = _number(_l("How are you arriving today?"))


class ReviewForm(FlaskForm):
    status = _text(_l("Status"), 12)


class CardForm(FlaskForm):
    column = _text(_l("Column"), 40)
    text = _text(_l("Card text"), MAX_CARD, TextAreaField)
    case_ref = _text(_l("Case id"), 64)
    metric = _text(_l("Metric"), 40)


class CardTextForm(FlaskForm):
    text = _text(_l("Card text"), MAX_CARD, TextAreaField)


class MoveForm(FlaskForm):
    target = _text(_l("Move to group"), 24)


class GroupForm(FlaskForm):
    title = _text(_l("Group name"), MAX_TITLE)


class VoteForm(FlaskForm):
    item = _text(_l("Vote"), 24)


class NoteForm(FlaskForm):
    topic = _text(_l("Topic"), 24)
    text = _text(_l("Notes"), MAX_NOTE, TextAreaField)


class ActionForm(FlaskForm):
    title = _text(_l("Action"), MAX_ACTION)
    owner_id = _number(_l("Owner"), minimum=1)
    due_date = IsoDateField(_l("Due date"))
    principle = _text(_l("Principle"), 32)
    topic = _text(_l("Topic"), 24)
    metric = _text(_l("Metric"), 40)
    scope = _text(_l("Scope"), 24)
    direction = _text(_l("Direction"), 4)
