"""The cases behind a figure: a keyset-paged list and a CSV export, filtered by metrics.case_filter."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from app.csvexport import SafeWriter
from app.errors import ServiceError
from app.extensions import db
from app.org.models import LifecycleStage, Pod, Segment, User
from app.outcomes import metrics
from app.outcomes.models import Case
from app.outcomes.request_types import unexpected_condition

PAGE_SIZE = 50
EXPORT_BATCH = 2000
# sort key -> (column, value used when the column is empty, how a cursor's text becomes a value)
SORTS = {
    "created": (Case.created_at, None, datetime.fromisoformat),
    "resolved": (Case.first_resolved_at, datetime(1900, 1, 1), datetime.fromisoformat),
    "resolution": (Case.resolution_minutes, -1, int),
}
DEFAULT_SORT = "created"


LIST_ERRORS = {
    "metric": _l("This figure has no case list."),
    "period": _l("Give the period as start and end dates written YYYY-MM-DD, the start on or before the end."),
    "scope": _l("Pods, people, segments and stages are given by their number."),
    "sort": _l("Sort by creation, resolution or time to resolution."),
    "cursor": _l("That page link is not valid any more; start from the first page."),
}


class ListError(ServiceError, ValueError):
    """Bad list input (a metric, a period, a scope, a sort, a cursor): 400; ``code`` names it, the message says it."""

    status = 400

    def __init__(self, code: str) -> None:
        super().__init__(LIST_ERRORS[code], code=code)


@dataclass(frozen=True)
class Request:
    code: str
    part: str
    scope: metrics.Scope
    start: date
    end: date
    sort: str = DEFAULT_SORT
    descending: bool = True
    unexpected: bool = False  # only cases whose request type is not expected at their stage


def _sort_column(sort: str):
    column, empty, _parse = SORTS[sort]
    return column if empty is None else func.coalesce(column, empty)


def _base(request: Request):
    clauses = metrics.case_filter(request.code, request.scope, request.start, request.end, request.part)
    if request.unexpected:
        clauses.append(unexpected_condition())
    return clauses


def count(request: Request) -> int:
    return db.session.scalar(select(func.count()).select_from(Case).where(*_base(request))) or 0


def _columns():
    assignee = aliased(User)
    return (
        select(Case.id, Case.external_id, Case.source, Case.status, Case.created_at, Case.first_resolved_at,
               Case.closed_at, Pod.name, assignee.display_name, Segment.name, LifecycleStage.name, Case.channel,
               Case.request_type, Case.replies, Case.reopens, Case.group_stations, Case.assignee_stations,
               Case.csat_score, Case.first_reply_minutes, Case.resolution_minutes, Case.escalated, Case.due_at)
        .select_from(Case)
        .outerjoin(Pod, Pod.id == Case.pod_id)
        .outerjoin(assignee, assignee.id == Case.assignee_id)
        .outerjoin(Segment, Segment.id == Case.segment_id)
        .outerjoin(LifecycleStage, LifecycleStage.id == Case.stage_id)
    )


HEADER = ("id", "external_id", "source", "status", "created_at", "first_resolved_at", "closed_at", "pod",
          "assignee", "segment", "stage", "channel", "request_type", "replies", "reopens", "group_stations",
          "assignee_stations", "csat", "first_reply_minutes", "resolution_minutes", "escalated", "due_at")


def encode_cursor(sort: str, row) -> str:
    value = row[HEADER.index({"created": "created_at", "resolved": "first_resolved_at",
                              "resolution": "resolution_minutes"}[sort])]
    _column, empty, _parse = SORTS[sort]
    if value is None:
        value = empty
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return f"{text}~{row[0]}"


def _after(request: Request, cursor: str | None):
    if not cursor:
        return []
    text, _sep, ident = cursor.rpartition("~")
    _column, _empty, parse = SORTS[request.sort]
    try:
        value, last_id = parse(text), int(ident)
    except (ValueError, TypeError):
        raise ListError("cursor") from None
    column = _sort_column(request.sort)
    if request.descending:
        return [or_(column < value, and_(column == value, Case.id < last_id))]
    return [or_(column > value, and_(column == value, Case.id > last_id))]


def _ordered(stmt, request: Request):
    column = _sort_column(request.sort)
    if request.descending:
        return stmt.order_by(column.desc(), Case.id.desc())
    return stmt.order_by(column.asc(), Case.id.asc())


def page(request: Request, cursor: str | None = None, size: int = PAGE_SIZE) -> tuple[list, str | None]:
    """One page of rows (tuples in HEADER order) after `cursor`, and the cursor of the next page (None at the end).
    Two queries at most, however deep the page: the keyset, never an OFFSET."""
    if request.sort not in SORTS:
        raise ListError("sort")
    stmt = _ordered(_columns().where(*_base(request), *_after(request, cursor)), request).limit(size + 1)
    rows = db.session.execute(stmt).all()
    following = encode_cursor(request.sort, rows[size - 1]) if len(rows) > size else None
    return rows[:size], following


def export(request: Request) -> Iterator[str]:
    """The whole list as CSV text, streamed a batch at a time (keyset, so memory stays flat)."""
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(HEADER)
    cursor = None
    while True:
        rows, cursor = page(request, cursor, EXPORT_BATCH)
        writer.writerows(rows)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if cursor is None:
            break
