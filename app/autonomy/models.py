"""Autonomy models: the action type catalog, versioned limits, the decision ledger, proposals and suggestions.

Money is integer minor units plus an ISO currency; days and counts are plain integers. A limit is an
identity (action type, scope, conditions) with an append-only list of versions; every decision keeps the
version it was checked against.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Labelled, db, one_of
from app.formatting import name_in
from app.org.models import CatalogItem, User
from app.timeutil import utcnow

# Longest free texts a person may type (the Text columns have no bound of their own).
RATIONALE_MAX = 2000
REASON_MAX = 2000
COMMENT_MAX = 2000
DESCRIPTION_MAX = 2000
CASE_REF_MAX = 64  # Decision.case_ref is String(64)
CUSTOMER_MAX = 254  # only a hash is kept; an e-mail address is the longest thing an agent types here


class Unit(Labelled):
    MONEY = "money", _l("Money")
    DAYS = "days", _l("Days")
    COUNT = "count", _l("Count")


class ScopeLevel(Labelled):
    """Where a limit applies, broadest first: `rank` is the order written here."""

    ORG = "org", _l("Organisation")
    ROLE = "role", _l("Role")
    POD = "pod", _l("Pod")
    AGENT = "agent", _l("Person")


class Period(Labelled):
    DAY = "day", _l("per day")
    WEEK = "week", _l("per week")
    MONTH = "month", _l("per month")


class DecisionStatus(Labelled):
    DONE = "done", _l("Done within limit")
    PENDING = "pending", _l("Waiting for approval")
    APPROVED = "approved", _l("Approved")
    REJECTED = "rejected", _l("Rejected")
    CANCELLED = "cancelled", _l("Withdrawn")


class ActionType(CatalogItem, db.Model):
    """An entry of the action catalog (name, description, position, active: a CatalogItem) with its unit."""

    __tablename__ = "autonomy_action_types"
    __table_args__ = (
        one_of("unit", Unit, "unit_valid"),
        sa.CheckConstraint("unit <> 'money' OR currency IS NOT NULL", name="money_currency"),
    )

    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    unit: Mapped[str] = mapped_column(sa.String(8))
    currency: Mapped[str | None] = mapped_column(sa.String(3), nullable=True)
    names: Mapped[dict | None] = mapped_column(sa.JSON, nullable=True)  # {"es": ..., "it": ...}; `name` is the fallback

    @property
    def label(self) -> str:
        """The name in the reader's language, else the base name."""
        return name_in(self.names, self.name)

    def label_in(self, locale: str | None) -> str:
        return name_in(self.names, self.name, locale)

    @property
    def name_param(self) -> dict:
        """The name as a notification parameter: rendered later in each reader's language."""
        return {"base": self.name, **(self.names or {})}

    def __repr__(self) -> str:
        return f"<ActionType {self.code}>"


