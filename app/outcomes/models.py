"""Customer outcomes: cases imported from helpdesks, value mappings, imports, pod targets."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Labelled, db
from app.timeutil import utcnow


class Source(str, enum.Enum):
    ZENDESK = "zendesk"
    FRESHDESK = "freshdesk"
    PODIUM = "podium"
    API = "api"


REQUEST_TYPES = ("information", "quote", "service_request", "petition", "complaint", "claim", "suggestion",
                 "report", "warranty", "compliment")
CHANNELS = ("in_person", "phone", "web", "email", "chat", "social", "app")
PRIORITIES = ("low", "normal", "high", "urgent")
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")


class Case(db.Model):
    """One customer request. Customers stay pseudonymous: only a hashed reference is kept."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        CheckConstraint("csat_score IS NULL OR csat_score BETWEEN 1 AND 5", name="csat_range"),
        Index("ix_cases_pod_created", "pod_id", "created_at"),
        Index("ix_cases_pod_resolved", "pod_id", "first_resolved_at"),
        Index("ix_cases_assignee_resolved", "assignee_id", "first_resolved_at"),
        Index("ix_cases_created", "created_at"),
        Index("ix_cases_resolved", "first_resolved_at"),
        Index("ix_cases_cell_created", "segment_id", "stage_id", "created_at"),
        Index("ix_cases_closed", "closed_at"),  # the backlog's per-day rollups find cases closed on a day
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    customer_ref: Mapped[str | None] = mapped_column(String(32), nullable=True)

    # Attribution: mapped ids, plus the raw source values so cases can be re-attributed without re-import.
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="SET NULL"), nullable=True)
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("lifecycle_stages.id", ondelete="SET NULL"),
                                                 nullable=True)
    pod_id: Mapped[int | None] = mapped_column(ForeignKey("pods.id", ondelete="SET NULL"), nullable=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    request_type: Mapped[str | None] = mapped_column(String(24), nullable=True)
    raw_segment: Mapped[str | None] = mapped_column(String(120), nullable=True)
    raw_stage: Mapped[str | None] = mapped_column(String(120), nullable=True)
    raw_request_type: Mapped[str | None] = mapped_column(String(120), nullable=True)
    raw_group: Mapped[str | None] = mapped_column(String(120), nullable=True)
    raw_assignee: Mapped[str | None] = mapped_column(String(254), nullable=True)

    channel: Mapped[str | None] = mapped_column(String(16), nullable=True)
    priority: Mapped[str | None] = mapped_column(String(16), nullable=True)
    status: Mapped[str] = mapped_column(String(16))

    created_at: Mapped[datetime] = mapped_column(DateTime)
    first_reply_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    first_resolved_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    solved_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    # Durations in minutes, kept so percentiles are computed in SQL.
    first_reply_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)

    replies: Mapped[int] = mapped_column(Integer, default=0)
    reopens: Mapped[int] = mapped_column(Integer, default=0)
    group_stations: Mapped[int] = mapped_column(Integer, default=1)
    assignee_stations: Mapped[int] = mapped_column(Integer, default=1)

    csat_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    nps_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ces_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)

    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="SET NULL"), nullable=True)
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # A digest of the values the last import wrote (ingest.row_digest); NULL once anything else changes the case,
    # so an import then compares the columns themselves. An unchanged re-import reads only this.
    row_hash: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # A digest of the file row (its cells, keyed by the format, options and mappings: ingest.CaseWriter.raw_key) the
    # last import read it from, set only together with row_hash: while row_hash is not NULL, a row with this digest
    # gives this case, so importing the file again passes it over unread. NULL: not from a file.
    raw_hash: Mapped[str | None] = mapped_column(String(16), nullable=True)


@event.listens_for(Case, "before_update")
def _forget_row_hash(_mapper, _connection, case: Case) -> None:
    """A case changed through the ORM no longer matches its imported row's digest: the next import compares columns."""
    if not sa_inspect(case).attrs.row_hash.history.has_changes():
        case.row_hash = None


class ImportStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_IMPORT_STATUSES = (ImportStatus.QUEUED.value, ImportStatus.RUNNING.value)


class Import(db.Model):
    """One file import, a durable job: queued with its stored file, run by one worker, then its result.

    A worker claims a job by a conditional UPDATE (status queued, or running with a stale heartbeat) and
    renews `heartbeat_at` with every commit of a batch; `rows_processed` is where a resumed job goes on.
    """

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=ImportStatus.QUEUED.value)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_processed: Mapped[int] = mapped_column(Integer, default=0)
    rows_created: Mapped[int] = mapped_column(Integer, default=0)
    rows_updated: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rows_failed: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(String(1000), default="")
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # The job: where its file waits (deleted when the job ends), how to read it, who runs it and since when.
    file_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    options: Mapped[str] = mapped_column(String(2000), default="")
    worker: Mapped[str | None] = mapped_column(String(80), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class ImportRowError(db.Model):
    """A row an import skipped, with its line number in the file and the reason."""

    __tablename__ = "import_row_errors"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id", ondelete="CASCADE"), index=True)
    line: Mapped[int] = mapped_column(Integer)
    external_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str] = mapped_column(String(500))


class MappingKind(Labelled):
    POD = "pod", _l("Groups → pods")  # source group -> pod
    USER = "user", _l("Assignees → people")  # source assignee name or email -> user
    SEGMENT = "segment", _l("Segments")
    STAGE = "stage", _l("Lifecycle stages")
    REQUEST_TYPE = "request_type", _l("Request types")


class ValueMapping(db.Model):
    """How a value written by a helpdesk maps to Podium's: a group to a pod, a field value to a segment..."""

    __tablename__ = "value_mappings"
    __table_args__ = (UniqueConstraint("kind", "source_value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    source_value: Mapped[str] = mapped_column(String(254))
    target_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    target_value: Mapped[str | None] = mapped_column(String(32), nullable=True)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PodTarget(db.Model):
    """A pod's target for one metric in one quarter."""

    __tablename__ = "pod_targets"
    __table_args__ = (
        UniqueConstraint("pod_id", "metric", "year", "quarter"),
        CheckConstraint("quarter BETWEEN 1 AND 4", name="quarter_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pod_id: Mapped[int] = mapped_column(ForeignKey("pods.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    value: Mapped[float] = mapped_column(db.Float)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    set_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
