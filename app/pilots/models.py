"""A pilot: a pod tries the model on some (segment, stage) cells from a date, in phases, aiming to move metrics."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Labelled, db, one_of
from app.org.models import LifecycleStage, Pod, Segment, User
from app.timeutil import utcnow


class PilotStatus(Labelled):
    RUNNING = "running", _l("Running")
    ENDED = "ended", _l("Ended")
    ADOPTED = "adopted", _l("Adopted")


class Pilot(db.Model):
    __tablename__ = "pilots"
    __table_args__ = (
        one_of("status", PilotStatus, "status_valid"),
        sa.CheckConstraint("ended_on IS NULL OR ended_on >= start_date", name="dates_ordered"),
        sa.Index("ix_pilots_pod", "pod_id", "start_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    pod_id: Mapped[int] = mapped_column(sa.ForeignKey("pods.id", ondelete="CASCADE"))
    hypothesis: Mapped[str] = mapped_column(sa.Text, default="")
    metrics: Mapped[str] = mapped_column(sa.String(300))  # metric codes, comma-separated, in the order chosen
    start_date: Mapped[date] = mapped_column(sa.Date)
    window_days: Mapped[int] = mapped_column(sa.Integer, default=56)
    status: Mapped[str] = mapped_column(sa.String(16), default=PilotStatus.RUNNING.value)
    ended_on: Mapped[date | None] = mapped_column(sa.Date, nullable=True)
    started_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    pod: Mapped[Pod] = relationship()
    started_by: Mapped[User | None] = relationship()
    phases: Mapped[list[PilotPhase]] = relationship(back_populates="pilot", order_by="PilotPhase.number",
                                                    cascade="all, delete-orphan")

    @property
    def metric_codes(self) -> list[str]:
        return [code for code in self.metrics.split(",") if code]

    @property
    def running(self) -> bool:
        return self.status == PilotStatus.RUNNING.value


class PilotPhase(db.Model):
    """Phase 1 starts with the pilot; each widening adds a phase with its own start date and new cells."""

    __tablename__ = "pilot_phases"
    __table_args__ = (sa.UniqueConstraint("pilot_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pilot_id: Mapped[int] = mapped_column(sa.ForeignKey("pilots.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(sa.Integer)
    start_date: Mapped[date] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    pilot: Mapped[Pilot] = relationship(back_populates="phases")
    cells: Mapped[list[PilotCell]] = relationship(back_populates="phase", cascade="all, delete-orphan",
                                                  order_by="PilotCell.id")


class PilotCell(db.Model):
    """A (segment, stage) cell a phase brought into the pilot; a cell joins a pilot once."""

    __tablename__ = "pilot_cells"
    __table_args__ = (sa.UniqueConstraint("pilot_id", "segment_id", "stage_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pilot_id: Mapped[int] = mapped_column(sa.ForeignKey("pilots.id", ondelete="CASCADE"), index=True)
    phase_id: Mapped[int] = mapped_column(sa.ForeignKey("pilot_phases.id", ondelete="CASCADE"))
    segment_id: Mapped[int] = mapped_column(sa.ForeignKey("segments.id", ondelete="CASCADE"))
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("lifecycle_stages.id", ondelete="CASCADE"))

    phase: Mapped[PilotPhase] = relationship(back_populates="cells")
    segment: Mapped[Segment] = relationship()
    stage: Mapped[LifecycleStage] = relationship()
