"""The pod targets form: one optional field per metric, rates entered as percentages."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, SubmitField
from wtforms.validators import Optional, ValidationError

from app.outcomes.targets import UPPER_BOUND


class FlexibleDecimalField(DecimalField):
    """A decimal that also accepts a comma as the decimal separator (85,5) and refuses NaN and infinity."""

    def process_formdata(self, valuelist):
        if valuelist and isinstance(valuelist[0], str):
            valuelist = [valuelist[0].strip().replace(",", ".")]
        if valuelist and valuelist[0]:
            try:
                number = Decimal(valuelist[0])
            except (InvalidOperation, ValueError):
                self.data = None
                raise ValueError(_("Enter a number.")) from None
            if not number.is_finite():
                self.data = None
                raise ValueError(_("Enter a number."))
            self.data = number
            return
        self.data = None


class Between:
    """Inclusive bounds with a message that names them."""

    def __init__(self, low: float, high: float, message):
        self.low, self.high, self.message = low, high, message

    def __call__(self, form, field):
        if field.data is None:
            return
        if not (math.isfinite(float(field.data)) and self.low <= float(field.data) <= self.high):
            raise ValidationError(self.message)


class TargetsForm(FlaskForm):
    submit = SubmitField(_l("Save targets"))

    def target_values(self, definitions) -> dict[str, float | None]:
        """The entered targets in the engine's units: rates as fractions, blank fields as None."""
        values: dict[str, float | None] = {}
        for definition in definitions:
            data = self[definition.code].data
            if data is None:
                values[definition.code] = None
            elif definition.unit == "rate":
                values[definition.code] = float(data) / 100
            else:
                values[definition.code] = float(data)
        return values


def _field(definition) -> FlexibleDecimalField:
    if definition.unit == "rate":
        return FlexibleDecimalField(
            definition.label, places=None, description=_l("Percent, 0 to 100. Leave blank for no target."),
            validators=[Optional(), Between(0, 100, _l("Enter a percentage between 0 and 100."))])
    if definition.unit == "minutes":
        return FlexibleDecimalField(
            definition.label, places=None, description=_l("Minutes. Leave blank for no target."),
            validators=[Optional(), Between(0, UPPER_BOUND["minutes"],
                                            _l("Enter a number of minutes of 0 or more (at most a year)."))])
    return FlexibleDecimalField(
        definition.label, places=None, description=_l("Leave blank for no target."),
        validators=[Optional(), Between(0, UPPER_BOUND["count"], _l("Enter a number of 0 or more."))])


def targets_form(definitions, **kwargs) -> TargetsForm:
    """A TargetsForm with a field per targetable metric, named by the metric's code."""

    class Form(TargetsForm):
        pass

    for definition in definitions:
        setattr(Form, definition.code, _field(definition))
    return Form(**kwargs)
