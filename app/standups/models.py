"""Stand-up models: one board per pod per local working day, entries, blockers that carry over, attendance."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Labelled, db, one_of
from app.org.models import Pod, User
from app.timeutil import utcnow

DEFAULT_ESCALATE_AFTER_DAYS = 3
DEFAULT_TIMEBOX_SECONDS = 90
MAX_ENTRY_TEXT = 2000  # yesterday / today of an entry
MAX_BLOCKER = 500  # a blocker's description
MAX_CASE_REF = 64  # Blocker.case_ref is String(64)


class BoardStatus(enum.StrEnum):
    OPEN = "open"
    WALKING = "walking"
    CLOSED = "closed"


class BlockerStatus(Labelled):
    OPEN = "open", _l("Still open")
    ESCALATED = "escalated", _l("Escalated")
    RESOLVED = "resolved", _l("Resolved")


class StandupSettings(db.Model):
    """A pod's stand-up settings; a pod without a row uses the defaults."""

    __tablename__ = "standup_settings"
    __table_args__ = (
        CheckConstraint("escalate_after_days BETWEEN 1 AND 30", name="escalate_after_valid"),
        CheckConstraint("timebox_seconds BETWEEN 15 AND 900", name="timebox_valid"),
    )

    pod_id: Mapped[int] = mapped_column(ForeignKey("pods.id", ondelete="CASCADE"), primary_key=True)
    escalate_after_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_ESCALATE_AFTER_DAYS)
    timebox_seconds: Mapped[int] = mapped_column(Integer, default=DEFAULT_TIMEBOX_SECONDS)


class StandupBoard(db.Model):
    __tablename__ = "standup_boards"
    __table_args__ = (
        UniqueConstraint("pod_id", "day", name="uq_standup_boards_pod_day"),
        one_of("status", BoardStatus, "status_valid"),
        Index("ix_standup_boards_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pod_id: Mapped[int] = mapped_column(ForeignKey("pods.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8), default=BoardStatus.OPEN.value)
    # Bumped by a conditional UPDATE on every change: the live poll answers 204 while it is unchanged.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The version of the last change other than an entry (blockers, the walk, closing): a poll from a version at or
    # after it needs only the entries written since (StandupEntry.version), not the whole board.
    layout_version: Mapped[int] = mapped_column(Integer, default=1, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(8), default="visit")  # "job" | "visit" | "demo"
    expected_count: Mapped[int] = mapped_column(Integer, default=0)  # members when the board was made
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    walk_started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    speaker_order: Mapped[list] = mapped_column(JSON, default=list)
    speaker_index: Mapped[int] = mapped_column(Integer, default=0)
    speaker_started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)

    pod: Mapped[Pod] = relationship()

    @property
    def is_closed(self) -> bool:
        return self.status == BoardStatus.CLOSED.value

    @property
    def is_walking(self) -> bool:
        return self.status == BoardStatus.WALKING.value

    @property
    def current_speaker_id(self) -> int | None:
        if not self.is_walking or self.speaker_index >= len(self.speaker_order or []):
            return None
        return self.speaker_order[self.speaker_index]


class StandupEntry(db.Model):
    __tablename__ = "standup_entries"
    __table_args__ = (
        UniqueConstraint("board_id", "user_id", name="uq_standup_entries_board_user"),
        CheckConstraint("mood IS NULL OR mood BETWEEN 1 AND 5", name="mood_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("standup_boards.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    yesterday: Mapped[str] = mapped_column(Text, default="")
    today: Mapped[str] = mapped_column(Text, default="")
    mood: Mapped[int | None] = mapped_column(Integer, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # the board version that wrote it
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship()


class Blocker(db.Model):
    __tablename__ = "standup_blockers"
    __table_args__ = (
        one_of("status", BlockerStatus, "status_valid"),
        Index("ix_standup_blockers_pod_status", "pod_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pod_id: Mapped[int] = mapped_column(ForeignKey("pods.id", ondelete="CASCADE"))
    board_id: Mapped[int | None] = mapped_column(ForeignKey("standup_boards.id", ondelete="SET NULL"),
                                                 nullable=True)
    description: Mapped[str] = mapped_column(Text)
    case_ref: Mapped[str] = mapped_column(String(MAX_CASE_REF), default="")
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    status: Mapped[str] = mapped_column(String(10), default=BlockerStatus.OPEN.value)
    raised_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    raised_day: Mapped[date] = mapped_column(Date)  # the pod's local day it was raised on
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    escalated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)

    raised_by: Mapped[User | None] = relationship(foreign_keys=[raised_by_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])

    @property
    def is_resolved(self) -> bool:
        return self.status == BlockerStatus.RESOLVED.value


class BoardBlocker(db.Model):
    """A blocker shown on a board: raised there or carried over; its status is frozen when the board closes."""

    __tablename__ = "standup_board_blockers"

    board_id: Mapped[int] = mapped_column(ForeignKey("standup_boards.id", ondelete="CASCADE"), primary_key=True)
    blocker_id: Mapped[int] = mapped_column(ForeignKey("standup_blockers.id", ondelete="CASCADE"),
                                            primary_key=True)
    status_at_close: Mapped[str | None] = mapped_column(String(10), nullable=True)

    blocker: Mapped[Blocker] = relationship()


class Attendance(db.Model):
    __tablename__ = "standup_attendance"
    __table_args__ = (CheckConstraint("status IN ('present', 'skipped')", name="status_valid"),)

    board_id: Mapped[int] = mapped_column(ForeignKey("standup_boards.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(8))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
