"""Every autonomy rule and write: the catalog, versioned limits, evaluating decisions, approvals, escalation
and limit fitness. Services take the acting user and `now`; they flush, never commit.

Concurrency: evaluating a decision reads what the agent already used in the period and then writes the
decision, so it runs under a lock per (agent, action type): a transaction-level advisory lock on
PostgreSQL, and an IMMEDIATE transaction (the database write lock, taken before any read) on SQLite.
Two decisions at the same moment are therefore evaluated one after the other and can never both pass
under one cap.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.numbers import list_currencies
from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select, text, update

from app.autonomy.errors import AutonomyError
from app.autonomy.models import (
    CASE_REF_MAX,
    COMMENT_MAX,
    CUSTOMER_MAX,
    DESCRIPTION_MAX,
    RATIONALE_MAX,
    REASON_MAX,
    ActionType,
    AutonomySettings,
    Decision,
    DecisionStatus,
    Limit,
    LimitVersion,
    Period,
    Proposal,
    ScopeLevel,
    Unit,
)
from app.extensions import begin_write, db
from app.formatting import NAMED_LOCALES, clean_names
from app.notifications.services import notify, register_kind
from app.org.models import LifecycleStage, Membership, Pod, Role, Segment, User, pod_coaches
from app.org.services import get_organisation
from app.outcomes.ingest import customer_salt
from app.outcomes.models import REQUEST_TYPES, Case, Source
from app.timeutil import local_to_utc, to_local, utcnow
from app.validators import forbidden_characters

MAX_AMOUNT = 100_000_000  # 1,000,000.00 in minor units, 100 million days or items: anything above is a typo
FITNESS_DAYS = 90
FITNESS_MIN_REQUESTS = 10
FITNESS_APPROVAL_SHARE = 0.9
REVIEW_MIN_DECISIONS = 10
REVIEW_BAD_SHARE = 0.3
BAD_CSAT = 2  # a CSAT of 1 or 2 out of 5 is bad
CASE_SOURCES = tuple(s.value for s in Source)


def _case_is(ref):
    """Match a case by reference; naming the sources lets the database use the (source, external_id) index."""
    return and_(Case.source.in_(CASE_SOURCES), Case.external_id == ref)

DEFAULT_ACTION_TYPES = (
    ("refund", "Refund", Unit.MONEY, "EUR"),
    ("goodwill_credit", "Goodwill credit", Unit.MONEY, "EUR"),
    ("fee_waiver", "Fee waiver", Unit.MONEY, "EUR"),
    ("replacement", "Replacement", Unit.COUNT, None),
    ("payment_extension", "Payment extension", Unit.DAYS, None),
    ("plan_change", "Plan change", Unit.COUNT, None),
    ("contract_exception", "Contract exception", Unit.COUNT, None),
)
# The default catalog's names in the other languages (an admin can change them like the base name).
DEFAULT_ACTION_TYPE_NAMES = {
    "refund": {"es": "Reembolso", "it": "Rimborso"},
    "goodwill_credit": {"es": "Abono de cortesía", "it": "Accredito di cortesia"},
    "fee_waiver": {"es": "Condonación de cuota", "it": "Storno del canone"},
    "replacement": {"es": "Sustitución", "it": "Sostituzione"},
    "payment_extension": {"es": "Aplazamiento de pago", "it": "Proroga di pagamento"},
    "plan_change": {"es": "Cambio de tarifa", "it": "Cambio di piano"},
    "contract_exception": {"es": "Excepción contractual", "it": "Eccezione contrattuale"},
}

register_kind("autonomy_request", _l("%(agent)s asks for approval: %(action)s %(amount)s (case %(case)s)."))
register_kind("autonomy_escalated", _l("A request from %(agent)s waited too long and now needs you: %(action)s "
                                       "%(amount)s (case %(case)s)."))
register_kind("autonomy_approved", _l("%(approver)s approved your %(action)s of %(amount)s (case %(case)s)."))
register_kind("autonomy_rejected", _l("%(approver)s rejected your %(action)s of %(amount)s (case %(case)s)."))
register_kind("autonomy_proposal", _l("%(coach)s proposes a limit change: %(action)s for %(scope)s."))
register_kind("autonomy_suggestion", _l("Limit fitness: %(count)s new suggestion(s) to review."))


def currencies() -> list[str]:
    return sorted(list_currencies())


def is_currency(code: str | None) -> bool:
    return bool(code) and code in list_currencies()


def format_amount(unit: str, amount: int | None, currency: str | None = None) -> str:
    """A plain rendering used in notifications (pages use the Jinja filter with the reader's locale)."""
    if amount is None:
        return "—"
    if unit == Unit.MONEY.value:
        return f"{amount / 100:.2f} {currency or ''}".strip()
    if unit == Unit.DAYS.value:
        return str(_l("%(n)s days", n=amount))
    return str(amount)


def pseudonymise(customer: str) -> str:
    """Customers stay pseudonymous: keep only a salted hash of what the agent typed."""

    value = (customer or "").strip()
    if not value:
        return ""
    return hashlib.blake2b(f"autonomy:{value}".encode(), digest_size=16, key=customer_salt()[:64]).hexdigest()


def get_settings() -> AutonomySettings:
    settings = db.session.get(AutonomySettings, 1)
    if settings is None:
        settings = AutonomySettings(id=1, escalation_hours=4, workday_start_hour=9, workday_end_hour=17)
        db.session.add(settings)
        db.session.flush()
    return settings


def clean_text(value, limit: int, label, *, missing=None) -> str:
    """A person's free text, trimmed: no NUL or other control characters (PostgreSQL cannot store NUL, and
    services are called from jobs, the demo and the API too, not only from checked forms), and within `limit`."""
    text_value = value.strip() if isinstance(value, str) else ("" if value is None else str(value).strip())
    if forbidden_characters(text_value):
        raise AutonomyError(_l("%(field)s contains characters that are not allowed (such as NUL).", field=label))
    if missing is not None and not text_value:
        raise AutonomyError(missing)
    if len(text_value) > limit:
        raise AutonomyError(_l("%(field)s is too long: keep it within %(max)s characters.", field=label,
                               max=limit))
    return text_value


def _require_role(actor: User | None, role: Role, message) -> None:
    if actor is not None and not actor.has_role(role):
        raise AutonomyError(message, 403)


# --- catalog --------------------------------------------------------------------------------------------


def ensure_action_types() -> list[ActionType]:
    """Seed the default catalog; idempotent (existing codes are left as the admin edited them)."""
    existing = {a.code: a for a in db.session.scalars(select(ActionType))}
    for position, (code, name, unit, currency) in enumerate(DEFAULT_ACTION_TYPES, start=1):
        if code not in existing:
            item = ActionType(code=code, name=name, unit=unit.value, currency=currency, position=position,
                              names=dict(DEFAULT_ACTION_TYPE_NAMES[code]))
            db.session.add(item)
            existing[code] = item
        elif existing[code].names is None and existing[code].name == name:  # seeded before names per language
            existing[code].names = dict(DEFAULT_ACTION_TYPE_NAMES[code])
    db.session.flush()
    return sorted(existing.values(), key=lambda a: (a.position, a.id))


def action_types(active_only: bool = True) -> list[ActionType]:
    query = select(ActionType).order_by(ActionType.position, ActionType.id)
    if active_only:
        query = query.where(ActionType.active)
    return list(db.session.scalars(query))


def save_action_type(actor: User | None, item: ActionType | None, *, code: str, name: str, unit: str,
                     currency: str | None, description: str = "", position: int = 0,
                     active: bool = True, names: dict | None = None) -> ActionType:
    """Create or change an action type; ``names`` ({"es": ..., "it": ...}) name it per language, ``name`` is the
    fallback for any other (None leaves the names an existing item has)."""
    _require_role(actor, Role.ADMIN, _l("Only an admin edits the action type catalog."))
    code = clean_text(code, 32, _l("Code")).lower()
    name = clean_text(name, 80, _l("Name"))
    if names is not None:
        names = clean_names({lang: clean_text(names.get(lang), 80, _l("Name")) for lang in NAMED_LOCALES})
    description = clean_text(description, DESCRIPTION_MAX, _l("Description"))
    if not code or not name or len(code) > 32 or len(name) > 80:
        raise AutonomyError(_l("Give the action type a code (up to 32 characters) and a name (up to 80)."))
    if unit not in {u.value for u in Unit}:
        raise AutonomyError(_l("Choose a unit: money, days or count."))
    currency = (currency or "").strip().upper() or None
    if unit == Unit.MONEY.value:
        if not is_currency(currency):
            raise AutonomyError(_l("Choose a valid ISO currency for a money action type."))
    else:
        currency = None
    clash = db.session.scalar(select(ActionType.id).where(or_(ActionType.code == code, ActionType.name == name),
                                                          ActionType.id != (item.id if item else -1)))
    if clash is not None:
        raise AutonomyError(_l("Another action type already uses this code or name."))
    if item is not None and item.unit != unit:
        used = db.session.scalar(select(func.count()).select_from(Decision).where(Decision.action_type_id == item.id))
        if used:
            raise AutonomyError(_l("Decisions were logged with this action type; its unit can no longer change."))
    if item is None:
        item = ActionType()
        db.session.add(item)
    item.code, item.name, item.unit, item.currency = code, name, unit, currency
    item.description, item.position, item.active = description, position, active
    if names is not None or item.id is None:
        item.names = names
    db.session.flush()
    return item


# --- scope and limits -----------------------------------------------------------------------------------


def current_pods(user: User, on: date) -> list[Pod]:
    return list(db.session.scalars(
        select(Pod).join(Membership, Membership.pod_id == Pod.id).where(
            Membership.user_id == user.id, Membership.current(on), Pod.active,
        ).order_by(Pod.name)
    ))


def _latest_version_ids():
    return select(func.max(LimitVersion.id)).group_by(LimitVersion.limit_id)


def _scope_clause(user: User, pod_id: int | None):
    clauses = [Limit.level == ScopeLevel.ORG.value,
               and_(Limit.level == ScopeLevel.ROLE.value, Limit.role == user.role),
               and_(Limit.level == ScopeLevel.AGENT.value, Limit.agent_id == user.id)]
    if pod_id is not None:
        clauses.append(and_(Limit.level == ScopeLevel.POD.value, Limit.pod_id == pod_id))
    return or_(*clauses)


def _condition_clause(segment_id, stage_id, request_type, unconditioned_only: bool = False):
    if unconditioned_only:
        return and_(Limit.segment_id.is_(None), Limit.stage_id.is_(None), Limit.request_type.is_(None))
    return and_(
        or_(Limit.segment_id.is_(None), Limit.segment_id == segment_id) if segment_id else Limit.segment_id.is_(None),
        or_(Limit.stage_id.is_(None), Limit.stage_id == stage_id) if stage_id else Limit.stage_id.is_(None),
        or_(Limit.request_type.is_(None), Limit.request_type == request_type) if request_type
        else Limit.request_type.is_(None),
    )


def _rank(limit: Limit, version: LimitVersion) -> tuple:
    return ScopeLevel(limit.level).rank, limit.condition_count, version.id


def limits_in_force(user: User, pod_id: int | None, *, action_type_id: int | None = None, segment_id=None,
                    stage_id=None, request_type=None, unconditioned_only: bool = False) -> dict[int, LimitVersion]:
    """The version in force per action type for `user` (most specific wins: agent > pod > role > org, then the
    limit with more matching conditions). One query whatever the number of limits."""
    query = (
        select(LimitVersion, Limit).join(Limit, Limit.id == LimitVersion.limit_id)
        .where(LimitVersion.id.in_(_latest_version_ids()), _scope_clause(user, pod_id),
               _condition_clause(segment_id, stage_id, request_type, unconditioned_only))
    )
    if action_type_id is not None:
        query = query.where(Limit.action_type_id == action_type_id)
    best: dict[int, tuple[tuple, LimitVersion]] = {}
    for version, limit in db.session.execute(query):
        if version.retired:  # a removed limit no longer applies: the next most specific one does
            continue
        rank = _rank(limit, version)
        current = best.get(limit.action_type_id)
        if current is None or rank > current[0]:
            best[limit.action_type_id] = (rank, version)
    return {action_id: pair[1] for action_id, pair in best.items()}


def limit_in_force(user: User, action_type_id: int, pod_id: int | None, segment_id=None, stage_id=None,
                   request_type=None) -> LimitVersion | None:
    return limits_in_force(user, pod_id, action_type_id=action_type_id, segment_id=segment_id,
                           stage_id=stage_id, request_type=request_type).get(action_type_id)


@dataclass
class LimitInput:
    per_case_max: int
    period: str | None = None
    period_cap: int | None = None
    customer_cap: int | None = None
    approver_role: str = "coach"


def _validate_limit(values: LimitInput) -> None:
    for amount in (values.per_case_max, values.period_cap, values.customer_cap):
        if amount is not None and (not isinstance(amount, int) or amount < 0 or amount > MAX_AMOUNT):
            raise AutonomyError(_l("Amounts must be whole numbers between 0 and %(max)s.", max=MAX_AMOUNT))
    if values.period not in (None, *(p.value for p in Period)):
        raise AutonomyError(_l("Choose a period: day, week or month."))
    if (values.period_cap is not None or values.customer_cap is not None) and values.period is None:
        raise AutonomyError(_l("A cap per period needs a period (day, week or month)."))
    if values.period_cap is not None and values.period_cap < values.per_case_max:
        raise AutonomyError(_l("The cap per period cannot be smaller than the maximum per case."))
    if values.approver_role not in ("coach", "leader"):
        raise AutonomyError(_l("Choose who approves above the limit: the coach or a leader."))


def _validate_scope(level: str, role: str | None, pod_id: int | None, agent_id: int | None) -> None:
    if level not in {s.value for s in ScopeLevel}:
        raise AutonomyError(_l("Choose a level: organisation, role, pod or person."))
    needed = {"org": (), "role": ("role",), "pod": ("pod",), "agent": ("agent",)}[level]
    given = {"role": role, "pod": pod_id, "agent": agent_id}
    if any(given[k] is None for k in needed) or any(given[k] is not None for k in given if k not in needed):
        raise AutonomyError(_l("Say which role, pod or person this limit is for."))
    if role is not None and role not in {r.value for r in Role}:
        raise AutonomyError(_l("Unknown role."))
    if pod_id is not None and db.session.get(Pod, pod_id) is None:
        raise AutonomyError(_l("Unknown pod."))
    if agent_id is not None and db.session.get(User, agent_id) is None:
        raise AutonomyError(_l("Unknown person."))


def set_limit(actor: User | None, action_type: ActionType, *, level: str, role: str | None = None,
              pod_id: int | None = None, agent_id: int | None = None, segment_id: int | None = None,
              stage_id: int | None = None, request_type: str | None = None, values: LimitInput, reason: str,
              now: datetime | None = None, retire: bool = False) -> LimitVersion:
    """Create the limit or add a new version to it; earlier versions are never changed."""
    now = now or utcnow()
    _require_role(actor, Role.LEADER, _l("Only leaders set autonomy limits; coaches can propose a change."))
    _validate_scope(level, role, pod_id, agent_id)
    _validate_limit(values)
    if request_type is not None and request_type not in REQUEST_TYPES:
        raise AutonomyError(_l("Unknown request type."))
    reason = clean_text(reason, REASON_MAX, _l("Reason"),
                        missing=_l("Say why the limit changes; the history keeps it."))
    limit = db.session.scalar(select(Limit).where(
        Limit.action_type_id == action_type.id, Limit.level == level,
        Limit.role.is_(None) if role is None else Limit.role == role,
        Limit.pod_id.is_(None) if pod_id is None else Limit.pod_id == pod_id,
        Limit.agent_id.is_(None) if agent_id is None else Limit.agent_id == agent_id,
        Limit.segment_id.is_(None) if segment_id is None else Limit.segment_id == segment_id,
        Limit.stage_id.is_(None) if stage_id is None else Limit.stage_id == stage_id,
        Limit.request_type.is_(None) if request_type is None else Limit.request_type == request_type,
    ))
    if limit is None:
        if retire:
            raise AutonomyError(_l("There is no such limit to remove."), 404)
        limit = Limit(action_type_id=action_type.id, level=level, role=role, pod_id=pod_id, agent_id=agent_id,
                      segment_id=segment_id, stage_id=stage_id, request_type=request_type, created_at=now)
        db.session.add(limit)
        db.session.flush()
    number = (db.session.scalar(select(func.max(LimitVersion.number)).where(LimitVersion.limit_id == limit.id))
              or 0) + 1
    version = LimitVersion(limit_id=limit.id, number=number, per_case_max=values.per_case_max,
                           period=values.period, period_cap=values.period_cap, customer_cap=values.customer_cap,
                           approver_role=values.approver_role, retired=retire, reason=reason,
                           created_by_id=actor.id if actor else None, created_at=now)
    db.session.add(version)
    db.session.flush()
    return version


def retire_limit(actor: User | None, limit: Limit, reason: str, now: datetime | None = None) -> LimitVersion:
    """End a limit with a retired version; the next most specific limit applies from then on."""
    current = db.session.scalar(select(LimitVersion).where(LimitVersion.limit_id == limit.id)
                                .order_by(LimitVersion.number.desc()).limit(1))
    if current is None or current.retired:
        raise AutonomyError(_l("This limit is already removed."), 409)
    values = LimitInput(current.per_case_max, current.period, current.period_cap, current.customer_cap,
                        current.approver_role)
    return set_limit(actor, limit.action_type, level=limit.level, role=limit.role, pod_id=limit.pod_id,
                     agent_id=limit.agent_id, segment_id=limit.segment_id, stage_id=limit.stage_id,
                     request_type=limit.request_type, values=values, reason=reason, now=now, retire=True)


def limit_table() -> list[tuple[Limit, LimitVersion]]:
    """Every limit with its latest version (retired ones included), one query."""
    rows = db.session.execute(
        select(Limit, LimitVersion).join(LimitVersion, LimitVersion.limit_id == Limit.id)
        .where(LimitVersion.id.in_(_latest_version_ids()))
        .order_by(Limit.action_type_id, Limit.level, Limit.id)
    ).all()
    order = {"org": 0, "role": 1, "pod": 2, "agent": 3}
    return sorted(((lim, ver) for lim, ver in rows), key=lambda r: (r[0].action_type_id, order[r[0].level], r[0].id))


def coached_pod_ids(user: User) -> set[int]:
    return set(db.session.scalars(select(pod_coaches.c.pod_id).where(pod_coaches.c.user_id == user.id)))


def members_of(pod_ids: set[int], on: date) -> set[int]:
    if not pod_ids:
        return set()
    return set(db.session.scalars(select(Membership.user_id).where(
        Membership.pod_id.in_(pod_ids), Membership.current(on))))


def propose_change(actor: User, action_type: ActionType, *, level: str, pod_id: int | None = None,
                   agent_id: int | None = None, values: LimitInput, reason: str,
                   now: datetime | None = None) -> Proposal:
    """A coach proposes a pod- or person-level limit for a pod they coach; a leader decides."""
    now = now or utcnow()
    _require_role(actor, Role.COACH, _l("Only coaches and leaders can propose a limit change."))
    if level not in ("pod", "agent"):
        raise AutonomyError(_l("Coaches propose limits for a pod they coach or one of its members."))
    _validate_scope(level, None, pod_id, agent_id)
    _validate_limit(values)
    coached = coached_pod_ids(actor)
    allowed = pod_id in coached if level == "pod" else agent_id in members_of(coached, now.date())
    if not allowed and not actor.has_role(Role.LEADER):
        raise AutonomyError(_l("You can only propose limits for the pods you coach and their members."), 403)
    reason = clean_text(reason, REASON_MAX, _l("Reason"), missing=_l("Say why the limit should change."))
    scope_user = db.session.get(User, agent_id) if agent_id else None
    base = None
    if scope_user is not None:
        base = limit_in_force(scope_user, action_type.id, None)
    proposal = Proposal(kind="change", action_type_id=action_type.id, level=level, pod_id=pod_id,
                        agent_id=agent_id, base_version_id=base.id if base else None,
                        per_case_max=values.per_case_max, period=values.period, period_cap=values.period_cap,
                        customer_cap=values.customer_cap, approver_role=values.approver_role, reason=reason,
                        proposed_by_id=actor.id, created_at=now)
    db.session.add(proposal)
    db.session.flush()
    scope = scope_user.display_name if scope_user else (db.session.get(Pod, pod_id).name if pod_id else "")
    notify(_leaders(), "autonomy_proposal", url=url_for("autonomy.proposals"),
           params={"coach": actor.display_name, "action": action_type.name_param, "scope": scope}, now=now)
    return proposal


def accept_proposal(actor: User, proposal: Proposal, *, per_case_max: int | None = None, comment: str = "",
                    now: datetime | None = None) -> LimitVersion:
    """A leader accepts a proposal or suggestion (optionally at another amount): the limit gets a new version."""
    now = now or utcnow()
    _require_role(actor, Role.LEADER, _l("Only leaders accept limit changes."))
    if proposal.status != "open":
        raise AutonomyError(_l("This proposal was already decided."), 409)
    values = LimitInput(proposal.per_case_max if per_case_max is None else per_case_max, proposal.period,
                        proposal.period_cap, proposal.customer_cap, proposal.approver_role)
    if values.period_cap is not None and values.period_cap < values.per_case_max:
        values.period_cap = values.per_case_max
    comment = clean_text(comment, COMMENT_MAX, _l("Comment"))
    base_limit = proposal.base_version.limit if proposal.base_version else None
    reason = " — ".join(part for part in (proposal.reason, comment) if part)
    if len(reason) > REASON_MAX:  # the full comment stays on the proposal; the version's reason is a summary
        reason = reason[:REASON_MAX - 1].rstrip() + "…"
    if not reason:
        reason = str(_l("Limit fitness: %(hits)s of %(total)s", hits=proposal.evidence_hits,
                        total=proposal.evidence_total))
    version = set_limit(
        actor, proposal.action_type, level=proposal.level, role=proposal.role, pod_id=proposal.pod_id,
        agent_id=proposal.agent_id,
        segment_id=base_limit.segment_id if base_limit and proposal.kind != "change" else None,
        stage_id=base_limit.stage_id if base_limit and proposal.kind != "change" else None,
        request_type=base_limit.request_type if base_limit and proposal.kind != "change" else None,
        values=values, reason=reason, now=now,
    )
    done = db.session.execute(
        update(Proposal).where(Proposal.id == proposal.id, Proposal.status == "open")
        .values(status="accepted", decided_by_id=actor.id, decided_at=now, comment=comment,
                result_version_id=version.id).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise AutonomyError(_l("This proposal was already decided."), 409)
    db.session.expire(proposal)
    return version


def dismiss_proposal(actor: User, proposal: Proposal, *, comment: str = "", now: datetime | None = None) -> None:
    """A leader turns a proposal or suggestion down; the limit stays as it is."""
    now = now or utcnow()
    _require_role(actor, Role.LEADER, _l("Only leaders dismiss limit changes."))
    comment = clean_text(comment, COMMENT_MAX, _l("Comment"))
    done = db.session.execute(
        update(Proposal).where(Proposal.id == proposal.id, Proposal.status == "open")
        .values(status="dismissed", decided_by_id=actor.id, decided_at=now, comment=comment)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise AutonomyError(_l("This proposal was already decided."), 409)
    db.session.expire(proposal)


# --- periods ---------------------------------------------------------------------------------------------


def period_bounds(period: str, now: datetime, tz: str) -> tuple[datetime, datetime]:
    """UTC [start, end) of the day, ISO week or calendar month containing `now`, in local time `tz`."""
    local = to_local(now, tz).date()
    if period == Period.DAY.value:
        first, last = local, local + timedelta(days=1)
    elif period == Period.WEEK.value:
        first = local - timedelta(days=local.weekday())
        last = first + timedelta(days=7)
    else:
        first = local.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1)
    return (local_to_utc(datetime.combine(first, time.min), tz), local_to_utc(datetime.combine(last, time.min), tz))


def scope_timezone(user: User, pod: Pod | None) -> str:
    return pod.timezone if pod is not None else user.timezone


_USED = (Decision.within_limit.is_(True), Decision.status == DecisionStatus.DONE.value)


def used_in(agent_id: int, action_type_id: int, start: datetime, end: datetime, customer_ref: str | None = None,
            exclude_id: int | None = None) -> int:
    query = select(func.coalesce(func.sum(Decision.amount), 0)).where(
        Decision.agent_id == agent_id, Decision.action_type_id == action_type_id,
        Decision.decided_at >= start, Decision.decided_at < end, *_USED)
    if customer_ref is not None:
        query = query.where(Decision.customer_ref == customer_ref)
    return int(db.session.scalar(query) or 0)


def _lock(agent_id: int, action_type_id: int) -> None:
    """Serialise evaluations for one (agent, action type) until the transaction ends."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"),
                           {"a": 0x6175746f, "b": agent_id * 1000 + action_type_id % 1000})
    else:
        begin_write()


# --- decisions -------------------------------------------------------------------------------------------


def _parse_amount(raw, unit: str) -> int:
    """Whole minor units (money typed as 12.50), days or items; positive and not absurd. ASCII digits only:
    `\\d` and `int()` also read "١" or "²" as digits."""
    if isinstance(raw, bool):
        raise AutonomyError(_l("Enter the amount as a number."))
    if isinstance(raw, int):
        value = raw
    else:
        text_value = str(raw or "").strip().replace(",", ".")
        if not text_value:
            raise AutonomyError(_l("Enter the amount."))
        if re.fullmatch(r"-\s*[0-9]+(\.[0-9]*)?", text_value):
            raise AutonomyError(_l("The amount must be more than zero."))
        if unit == Unit.MONEY.value and re.fullmatch(r"[0-9]+\.[0-9]{3,}", text_value):
            raise AutonomyError(_l("Money has at most two decimals."))
        pattern = r"[0-9]{1,12}(\.[0-9]{1,2})?" if unit == Unit.MONEY.value else r"[0-9]{1,12}"
        if not re.fullmatch(pattern, text_value):
            raise AutonomyError(_l("Enter the amount as a number.")
                                if unit == Unit.MONEY.value else _l("Enter a whole number."))
        whole, _sep, cents = text_value.partition(".")
        value = int(whole) * 100 + int((cents + "00")[:2]) if unit == Unit.MONEY.value else int(whole)
    if value <= 0:
        raise AutonomyError(_l("The amount must be more than zero."))
    if value > MAX_AMOUNT:
        raise AutonomyError(_l("This amount is too large to be a real decision; check it."))
    return value


def parse_amount(raw, unit: str) -> int:
    return _parse_amount(raw, unit)


def _coach_ceiling(coach: User, decision: Decision) -> int:
    """The coach's own limit: their person, role or org limit (a pod's limits are for its members)."""
    version = limit_in_force(coach, decision.action_type_id, None, decision.segment_id,
                             decision.stage_id, decision.request_type)
    return version.per_case_max if version is not None else 0


def _leaders() -> list[User]:
    return list(db.session.scalars(select(User).where(User.active, User.role == Role.LEADER.value)
                                   .order_by(User.display_name)))


def eligible_coaches(decision: Decision) -> list[User]:
    """Coaches of the decision's pod whose own limit covers the amount (never the requester)."""
    if decision.pod_id is None:
        return []
    coaches = db.session.scalars(
        select(User).join(pod_coaches, pod_coaches.c.user_id == User.id)
        .where(pod_coaches.c.pod_id == decision.pod_id, User.active, User.id != decision.agent_id,
               User.role == Role.COACH.value).order_by(User.display_name))
    return [c for c in coaches if _coach_ceiling(c, decision) >= decision.amount]


def _route(decision: Decision, version: LimitVersion | None) -> list[User]:
    wanted = version.approver_role if version is not None else "coach"
    if wanted == "coach":
        coaches = eligible_coaches(decision)
        if coaches:
            decision.approver_level = "coach"
            decision.approver_id = coaches[0].id
            return coaches
    decision.approver_level = "leader"
    decision.approver_id = None
    return [u for u in _leaders() if u.id != decision.agent_id]


def _params(decision: Decision, **extra) -> dict:
    return {"agent": decision.agent.display_name, "action": decision.action_type.name_param,
            "amount": format_amount(decision.action_type.unit, decision.amount, decision.currency),
            "case": decision.case_ref or "—", **extra}


def _pod_of(pods: list[Pod], pod_id: int | None) -> Pod | None:
    """The pod a decision counts for: the one named (it must be one of the agent's), else their first."""
    if pod_id is None:
        return pods[0] if pods else None
    pod = next((p for p in pods if p.id == pod_id), None)
    if pod is None:
        raise AutonomyError(_l("You can only log decisions for a pod you belong to."), 403)
    return pod


def _validate_conditions(segment_id: int | None, stage_id: int | None, request_type: str | None) -> None:
    if segment_id is not None and db.session.get(Segment, segment_id) is None:
        raise AutonomyError(_l("Unknown segment."))
    if stage_id is not None and db.session.get(LifecycleStage, stage_id) is None:
        raise AutonomyError(_l("Unknown lifecycle stage."))
    if request_type is not None and request_type not in REQUEST_TYPES:
        raise AutonomyError(_l("Unknown request type."))


def log_decision(actor: User, action_type: ActionType, *, amount, currency: str | None = None, case_ref: str = "",
                 customer: str = "", rationale: str = "", pod_id: int | None = None, segment_id: int | None = None,
                 stage_id: int | None = None, request_type: str | None = None,
                 now: datetime | None = None) -> Decision:
    """Record what the agent did (within limit: done) or asks to do (above it: pending, routed)."""
    now = now or utcnow()
    if not action_type.active:
        raise AutonomyError(_l("This action type is no longer in use."))
    value = _parse_amount(amount, action_type.unit)
    currency = (currency or "").strip().upper() or None
    if action_type.unit == Unit.MONEY.value:
        if not is_currency(currency):
            raise AutonomyError(_l("Unknown currency; use an ISO code such as EUR."))
        if currency != action_type.currency:
            raise AutonomyError(_l("%(action)s is counted in %(currency)s.", action=action_type.label,
                                   currency=action_type.currency))
    elif currency is not None:
        raise AutonomyError(_l("Only money amounts have a currency."))
    case_ref = clean_text(case_ref, CASE_REF_MAX, _l("Case reference"),
                          missing=_l("Give the case reference (up to 64 characters)."))
    rationale = clean_text(rationale, RATIONALE_MAX, _l("Why"),
                           missing=_l("Say briefly why; your coach and the ledger rely on it."))
    customer = clean_text(customer, CUSTOMER_MAX, _l("Customer"))
    pods = current_pods(actor, to_local(now, actor.timezone).date())
    # When Podium knows the case, the case alone decides its pod, segment, stage and request type (what the
    # form said is ignored): otherwise an agent could pick the conditioned limit that suits them.
    known = db.session.execute(
        select(Case.pod_id, Case.segment_id, Case.stage_id, Case.request_type).where(_case_is(case_ref))
        .order_by(Case.id).limit(1)).first()
    if known is not None:
        if known.pod_id is None:
            pod = _pod_of(pods, pod_id)
        else:
            pod = next((p for p in pods if p.id == known.pod_id), None)
            if pod is None:
                raise AutonomyError(_l("Case %(case)s belongs to a pod you are not a member of; only its pod can "
                                       "log decisions on it.", case=case_ref), 403)
        segment_id, stage_id, request_type = known.segment_id, known.stage_id, known.request_type
        declared = False
    else:
        pod = _pod_of(pods, pod_id)
        _validate_conditions(segment_id, stage_id, request_type)
        declared = any(c is not None for c in (segment_id, stage_id, request_type))
    customer_ref = pseudonymise(customer)

    _lock(actor.id, action_type.id)
    version = limit_in_force(actor, action_type.id, pod.id if pod else None, segment_id, stage_id, request_type)
    exceeded = None
    if version is None:
        exceeded = "no_limit"
    elif value > version.per_case_max:
        exceeded = "per_case"
    elif version.period is not None:
        start, end = period_bounds(version.period, now, scope_timezone(actor, pod))
        if version.period_cap is not None and used_in(actor.id, action_type.id, start, end) + value > version.period_cap:
            exceeded = "period_cap"
        elif (version.customer_cap is not None and customer_ref
              and used_in(actor.id, action_type.id, start, end, customer_ref) + value > version.customer_cap):
            exceeded = "customer_cap"
    decision = Decision(
        decided_at=now, requested_at=now, within_limit=exceeded is None,
        status=DecisionStatus.DONE.value if exceeded is None else DecisionStatus.PENDING.value,
        agent_id=actor.id, pod_id=pod.id if pod else None, segment_id=segment_id, stage_id=stage_id,
        request_type=request_type, conditions_declared=declared, action_type_id=action_type.id, amount=value,
        currency=currency, case_ref=case_ref, customer_ref=customer_ref, rationale=rationale,
        limit_version_id=version.id if version else None, exceeded=exceeded,
    )
    db.session.add(decision)
    db.session.flush()
    if exceeded is not None:
        recipients = _route(decision, version)
        db.session.flush()
        notify(recipients, "autonomy_request", url=url_for("autonomy.decision_detail", decision_id=decision.id),
               params=_params(decision), now=now)
    return decision


def can_approve(user: User, decision: Decision) -> bool:
    """Leaders approve anything pending; a coach only coach-level requests of their pods within their own limit."""
    if decision.status != DecisionStatus.PENDING.value or user.id == decision.agent_id or not user.active:
        return False
    if user.has_role(Role.LEADER):
        return True
    if decision.approver_level != "coach" or not user.has_role(Role.COACH) or decision.pod_id is None:
        return False
    if decision.pod_id not in coached_pod_ids(user):
        return False
    return _coach_ceiling(user, decision) >= decision.amount


def resolve_decision(actor: User, decision: Decision, *, approve: bool, comment: str = "",
                     now: datetime | None = None) -> Decision:
    """Approve or reject a pending request (a rejection needs a comment) and tell the agent; first one wins."""
    now = now or utcnow()
    if decision.status != DecisionStatus.PENDING.value:
        raise AutonomyError(_l("This request was already decided."), 409)
    if not can_approve(actor, decision):
        if actor.id == decision.agent_id:
            raise AutonomyError(_l("You cannot decide on your own request."), 403)
        raise AutonomyError(_l("This request is above what you may approve, or not for your pod."), 403)
    comment = clean_text(comment, COMMENT_MAX, _l("Comment"),
                         missing=None if approve else _l("Say why you reject it; the agent sees your comment."))
    status = DecisionStatus.APPROVED.value if approve else DecisionStatus.REJECTED.value
    done = db.session.execute(
        update(Decision).where(Decision.id == decision.id, Decision.status == DecisionStatus.PENDING.value)
        .values(status=status, decided_by_id=actor.id, resolved_at=now, comment=comment)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise AutonomyError(_l("This request was already decided."), 409)
    db.session.expire(decision)
    notify([decision.agent], "autonomy_approved" if approve else "autonomy_rejected",
           url=url_for("autonomy.decision_detail", decision_id=decision.id),
           params=_params(decision, approver=actor.display_name), now=now)
    return decision


def cancel_decision(actor: User, decision: Decision, now: datetime | None = None) -> None:
    """The agent withdraws their own pending request."""
    if decision.agent_id != actor.id:
        raise AutonomyError(_l("Only the person who asked can withdraw a request."), 403)
    done = db.session.execute(
        update(Decision).where(Decision.id == decision.id, Decision.status == DecisionStatus.PENDING.value)
        .values(status=DecisionStatus.CANCELLED.value, resolved_at=now or utcnow())
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise AutonomyError(_l("Only a pending request can be withdrawn."), 409)
    db.session.expire(decision)


def pending_for(user: User, limit: int = 200) -> list[Decision]:
    """The approval queue of a coach or leader, oldest first (what they may decide)."""
    from sqlalchemy.orm import joinedload

    query = (select(Decision).where(Decision.status == DecisionStatus.PENDING.value, Decision.agent_id != user.id)
             .options(joinedload(Decision.agent), joinedload(Decision.action_type))
             .order_by(Decision.requested_at, Decision.id).limit(limit))
    if not user.has_role(Role.LEADER):
        coached = coached_pod_ids(user)
        if not coached or not user.has_role(Role.COACH):
            return []
        query = query.where(Decision.pod_id.in_(coached), Decision.approver_level == "coach")
    rows = list(db.session.scalars(query))
    if user.has_role(Role.LEADER):
        return rows
    # Coaches see what their own limit covers; one limit lookup per pod, not per row.
    ceilings: dict[tuple, int] = {}
    visible = []
    for row in rows:
        key = (row.action_type_id, row.pod_id, row.segment_id, row.stage_id, row.request_type)
        if key not in ceilings:
            ceilings[key] = _coach_ceiling(user, row)
        if ceilings[key] >= row.amount:
            visible.append(row)
    return visible


# --- escalation --------------------------------------------------------------------------------------------


def working_minutes_between(start: datetime, end: datetime, tz: str, working_days: str, first_hour: int,
                            last_hour: int) -> int:
    """Minutes of working time between two UTC moments, in the local working hours of `tz`."""
    if end <= start:
        return 0
    zone = ZoneInfo(tz)
    local_start, local_end = to_local(start, tz), to_local(end, tz)
    day = local_start.date()
    total = 0
    while day <= local_end.date():
        if str(day.isoweekday()) in working_days:
            open_ = datetime.combine(day, time(first_hour), zone)
            close = datetime.combine(day, time(last_hour), zone)
            lo, hi = max(open_, local_start), min(close, local_end)
            if hi > lo:
                total += int((hi - lo).total_seconds() // 60)
        day += timedelta(days=1)
    return total


def escalate_overdue(now: datetime | None = None) -> int:
    """Move coach-level requests waiting longer than the setting (working hours) to the leaders."""
    now = now or utcnow()
    settings = get_settings()
    waiting = list(db.session.execute(
        select(Decision, Pod).outerjoin(Pod, Pod.id == Decision.pod_id)
        .where(Decision.status == DecisionStatus.PENDING.value, Decision.approver_level == "coach")
        .order_by(Decision.requested_at)))
    if not waiting:
        return 0
    org_tz = _org_timezone()
    leaders = _leaders()
    moved = 0
    for decision, pod in waiting:
        tz = pod.timezone if pod else org_tz
        days = pod.working_days if pod else "12345"
        minutes = working_minutes_between(decision.requested_at, now, tz, days, settings.workday_start_hour,
                                          settings.workday_end_hour)
        if minutes < settings.escalation_hours * 60:
            continue
        done = db.session.execute(
            update(Decision).where(Decision.id == decision.id, Decision.status == DecisionStatus.PENDING.value,
                                   Decision.approver_level == "coach")
            .values(approver_level="leader", approver_id=None, escalated_at=now)
            .execution_options(synchronize_session=False))
        if done.rowcount == 1:
            moved += 1
            notify([u for u in leaders if u.id != decision.agent_id], "autonomy_escalated",
                   url=url_for("autonomy.decision_detail", decision_id=decision.id), params=_params(decision),
                   now=now)
    db.session.flush()
    return moved


def _org_timezone() -> str:
    return get_organisation().timezone


# --- my autonomy ---------------------------------------------------------------------------------------------


@dataclass
class AllowanceRow:
    action_type: ActionType
    version: LimitVersion | None
    level: str | None
    used: int = 0
    left: int | None = None


def my_autonomy(user: User, now: datetime | None = None) -> list[AllowanceRow]:
    """Per action type: the limit in force (no conditions) and what is left this period. Three queries."""
    now = now or utcnow()
    pods = current_pods(user, to_local(now, user.timezone).date())
    pod = pods[0] if pods else None
    versions = limits_in_force(user, pod.id if pod else None, unconditioned_only=True)
    tz = scope_timezone(user, pod)
    bounds = {p.value: period_bounds(p.value, now, tz) for p in Period}
    sums = [func.coalesce(func.sum(case((and_(Decision.decided_at >= s, Decision.decided_at < e), Decision.amount),
                                        else_=0)), 0).label(p) for p, (s, e) in bounds.items()]
    usage = {row[0]: dict(zip(bounds, row[1:], strict=True)) for row in db.session.execute(
        select(Decision.action_type_id, *sums).where(Decision.agent_id == user.id, *_USED,
                                                     Decision.decided_at >= min(s for s, _e in bounds.values()))
        .group_by(Decision.action_type_id))}
    levels = {}
    if versions:
        levels = dict(db.session.execute(select(LimitVersion.id, Limit.level).join(Limit)
                                         .where(LimitVersion.id.in_([v.id for v in versions.values()]))).all())
    rows = []
    for item in action_types():
        version = versions.get(item.id)
        row = AllowanceRow(item, version, levels.get(version.id) if version else None)
        if version is not None and version.period:
            row.used = int(usage.get(item.id, {}).get(version.period, 0) or 0)
            if version.period_cap is not None:
                row.left = max(version.period_cap - row.used, 0)
        rows.append(row)
    return rows


# --- accountability ------------------------------------------------------------------------------------------


def ledger_query(*, agent_id: int | None = None, pod_id: int | None = None, pod_ids: set[int] | None = None,
                 start: datetime | None = None, end: datetime | None = None):
    """Decisions with the CSAT and reopens of their case (joined in SQL by case reference)."""
    from sqlalchemy.orm import joinedload

    csat = (select(Case.csat_score).where(_case_is(Decision.case_ref)).order_by(Case.id).limit(1)
            .correlate(Decision).scalar_subquery())
    reopens = (select(Case.reopens).where(_case_is(Decision.case_ref)).order_by(Case.id).limit(1)
               .correlate(Decision).scalar_subquery())
    query = (select(Decision, csat.label("csat"), reopens.label("reopens"))
             .options(joinedload(Decision.agent), joinedload(Decision.action_type), joinedload(Decision.decided_by))
             .order_by(Decision.decided_at.desc(), Decision.id.desc()))
    if agent_id is not None:
        query = query.where(Decision.agent_id == agent_id)
    if pod_id is not None:
        query = query.where(Decision.pod_id == pod_id)
    if pod_ids is not None:
        query = query.where(Decision.pod_id.in_(pod_ids or {-1}))
    if start is not None:
        query = query.where(Decision.decided_at >= start)
    if end is not None:
        query = query.where(Decision.decided_at < end)
    return query


def ledger_summary(*, agent_id: int | None = None, pod_id: int | None = None, start: datetime,
                   end: datetime) -> dict:
    """Counts by status over the window, in one query."""
    query = select(Decision.status, func.count()).where(Decision.decided_at >= start, Decision.decided_at < end)
    if agent_id is not None:
        query = query.where(Decision.agent_id == agent_id)
    if pod_id is not None:
        query = query.where(Decision.pod_id == pod_id)
    counts = defaultdict(int, dict(db.session.execute(query.group_by(Decision.status)).all()))
    return {"total": sum(counts.values()), **counts}


# --- limit fitness -----------------------------------------------------------------------------------------------


def _nice_ceiling(value: int, unit: str) -> int:
    step = 500 if unit == Unit.MONEY.value and value >= 5000 else (100 if unit == Unit.MONEY.value else 1)
    return int(math.ceil(value / step) * step)


def scan_fitness(now: datetime | None = None) -> list[Proposal]:
    """Suggest raising limits that are almost always approved, and reviewing those whose decisions go badly.

    Raise: over the last 90 days, an agent's requests above a limit were approved >= 90 % of the time
    (>= 10 decided requests). Review: >= 10 decisions within the limit whose cases Podium knows, and
    >= 30 % of those cases were reopened or rated CSAT 1-2. One open suggestion per (agent, action, kind).
    """
    now = now or utcnow()
    since = now - timedelta(days=FITNESS_DAYS)
    created: list[Proposal] = []
    open_keys = {(p.agent_id, p.action_type_id, p.kind) for p in db.session.scalars(
        select(Proposal).where(Proposal.status == "open", Proposal.kind.in_(("raise", "review"))))}
    approved = case((Decision.status == DecisionStatus.APPROVED.value, 1), else_=0)
    raise_rows = db.session.execute(
        select(Decision.agent_id, Decision.action_type_id, func.count(), func.sum(approved),
               func.max(case((Decision.status == DecisionStatus.APPROVED.value, Decision.amount), else_=0)),
               func.max(Decision.limit_version_id))
        .where(Decision.within_limit.is_(False), Decision.exceeded == "per_case",
               Decision.status.in_((DecisionStatus.APPROVED.value, DecisionStatus.REJECTED.value)),
               Decision.decided_at >= since, Decision.decided_at < now)
        .group_by(Decision.agent_id, Decision.action_type_id)).all()
    case_known = select(Case.id).where(_case_is(Decision.case_ref)).correlate(Decision).exists()
    bad_case = (select(Case.id).where(_case_is(Decision.case_ref),
                                      or_(Case.reopens > 0, Case.csat_score <= BAD_CSAT))
                .correlate(Decision).exists())
    review_rows = db.session.execute(
        select(Decision.agent_id, Decision.action_type_id, func.count(), func.sum(case((bad_case, 1), else_=0)),
               func.max(Decision.limit_version_id))
        .where(Decision.within_limit.is_(True), Decision.status == DecisionStatus.DONE.value, case_known,
               Decision.decided_at >= since, Decision.decided_at < now)
        .group_by(Decision.agent_id, Decision.action_type_id)).all()
    version_ids = {r[5] for r in raise_rows} | {r[4] for r in review_rows}
    versions = {v.id: v for v in db.session.scalars(select(LimitVersion).where(LimitVersion.id.in_(version_ids)))}
    units = {a.id: a.unit for a in action_types(active_only=False)}
    thresholds = {"raise": (FITNESS_MIN_REQUESTS, FITNESS_APPROVAL_SHARE),
                  "review": (REVIEW_MIN_DECISIONS, REVIEW_BAD_SHARE)}
    candidates = [("raise", *row) for row in raise_rows] + [
        ("review", agent_id, action_id, total, hits, None, version_id)
        for agent_id, action_id, total, hits, version_id in review_rows]
    for kind, agent_id, action_id, total, hits, top, version_id in candidates:
        hits = int(hits or 0)
        minimum, share = thresholds[kind]
        if total < minimum or hits < share * total or (agent_id, action_id, kind) in open_keys:
            continue
        base = versions.get(version_id)
        current = base.per_case_max if base else 0
        if kind == "raise":
            suggested = max(_nice_ceiling(int(top or 0), units.get(action_id, "count")), current + 1)
        else:
            suggested = int(current * 3 // 4)
        created.append(_suggest(kind, agent_id, action_id, base, suggested, total, hits, now))
    db.session.flush()
    if created:
        notify(_leaders(), "autonomy_suggestion", url=url_for("autonomy.proposals"),
               params={"count": len(created)}, now=now)
    return created


def _suggest(kind: str, agent_id: int, action_id: int, base: LimitVersion | None, per_case_max: int, total: int,
             hits: int, now: datetime) -> Proposal:
    proposal = Proposal(
        kind=kind, status="open", action_type_id=action_id, level="agent", agent_id=agent_id,
        base_version_id=base.id if base else None, per_case_max=per_case_max,
        period=base.period if base else None,
        period_cap=max(base.period_cap, per_case_max) if base and base.period_cap is not None else None,
        customer_cap=base.customer_cap if base else None, approver_role=base.approver_role if base else "coach",
        reason="", evidence_total=total, evidence_hits=hits, created_at=now)
    db.session.add(proposal)
    return proposal


def open_proposals() -> list[Proposal]:
    from sqlalchemy.orm import joinedload

    return list(db.session.scalars(
        select(Proposal).where(Proposal.status == "open")
        .options(joinedload(Proposal.action_type), joinedload(Proposal.agent), joinedload(Proposal.proposed_by),
                 joinedload(Proposal.base_version))
        .order_by(Proposal.created_at, Proposal.id)))
