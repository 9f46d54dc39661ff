"""What a request type means to the organisation: whether it counts as a complaint (complaint_share) and at which
lifecycle stages it is expected (a case whose type is unexpected for its stage is a sign of a broken journey).

Both are admin settings with defaults, so an installation works before anyone edits them:

- a request type is a complaint by default when its name in English, Spanish or Italian is one of
  METRICS.md's words (complaint / queja / reclamo / denuncia / segnalazione): "complaint" and "report";
- a stage expects, by default, the request types of the operating model: information and quotes before the
  sale; requests, complaints, claims, suggestions and reports during the contract; warranty and information
  after the sale (compliments are welcome anywhere). A stage with no default (an admin-made stage) expects
  every type until an admin says otherwise.

The engine asks `complaint_condition()` and `unexpected_condition()` for SQL conditions on cases: one small query
for the settings, never one per case.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import force_locale
from sqlalchemy import Boolean, DateTime, ForeignKey, String, and_, false, or_, select
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from app.extensions import db
from app.org.models import DEFAULT_STAGES, LifecycleStage
from app.outcomes.labels import REQUEST_TYPE_LABELS
from app.outcomes.models import REQUEST_TYPES, Case
from app.timeutil import utcnow

COMPLAINT_WORDS = frozenset({"complaint", "queja", "reclamo", "denuncia", "segnalazione"})

PRE_SALE, ONBOARDING, IN_LIFE, WARRANTY, CLOSURE = (name for name, _description in DEFAULT_STAGES)
_DURING = ("service_request", "petition", "complaint", "claim", "suggestion", "report", "information", "compliment")
DEFAULT_EXPECTED: dict[str, tuple[str, ...]] = {
    PRE_SALE: ("information", "quote", "suggestion", "compliment"),
    ONBOARDING: _DURING + ("quote",),
    IN_LIFE: _DURING,
    WARRANTY: ("warranty", "information", "claim", "compliment"),
    CLOSURE: ("petition", "information", "complaint", "claim", "service_request", "suggestion"),
}


class RequestTypeSetting(db.Model):
    """An admin's choice for one request type (no row: the default)."""

    __tablename__ = "request_type_settings"

    code: Mapped[str] = mapped_column(String(24), primary_key=True)
    is_complaint: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class StageRequestType(db.Model):
    """A request type an admin expects at a stage. A stage with no rows keeps its default expectations."""

    __tablename__ = "stage_request_types"

    stage_id: Mapped[int] = mapped_column(ForeignKey("lifecycle_stages.id", ondelete="CASCADE"), primary_key=True)
    request_type: Mapped[str] = mapped_column(String(24), primary_key=True)


_DEFAULT_COMPLAINTS: frozenset[str] | None = None


def default_complaint_codes() -> frozenset[str]:
    """The request types whose English, Spanish or Italian name is a complaint word (computed once)."""
    global _DEFAULT_COMPLAINTS
    if _DEFAULT_COMPLAINTS is None:
        found = set()
        for locale in ("en", "es", "it"):
            with force_locale(locale):
                for code, label in REQUEST_TYPE_LABELS.items():
                    words = {w.strip("()").lower() for w in str(label).split()}
                    if words & COMPLAINT_WORDS:
                        found.add(code)
        _DEFAULT_COMPLAINTS = frozenset(found)
    return _DEFAULT_COMPLAINTS


def complaint_flags() -> dict[str, bool]:
    """Every request type -> is it a complaint (one query)."""
    chosen = dict(db.session.execute(select(RequestTypeSetting.code, RequestTypeSetting.is_complaint)).all())
    defaults = default_complaint_codes()
    return {code: bool(chosen.get(code, code in defaults)) for code in REQUEST_TYPES}


def complaint_codes() -> list[str]:
    return [code for code, flag in complaint_flags().items() if flag]


def complaint_condition() -> ColumnElement[bool]:
    """SQL: the case's request type is marked as a complaint (never NULL)."""
    codes = complaint_codes()
    # NULL-safe, so that "not a complaint" (a drill-down's misses) includes cases without a request type.
    return and_(Case.request_type.is_not(None), Case.request_type.in_(codes)) if codes else false()


def expected_by_stage() -> dict[int, tuple[frozenset[str], bool]]:
    """Stage id -> (expected request types, chosen by an admin?) for every stage (one query)."""
    names: dict[int, str] = {}
    chosen: dict[int, set[str]] = {}
    for stage_id, name, code in db.session.execute(
            select(LifecycleStage.id, LifecycleStage.name, StageRequestType.request_type)
            .outerjoin(StageRequestType, StageRequestType.stage_id == LifecycleStage.id)):
        names[stage_id] = name
        if code is not None:
            chosen.setdefault(stage_id, set()).add(code)
    out = {}
    for stage_id, name in names.items():
        if stage_id in chosen:
            out[stage_id] = (frozenset(chosen[stage_id]), True)
        else:
            out[stage_id] = (frozenset(DEFAULT_EXPECTED.get(name, REQUEST_TYPES)), False)
    return out


def unexpected_condition(expected: dict[int, tuple[frozenset[str], bool]] | None = None) -> ColumnElement[bool]:
    """SQL: the case has a stage and a request type, and the type is not expected at that stage."""
    expected = expected_by_stage() if expected is None else expected
    parts = [and_(Case.stage_id == stage_id, Case.request_type.not_in(sorted(types)))
             for stage_id, (types, _chosen) in sorted(expected.items()) if set(REQUEST_TYPES) - types]
    if not parts:
        return false()
    return and_(Case.request_type.is_not(None), or_(*parts))


# --- admin writes (flush, never commit) -------------------------------------------------------------------------

def set_complaints(actor, codes: set[str], now: datetime | None = None) -> None:
    """Mark exactly `codes` as complaints (a row per request type, so later default changes do not move them)."""
    now = now or utcnow()
    unknown = set(codes) - set(REQUEST_TYPES)
    if unknown:
        raise ValueError(f"unknown request types: {sorted(unknown)}")
    current = {row.code: row for row in db.session.scalars(select(RequestTypeSetting))}
    for code in REQUEST_TYPES:
        row = current.get(code)
        if row is None:
            row = RequestTypeSetting(code=code)
            db.session.add(row)
        if row.is_complaint != (code in codes) or row.updated_by_id is None:
            row.is_complaint = code in codes
            row.updated_by_id = getattr(actor, "id", None)
            row.updated_at = now
    db.session.flush()


def set_expected(stage_id: int, codes: set[str]) -> None:
    """The request types expected at a stage (at least one)."""
    unknown = set(codes) - set(REQUEST_TYPES)
    if unknown or not codes:
        raise ValueError("choose known request types")
    db.session.execute(StageRequestType.__table__.delete().where(StageRequestType.stage_id == stage_id))
    db.session.execute(StageRequestType.__table__.insert(),
                       [{"stage_id": stage_id, "request_type": code} for code in sorted(codes)])
    db.session.flush()
