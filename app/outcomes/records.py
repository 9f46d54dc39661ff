"""CaseRecord: one case as read from any source (file row or API item), before it is stored."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter


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


# --- the one validation of ranges, for file rows and API items alike ---------------------------------

# What both databases' INTEGER columns hold (PostgreSQL's is 32-bit), and the span of times a customer
# case can plausibly have. A value outside them is the row's error, never the import's.
INTEGER_MAX = 2**31 - 1
EARLIEST = datetime(1970, 1, 1)
LATEST = datetime(2101, 1, 1)  # exclusive: the year 2100 is the last one accepted
FIRST_YEAR, LAST_YEAR = 1970, 2100
TIME_FIELDS = ("created_at", "first_reply_at", "assigned_at", "first_resolved_at", "solved_at", "closed_at",
               "due_at", "updated_at")
INTEGER_FIELDS = ("first_reply_minutes", "resolution_minutes", "replies", "reopens", "group_stations",
                  "assignee_stations", "csat_score", "nps_score", "ces_score")
TEXT_FIELDS = ("external_id", "status", "customer_ref", "raw_segment", "raw_stage", "raw_request_type", "raw_group",
               "raw_assignee", "channel", "priority")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_times = attrgetter(*TIME_FIELDS)
_integers = attrgetter(*INTEGER_FIELDS)
_texts = attrgetter(*TEXT_FIELDS)


class RangeProblem(ValueError):
    """A record's value that no database column can hold: (field, kind) for the message shown to the user."""

    def __init__(self, field: str, kind: str) -> None:
        super().__init__(f"{field}: {kind}")
        self.field = field
        self.kind = kind  # "time", "integer", "text"


def check_record(record: CaseRecord) -> None:
    """Raise RangeProblem when a value would not be stored the same way on SQLite and PostgreSQL.

    Times fall in the years 1970..2100, whole numbers in 0..2^31-1, text has no NUL character and no
    lone surrogate. Runs on every row of a big file, so the common case is a few C-level min/max calls.
    """
    times = [*filter(None, _times(record))]  # a datetime is never false; created_at is never None
    if min(times) < EARLIEST or max(times) >= LATEST:
        for name, value in zip(TIME_FIELDS, _times(record), strict=True):
            if value is not None and not EARLIEST <= value < LATEST:
                raise RangeProblem(name, "time")
    numbers = [*filter(None, _integers(record))]  # None and 0 left out (0 is in range)
    if numbers and (min(numbers) < 0 or max(numbers) > INTEGER_MAX):
        for name, value in zip(INTEGER_FIELDS, _integers(record), strict=True):
            if value is not None and not 0 <= value <= INTEGER_MAX:
                raise RangeProblem(name, "integer")
    texts = _texts(record)
    if _unstorable("".join(filter(None, texts))):
        for name, value in zip(TEXT_FIELDS, texts, strict=True):
            if value and _UNSTORABLE.search(value):
                raise RangeProblem(name, "text")


def _unstorable(text: str) -> bool:
    """Does `text` hold a NUL or a lone surrogate? What _UNSTORABLE finds, at a fraction of its cost: a lone surrogate
    is the one thing UTF-8 cannot encode."""
    if "\x00" in text:
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False
