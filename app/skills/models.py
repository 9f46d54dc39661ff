"""Skills of a pod, each member's level per skill, members' proposals, and the history of every change.

A skill is named by a key: ``rt:<request type>`` and ``ch:<channel>`` for what the pod's cases ask of it (no row
needed), ``c:<id>`` for a skill a coach added (a ``PodSkill`` row). A member's level of a skill is one row of
``SkillLevel`` (absent means "none"); every change of it adds a ``SkillChange`` row (who, when, from, to) in the
same transaction, and the row's ``version`` makes each change conditional on the level it replaces, so two people
changing the same level at once can never both record "from" the same level.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Labelled, db, one_of
from app.org.models import User
from app.timeutil import utcnow


class Level(Labelled):
    NONE = "none", _l("None")
    LEARNING = "learning", _l("Learning")
    INDEPENDENT = "independent", _l("Independent")
    TEACH = "teach", _l("Can teach")


LEVELS = tuple(Level.labels())
# Levels at which a person resolves the skill's requests on their own.
COVERING = ("independent", "teach")


class ProposalStatus(str, enum.Enum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class PodSkill(db.Model):
    """A skill a coach added to a pod (e.g. "billing system"); retired, never deleted, so history keeps its name."""

    __tablename__ = "skill_pod_skills"
    __table_args__ = (
        sa.Index("uq_skill_pod_skills_active_name", "pod_id", "name_key", unique=True,
              sqlite_where=text("retired_at IS NULL"), postgresql_where=text("retired_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pod_id: Mapped[int] = mapped_column(sa.ForeignKey("pods.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    name_key: Mapped[str] = mapped_column(sa.String(80))  # the name folded, so "Billing" and "billing " are one skill
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)

    @property
    def key(self) -> str:
        return f"c:{self.id}"


class _MemberSkill:
    """The key the three skill tables share: one person's (``user_id``) skill (``skill_key``) in one pod."""

    id: Mapped[int] = mapped_column(primary_key=True)
    pod_id: Mapped[int] = mapped_column(sa.ForeignKey("pods.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    skill_key: Mapped[str] = mapped_column(sa.String(40))


class SkillLevel(_MemberSkill, db.Model):
    """A member's current level of one skill in one pod."""

    __tablename__ = "skill_levels"
    __table_args__ = (
        sa.UniqueConstraint("pod_id", "user_id", "skill_key"),
        one_of("level", Level, "level_valid"),
    )

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    level: Mapped[str] = mapped_column(sa.String(12), default=Level.NONE.value)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    set_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    set_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)


class SkillProposal(_MemberSkill, db.Model):
    """A member's proposal of their own level; the pod's coach confirms or declines it. One pending per skill."""

    __tablename__ = "skill_proposals"
    __table_args__ = (
        one_of("level", Level, "level_valid"),
        one_of("status", ProposalStatus, "status_valid"),
        sa.Index("uq_skill_proposals_pending", "pod_id", "user_id", "skill_key", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
        sa.Index("ix_skill_proposals_pod_status", "pod_id", "status"),
    )

    level: Mapped[str] = mapped_column(sa.String(12))
    status: Mapped[str] = mapped_column(sa.String(12), default=ProposalStatus.PENDING.value)
    proposed_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)

    user: Mapped[User] = relationship(foreign_keys="SkillProposal.user_id")


class SkillChange(_MemberSkill, db.Model):
    """One change of a member's level: who changed it, when, from which level to which. Never edited."""

    __tablename__ = "skill_changes"
    __table_args__ = (
        one_of("from_level", Level, "from_level_valid"),
        one_of("to_level", Level, "to_level_valid"),
        sa.Index("ix_skill_changes_pod_at", "pod_id", "at"),
    )

    from_level: Mapped[str] = mapped_column(sa.String(12))
    to_level: Mapped[str] = mapped_column(sa.String(12))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    proposal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("skill_proposals.id", ondelete="SET NULL"),
                                                    nullable=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys="SkillChange.user_id")
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
