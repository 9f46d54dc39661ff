"""CaseRecord: one case as read from any source (file row or API item), before it is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class CaseRecord:
    """Times are naive UTC. Raw values are the source's own words; mapping turns them into Podium ids."""

    external_id: str
    status: str
    created_at: datetime
    customer_ref: str | None = None
    raw_segment: str | None = None
    raw_stage: str | None = None
    raw_request_type: str | None = None
    raw_group: str | None = None
    raw_assignee: str | None = None
    channel: str | None = None
    priority: str | None = None
    first_reply_at: datetime | None = None
    assigned_at: datetime | None = None
    first_resolved_at: datetime | None = None
    solved_at: datetime | None = None
    closed_at: datetime | None = None
    due_at: datetime | None = None
    updated_at: datetime | None = None
    first_reply_minutes: int | None = None
    resolution_minutes: int | None = None
    replies: int = 0
    reopens: int = 0
    group_stations: int = 1
    assignee_stations: int = 1
    csat_score: int | None = None
    nps_score: int | None = None
    ces_score: int | None = None
    escalated: bool = False
