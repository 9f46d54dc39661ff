"""Recognitions, their receivers and reactions, the monthly points ledger and the allowance setting."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Labelled, db, one_of
from app.org.models import Pod, User
from app.org.principles import Principle
from app.timeutil import utcnow


class EvidenceKind(Labelled):
    CASE = "case", _l("A case")
    METRIC = "metric", _l("A metric improvement")
    ACTION = "action", _l("A retro action")


class Visibility(Labelled):
    POD = "pod", _l("The pod")
    ORG = "org", _l("The whole organisation")


REACTIONS = ("clap", "heart", "star", "rocket")


class Recognition(db.Model):
    """A kudos from one person to people of a pod, or to the whole pod, citing one piece of evidence.

    Metric evidence keeps the figures the engine gave when it was cited (the two periods are closed, so the
    figures are those of the engine); case and action evidence are shown live from the case and the action.
    """

    __tablename__ = "recognitions"
    __table_args__ = (
        one_of("principle", Principle, "principle_valid"),
        one_of("evidence_kind", EvidenceKind, "evidence_kind_valid"),
        one_of("visibility", Visibility, "visibility_valid"),
        sa.CheckConstraint("points >= 0", name="points_not_negative"),
        sa.Index("ix_recognitions_pod_created", "pod_id", "created_at"),
        sa.Index("ix_recognitions_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    giver_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    pod_id: Mapped[int] = mapped_column(sa.ForeignKey("pods.id", ondelete="CASCADE"))
    whole_pod: Mapped[bool] = mapped_column(default=False)
    message: Mapped[str] = mapped_column(sa.Text)
    principle: Mapped[str] = mapped_column(sa.String(32))
    evidence_kind: Mapped[str] = mapped_column(sa.String(8))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="SET NULL"), nullable=True,
                                                index=True)
    action_id: Mapped[int | None] = mapped_column(sa.ForeignKey("retro_actions.id", ondelete="SET NULL"),
                                                  nullable=True, index=True)
    metric_code: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    metric_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    baseline_start: Mapped[date | None] = mapped_column(sa.Date, nullable=True)
    baseline_end: Mapped[date | None] = mapped_column(sa.Date, nullable=True)
    period_start: Mapped[date | None] = mapped_column(sa.Date, nullable=True)
    period_end: Mapped[date | None] = mapped_column(sa.Date, nullable=True)
    baseline_value: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    baseline_denominator: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    current_value: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    current_denominator: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    suggestion_key: Mapped[str | None] = mapped_column(sa.String(80), nullable=True, index=True)
    points: Mapped[int] = mapped_column(sa.Integer, default=0)
    visibility: Mapped[str] = mapped_column(sa.String(8), default=Visibility.POD.value)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    giver: Mapped[User] = relationship(foreign_keys=[giver_id])
    pod: Mapped[Pod] = relationship()
    metric_user: Mapped[User | None] = relationship(foreign_keys=[metric_user_id])


class RecognitionReceiver(db.Model):
    __tablename__ = "recognition_receivers"
    __table_args__ = (sa.UniqueConstraint("recognition_id", "user_id"),
                      sa.Index("ix_recognition_receivers_user", "user_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    recognition_id: Mapped[int] = mapped_column(sa.ForeignKey("recognitions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))

    user: Mapped[User] = relationship()


class RecognitionReaction(db.Model):
    __tablename__ = "recognition_reactions"
    __table_args__ = (sa.UniqueConstraint("recognition_id", "user_id", "kind"),
                      one_of("kind", REACTIONS, "kind_valid"))

    id: Mapped[int] = mapped_column(primary_key=True)
    recognition_id: Mapped[int] = mapped_column(sa.ForeignKey("recognitions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)


class PointsLedger(db.Model):
    """Points a person has given in one calendar month of their own time zone; no rollover."""

    __tablename__ = "recognition_points"
    __table_args__ = (sa.UniqueConstraint("user_id", "month"), sa.CheckConstraint("spent >= 0", name="spent_not_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(sa.String(7))  # YYYY-MM
    spent: Mapped[int] = mapped_column(sa.Integer, default=0)


class RecognitionSettings(db.Model):
    """Organisation-wide recognition setting: the monthly points allowance per person (0 = no points)."""

    __tablename__ = "recognition_settings"
    __table_args__ = (sa.CheckConstraint("monthly_allowance >= 0", name="allowance_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    monthly_allowance: Mapped[int] = mapped_column(sa.Integer, default=0)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