class Limit(db.Model):
    """The identity of one limit: an action type at a scope, with optional conditions."""

    __tablename__ = "autonomy_limits"
    __table_args__ = (
        one_of("level", ScopeLevel, "level_valid"),
        sa.CheckConstraint(
            "(level = 'org' AND role IS NULL AND pod_id IS NULL AND agent_id IS NULL)"
            " OR (level = 'role' AND role IS NOT NULL AND pod_id IS NULL AND agent_id IS NULL)"
            " OR (level = 'pod' AND role IS NULL AND pod_id IS NOT NULL AND agent_id IS NULL)"
            " OR (level = 'agent' AND role IS NULL AND pod_id IS NULL AND agent_id IS NOT NULL)",
            name="scope_consistent",
        ),
        sa.Index("ix_autonomy_limits_lookup", "action_type_id", "level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_type_id: Mapped[int] = mapped_column(sa.ForeignKey("autonomy_action_types.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(sa.String(8))
    role: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)
    pod_id: Mapped[int | None] = mapped_column(sa.ForeignKey("pods.id", ondelete="CASCADE"), nullable=True)
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True)
    segment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("segments.id", ondelete="CASCADE"), nullable=True)
    stage_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lifecycle_stages.id", ondelete="CASCADE"),
                                                 nullable=True)
    request_type: Mapped[str | None] = mapped_column(sa.String(24), nullable=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    action_type: Mapped[ActionType] = relationship()
    versions: Mapped[list[LimitVersion]] = relationship(back_populates="limit", order_by="LimitVersion.number")

    @property
    def condition_count(self) -> int:
        return sum(1 for c in (self.segment_id, self.stage_id, self.request_type) if c is not None)


class LimitVersion(db.Model):
    """One immutable version of a limit. The highest number is in force; `retired` ends the limit."""

    __tablename__ = "autonomy_limit_versions"
    __table_args__ = (
        sa.UniqueConstraint("limit_id", "number"),
        sa.CheckConstraint("per_case_max >= 0", name="per_case_max_positive"),
        one_of("period", Period, "period_valid", nullable=True),
        sa.CheckConstraint("period_cap IS NULL OR period_cap >= 0", name="period_cap_positive"),
        sa.CheckConstraint("customer_cap IS NULL OR customer_cap >= 0", name="customer_cap_positive"),
        sa.CheckConstraint("(period_cap IS NULL AND customer_cap IS NULL) OR period IS NOT NULL",
                        name="caps_need_period"),
        sa.CheckConstraint("approver_role IN ('coach', 'leader')", name="approver_role_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    limit_id: Mapped[int] = mapped_column(sa.ForeignKey("autonomy_limits.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(sa.Integer)
    per_case_max: Mapped[int] = mapped_column(sa.Integer, default=0)
    period: Mapped[str | None] = mapped_column(sa.String(8), nullable=True)
    period_cap: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    customer_cap: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    approver_role: Mapped[str] = mapped_column(sa.String(8), default="coach")
    retired: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    limit: Mapped[Limit] = relationship(back_populates="versions")
    created_by: Mapped[User | None] = relationship()


class Decision(db.Model):
    """One entry of the ledger: what an agent did (within limit) or asks to do (above it)."""

    __tablename__ = "autonomy_decisions"
    __table_args__ = (
        one_of("status", DecisionStatus, "status_valid"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("approver_level IS NULL OR approver_level IN ('coach', 'leader')",
                        name="approver_level_valid"),
        sa.Index("ix_autonomy_decisions_agent_type", "agent_id", "action_type_id", "decided_at"),
        sa.Index("ix_autonomy_decisions_pod_decided", "pod_id", "decided_at"),
        sa.Index("ix_autonomy_decisions_status", "status", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    decided_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, index=True)
    requested_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    within_limit: Mapped[bool] = mapped_column(sa.Boolean)
    status: Mapped[str] = mapped_column(sa.String(12))
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    pod_id: Mapped[int | None] = mapped_column(sa.ForeignKey("pods.id", ondelete="SET NULL"), nullable=True)
    segment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("segments.id", ondelete="SET NULL"), nullable=True)
    stage_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lifecycle_stages.id", ondelete="SET NULL"),
                                                 nullable=True)
    request_type: Mapped[str | None] = mapped_column(sa.String(24), nullable=True)
    # True when Podium did not know the case, so the segment, stage or request type the limit was chosen by are
    # the agent's word, not the case's: the ledger and approvers see it. A known case always decides them.
    conditions_declared: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=false())

    action_type_id: Mapped[int] = mapped_column(sa.ForeignKey("autonomy_action_types.id", ondelete="RESTRICT"))
    amount: Mapped[int] = mapped_column(sa.Integer)
    currency: Mapped[str | None] = mapped_column(sa.String(3), nullable=True)
    case_ref: Mapped[str] = mapped_column(sa.String(64), default="")
    customer_ref: Mapped[str] = mapped_column(sa.String(64), default="")
    rationale: Mapped[str] = mapped_column(sa.Text, default="")
    limit_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("autonomy_limit_versions.id", ondelete="RESTRICT"), nullable=True)
    # Why it needed approval: per_case, period_cap, customer_cap or no_limit.
    exceeded: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)

    approver_level: Mapped[str | None] = mapped_column(sa.String(8), nullable=True)
    approver_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    comment: Mapped[str] = mapped_column(sa.Text, default="")

    agent: Mapped[User] = relationship(foreign_keys=[agent_id])
    approver: Mapped[User | None] = relationship(foreign_keys=[approver_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    action_type: Mapped[ActionType] = relationship()
    limit_version: Mapped[LimitVersion | None] = relationship()


class Proposal(db.Model):
    """A change to a limit proposed by a coach, or a fitness suggestion made by the app, for a leader to decide."""

    __tablename__ = "autonomy_proposals"
    __table_args__ = (
        sa.CheckConstraint("status IN ('open', 'accepted', 'dismissed')", name="status_valid"),
        sa.CheckConstraint("kind IN ('change', 'raise', 'review')", name="kind_valid"),
        sa.CheckConstraint("per_case_max >= 0", name="per_case_max_positive"),
        sa.Index("ix_autonomy_proposals_status", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(8))
    status: Mapped[str] = mapped_column(sa.String(10), default="open")
    action_type_id: Mapped[int] = mapped_column(sa.ForeignKey("autonomy_action_types.id", ondelete="CASCADE"))
    # The scope the change applies to (for raise/review: the agent).
    level: Mapped[str] = mapped_column(sa.String(8))
    role: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)
    pod_id: Mapped[int | None] = mapped_column(sa.ForeignKey("pods.id", ondelete="CASCADE"), nullable=True)
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True)
    # The version in force when the proposal was made.
    base_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("autonomy_limit_versions.id", ondelete="SET NULL"), nullable=True)
    per_case_max: Mapped[int] = mapped_column(sa.Integer)
    period: Mapped[str | None] = mapped_column(sa.String(8), nullable=True)
    period_cap: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    customer_cap: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    approver_role: Mapped[str] = mapped_column(sa.String(8), default="coach")
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    # Evidence for fitness suggestions.
    evidence_total: Mapped[int] = mapped_column(sa.Integer, default=0)
    evidence_hits: Mapped[int] = mapped_column(sa.Integer, default=0)
    proposed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    result_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("autonomy_limit_versions.id", ondelete="SET NULL"), nullable=True)

    action_type: Mapped[ActionType] = relationship()
    agent: Mapped[User | None] = relationship(foreign_keys=[agent_id])
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    base_version: Mapped[LimitVersion | None] = relationship(foreign_keys=[base_version_id])


class AutonomySettings(db.Model):
    """Org-wide autonomy settings (a single row)."""

    __tablename__ = "autonomy_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_hours: Mapped[int] = mapped_column(sa.Integer, default=4)
    workday_start_hour: Mapped[int] = mapped_column(sa.Integer, default=9)
    workday_end_hour: Mapped[int] = mapped_column(sa.Integer, default=17)
