"""Quarterly review models: the review, its narrative edits, and next quarter's objectives and key results."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Labelled, db
from app.org.models import Pod, User
from app.timeutil import utcnow


class ReviewStatus(Labelled):
    DRAFT = "draft", _l("Draft")
    IN_REVIEW = "in_review", _l("In review")
    SIGNED_OFF = "signed_off", _l("Signed off")


class Section(Labelled):
    """The narrative's sections, in the order the review shows them."""

    WINS = "wins", _l("Wins")
    MISSES = "misses", _l("Misses")
    LEARNINGS = "learnings", _l("Learnings")
    RISKS = "risks", _l("Risks")
    ASKS = "asks", _l("Asks")


SECTIONS = tuple(section.value for section in Section)


class Review(db.Model):
    """One pod's review of one calendar quarter."""

    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("pod_id", "year", "quarter", name="uq_reviews_pod_quarter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pod_id: Mapped[int] = mapped_column(ForeignKey("pods.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=ReviewStatus.DRAFT.value)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    signed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # The figures as they were at sign-off (JSON); None while the review is not signed off.
    snapshot: Mapped[str | None] = mapped_column(Text, nullable=True)
    reopened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    reopened_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    reopen_reason: Mapped[str] = mapped_column(String(1000), default="")

    pod: Mapped[Pod] = relationship()
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])
    reopened_by: Mapped[User | None] = relationship(foreign_keys=[reopened_by_id])
    objectives: Mapped[list[Objective]] = relationship(
        back_populates="review", order_by="Objective.id", cascade="all, delete-orphan")

    @property
    def key(self) -> str:
        return f"{self.year}-Q{self.quarter}"


class NarrativeEdit(db.Model):
    """Every save of a narrative section is kept; the latest per section is the current text."""

    __tablename__ = "review_narrative_edits"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    section: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    author: Mapped[User | None] = relationship()


class Objective(db.Model):
    """An objective for the quarter after the review's quarter."""

    __tablename__ = "review_objectives"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))

    review: Mapped[Review] = relationship(back_populates="objectives")
    key_results: Mapped[list[KeyResult]] = relationship(
        back_populates="objective", order_by="KeyResult.id", cascade="all, delete-orphan")


class KeyResult(db.Model):
    """A key result on one metric for the pod: baseline from the engine, a target, a confidence 0-10."""

    __tablename__ = "review_key_results"
    __table_args__ = (UniqueConstraint("objective_id", "metric", name="uq_review_kr_metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    objective_id: Mapped[int] = mapped_column(ForeignKey("review_objectives.id", ondelete="CASCADE"), index=True)
    metric: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(16), default="pod")
    baseline: Mapped[float | None] = mapped_column(Float, nullable=True)
    target: Mapped[float] = mapped_column(Float)
    confidence: Mapped[int] = mapped_column(Integer, default=5)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    objective: Mapped[Objective] = relationship(back_populates="key_results")
