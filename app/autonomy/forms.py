"""The forms autonomy pages accept. Numbers and ids read ASCII digits only (app.forms); free texts refuse control
characters and stay within what the ledger keeps. Amounts stay text here: their unit (money, days, count) decides
how they read, so the service parses them."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import AnyOf, Length, Optional

from app.autonomy import models as M  # the longest texts the ledger keeps (M.*_MAX)
from app.autonomy.errors import AutonomyError
from app.autonomy.models import Period, ScopeLevel, Unit
from app.forms import IntField
from app.org.models import Role
from app.outcomes.models import REQUEST_TYPES
from app.validators import CleanText

AMOUNT_MAX_CHARS = 20
_NOT_LISTED = _l("A choice was not valid; pick it from the list.")


def _choice(label, allowed):
    return StringField(label, validators=[Optional(), AnyOf(list(allowed), message=_NOT_LISTED)])


def _text(label, limit: int, area: bool = False):
    field = TextAreaField if area else StringField
    return field(label, validators=[CleanText(), Length(max=limit)])


def _id(label):
    return IntField(label, minimum=1)


class DecisionForm(FlaskForm):
    action_type_id = _id(_l("Action"))
    amount = _text(_l("Amount"), AMOUNT_MAX_CHARS)
    currency = _text(_l("Currency"), 3)
    case_ref = _text(_l("Case reference"), M.CASE_REF_MAX)
    customer = _text(_l("Customer"), M.CUSTOMER_MAX)
    rationale = _text(_l("Why"), M.RATIONALE_MAX, area=True)
    pod_id = _id(_l("Pod"))
    # Used only when Podium does not know the case (then the decision is marked as declared).
    segment_id = _id(_l("Segment"))
    stage_id = _id(_l("Lifecycle stage"))
    request_type = _choice(_l("Request type"), REQUEST_TYPES)


class VerdictForm(FlaskForm):
    comment = _text(_l("Comment"), M.COMMENT_MAX, area=True)
    next = StringField()


class LimitForm(FlaskForm):
    action_type_id = _id(_l("Action"))
    level = _choice(_l("Level"), [s.value for s in ScopeLevel])
    role = _choice(_l("Role"), [r.value for r in Role])
    pod_id = _id(_l("Pod"))
    agent_id = _id(_l("Person"))
    segment_id = _id(_l("Segment"))
    stage_id = _id(_l("Lifecycle stage"))
    request_type = _choice(_l("Request type"), REQUEST_TYPES)
    per_case_max = _text(_l("Maximum per case"), AMOUNT_MAX_CHARS)
    period = _choice(_l("Period"), [p.value for p in Period])
    period_cap = _text(_l("Cap per period"), AMOUNT_MAX_CHARS)
    customer_cap = _text(_l("Cap per customer"), AMOUNT_MAX_CHARS)
    approver_role = _choice(_l("Who approves above it"), ("coach", "leader"))
    reason = _text(_l("Reason"), M.REASON_MAX, area=True)


class ReasonForm(FlaskForm):
    reason = _text(_l("Reason"), M.REASON_MAX, area=True)


class ProposalVerdictForm(FlaskForm):
    per_case_max = _text(_l("Maximum per case"), AMOUNT_MAX_CHARS)
    comment = _text(_l("Comment"), M.COMMENT_MAX, area=True)


class ActionTypeForm(FlaskForm):
    code = _text(_l("Code"), 32)
    name = _text(_l("Name"), 80)
    name_es = _text(_l("Name in Spanish"), 80)
    name_it = _text(_l("Name in Italian"), 80)
    unit = _choice(_l("Unit"), [u.value for u in Unit])
    currency = _text(_l("Currency"), 3)
    description = _text(_l("Description"), M.DESCRIPTION_MAX, area=True)
    position = IntField(_l("Position"), minimum=0, maximum=10_000)
    active = BooleanField(_l("Active"))


class SettingsForm(FlaskForm):
    escalation_hours = IntField(_l("Escalate after (working hours)"), minimum=1, maximum=80)
    workday_start_hour = IntField(_l("Working day starts at"), minimum=0, maximum=24)
    workday_end_hour = IntField(_l("Working day ends at"), minimum=0, maximum=24)


def checked(form: FlaskForm) -> FlaskForm:
    """The form, validated; the first problem becomes the autonomy error the page shows (nothing is saved)."""
    if not form.validate():
        name, errors = next(iter(form.errors.items()))
        field = getattr(form, name, None)
        label = field.label.text if field is not None else name
        raise AutonomyError(_l("%(field)s is not valid: %(problem)s", field=label, problem=errors[0]))
    return form
