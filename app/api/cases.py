"""Cases sent to the API: JSON items in Podium's case schema, read like Podium CSV rows, then upserted."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app.errors import ServiceError
from app.extensions import db
from app.outcomes.importers import PODIUM_COLUMNS, ParseOptions, PodiumParser, RowProblem, checked_record
from app.outcomes.ingest import UpsertResult, customer_salt, upsert_cases
from app.outcomes.models import Source
from app.outcomes.records import CaseRecord

MAX_CASES = 1000
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
FIELDS = tuple(name for name, _description in PODIUM_COLUMNS)
REQUIRED = ("external_id", "status", "created_at")
INTEGER_FIELDS = ("first_reply_minutes", "resolution_minutes", "replies", "reopens", "group_stations",
                  "assignee_stations", "csat_score", "nps_score", "ces_score")
TIME_FIELDS = ("created_at", "first_reply_at", "assigned_at", "first_resolved_at", "solved_at", "closed_at", "due_at",
               "updated_at")
BOOLEAN_FIELDS = ("escalated",)
# Helpdesks number their cases and customers: whole numbers are taken as ids too.
ID_FIELDS = ("external_id", "customer_id")


@dataclass
class ItemError:
    index: int
    external_id: str | None
    message: str

    def as_json(self) -> dict:
        return {"index": self.index, "external_id": self.external_id, "message": self.message}


@dataclass
class BatchResult:
    received: int
    counts: UpsertResult = field(default_factory=UpsertResult)
    errors: list[ItemError] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"received": self.received, "created": self.counts.created, "updated": self.counts.updated,
                "unchanged": self.counts.unchanged, "failed": len(self.errors),
                "errors": [error.as_json() for error in self.errors]}


class CaseReader:
    """Turns one JSON case into a CaseRecord with the Podium CSV reader, so both accept exactly the same values.

    Times without an offset are read in `timezone` (the organisation's).
    """

    def __init__(self, timezone: str) -> None:
        options = ParseOptions(timezone=timezone, salt=customer_salt(), segment_from="segment", stage_from="stage",
                               request_type_from="request_type")
        self.parser = PodiumParser(list(FIELDS), options)

    def read(self, item: object) -> CaseRecord:
        if not isinstance(item, dict):
            raise RowProblem(_("Each case must be a JSON object."))
        unknown = sorted(str(key) for key in item if key not in FIELDS)
        if unknown:
            raise RowProblem(_("Unknown fields: %(fields)s.", fields=", ".join(name[:40] for name in unknown[:5])))
        missing = [name for name in REQUIRED if item.get(name) in (None, "")]
        if missing:
            raise RowProblem(_("Missing required fields: %(fields)s.", fields=", ".join(missing)))
        row = [_cell(name, item.get(name)) for name in FIELDS]
        try:
            record = self.parser.record(row)
        except (ArithmeticError, ValueError) as exc:
            if isinstance(exc, RowProblem):
                raise
            raise RowProblem(_("A value is out of range (%(error)s).", error=str(exc)[:200])) from None
        return checked_record(record)


def _cell(name: str, value: object) -> str:
    """The JSON value as the CSV reader expects it; anything that is no scalar of the right kind is refused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        if name not in BOOLEAN_FIELDS:
            raise RowProblem(_("%(field)s must not be true or false.", field=name))
        return "true" if value else "false"
    if isinstance(value, int) and name in ID_FIELDS:
        return str(value)
    if isinstance(value, int | float):
        if name not in INTEGER_FIELDS:
            raise RowProblem(_("%(field)s must be a string.", field=name))
        return repr(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise RowProblem(_("%(field)s is not a finite number.", field=name))
    if isinstance(value, str):
        if "\x00" in value:
            raise RowProblem(_("%(field)s contains a NUL character.", field=name))
        if LONE_SURROGATE.search(value):
            raise RowProblem(_("%(field)s contains an invalid character (a lone surrogate).", field=name))
        if len(value) > 1000:
            raise RowProblem(_("%(field)s is longer than %(limit)d characters.", field=name, limit=1000))
        return value
    raise RowProblem(_("%(field)s must be a string, a number or true/false.", field=name))


def upsert_items(items: Sequence[object], timezone: str) -> BatchResult:
    """Store the valid items (source "api", matched by external_id) and report each invalid one.

    Flushes; the caller commits.
    """
    reader = CaseReader(timezone)
    result = BatchResult(received=len(items))
    records: list[CaseRecord] = []
    for index, item in enumerate(items):
        try:
            records.append(reader.read(item))
        except RowProblem as exc:
            external_id = item.get("external_id") if isinstance(item, dict) else None
            if isinstance(external_id, int) and not isinstance(external_id, bool):
                external_id = str(external_id)
            result.errors.append(ItemError(index, external_id[:64] if isinstance(external_id, str) else None,
                                           str(exc)[:500]))
    if records:
        result.counts = upsert_cases(records, source=Source.API.value)
    return result


def store_items(items: Sequence[object], timezone: str) -> BatchResult:
    """``upsert_items`` and commit. Another request writing the same cases at the same moment is refused as a
    conflict (409): nothing from this request is saved, and the client sends it again."""
    try:
        result = upsert_items(items, timezone)
        db.session.commit()
    except IntegrityError:
        raise ServiceError(_("Another request was writing the same cases at the same time; nothing from this "
                             "request was saved. Send it again."), 409, code="conflict") from None
    return result
