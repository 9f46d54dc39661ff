"""The forms behind every skills-matrix POST: levels and keys from fixed lists, ids ASCII and bounded."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import InputRequired, Length

from app.forms import INT_MAX, IntField
from app.skills.models import Level
from app.skills.services import MAX_SKILL_NAME
from app.validators import CleanText, strip_filter

LEVEL_CHOICES = list(Level.labels().items())


class LevelForm(FlaskForm):
    """The coach sets a member's level of a skill."""

    user_id = IntField(_l("Member"), validators=[InputRequired()], minimum=1, maximum=INT_MAX)
    skill = StringField(_l("Skill"), filters=[strip_filter], validators=[InputRequired(), CleanText(), Length(max=40)])
    level = SelectField(_l("Level"), choices=LEVEL_CHOICES, validators=[InputRequired()])


class ProposeForm(FlaskForm):
    """A member proposes their own level of a skill."""

    skill = StringField(_l("Skill"), filters=[strip_filter], validators=[InputRequired(), CleanText(), Length(max=40)])
    level = SelectField(_l("Level"), choices=LEVEL_CHOICES, validators=[InputRequired()])


class DecideForm(FlaskForm):
    verdict = SelectField(_l("Decision"), choices=[("confirm", _l("Confirm")), ("decline", _l("Decline"))],
                          validators=[InputRequired()])


class SkillForm(FlaskForm):
    name = StringField(_l("New skill"), filters=[strip_filter],
                       validators=[InputRequired(), CleanText(), Length(max=MAX_SKILL_NAME)],
                       description=_l("Something the pod needs beyond request types and channels, e.g. "
                                      "“billing system”."))
