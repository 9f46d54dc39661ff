"""Streaming readers for helpdesk exports (Zendesk, Freshdesk, Podium CSV) that yield CaseRecords."""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app.outcomes.models import CHANNELS, PRIORITIES, STATUSES
from app.outcomes.records import FIRST_YEAR, INTEGER_MAX, LAST_YEAR, CaseRecord, RangeProblem, check_record

FORMATS = ("zendesk", "freshdesk", "podium")
FORMAT_NAMES = {"zendesk": "Zendesk", "freshdesk": "Freshdesk", "podium": "Podium CSV"}
EMPTY = frozenset({"", "-"})
SCAN_CHUNK = 1 << 20
MAX_VALUE_ECHO = 60
RAW_LIMIT = 120
ASSIGNEE_LIMIT = 254
ID_LIMIT = 64


def _(message: str, **variables: object) -> str:
    """gettext that also works with no request (CLI, background imports), where it speaks English."""
    try:
        return gettext(message, **variables)
    except RuntimeError:
        return message % variables if variables else message


class FileRejected(Exception):
    """The file is not an export Podium can read; nothing was imported. The message is for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that was skipped, with the reason shown to the person who imported the file."""

    reason: str
    external_id: str | None = None


ParsedRow = tuple[int, CaseRecord | RowError]


class RowProblem(ValueError):
    """Raised by a field reader; the row becomes a RowError with this message."""


def range_message(problem: RangeProblem) -> str:
    """The user's words for a value check_record refused."""
    if problem.kind == "time":
        return _("%(column)s falls outside the years %(first)d to %(last)d.", column=problem.field,
                 first=FIRST_YEAR, last=LAST_YEAR)
    if problem.kind == "integer":
        return _("%(column)s is not a whole number from 0 to %(max)d.", column=problem.field, max=INTEGER_MAX)
    return _("%(column)s contains a NUL character or an invalid character.", column=problem.field)


def checked_record(record: CaseRecord) -> CaseRecord:
    """The record if every value can be stored alike on SQLite and PostgreSQL, else RowProblem."""
    try:
        check_record(record)
    except RangeProblem as exc:
        raise RowProblem(range_message(exc)) from None
    return record


@dataclass(frozen=True)
class ParseOptions:
    """How to read a file.

    `segment_from`, `stage_from` and `request_type_from` name the column (a Zendesk custom field may be
    written with or without its ` [list]` / ` [text]` suffix) or, as `tag:PREFIX`, read the value from
    the first tag that starts with PREFIX. None means the format's default.
    """

    timezone: str = "UTC"
    salt: bytes = b""
    segment_from: str | None = None
    stage_from: str | None = None
    request_type_from: str | None = None
    escalated_tag: str = "escalated"


FIELD_DEFAULTS = {
    "zendesk": {"segment_from": "Segment", "stage_from": "Lifecycle stage", "request_type_from": "Request type"},
    "freshdesk": {"segment_from": "Segment", "stage_from": "Lifecycle stage", "request_type_from": "Type"},
    "podium": {"segment_from": "segment", "stage_from": "stage", "request_type_from": "request_type"},
}


def hash_customer_ref(value: str, salt: bytes) -> str:
    """A pseudonymous, stable customer reference: the source's customer id, salted and hashed."""
    return hashlib.blake2b(value.encode(), digest_size=16, key=salt[:64]).hexdigest()


# --- the file as bytes: encoding and size, before anything is read as CSV -------------------------


def scan_file(path: str | Path) -> int:
    """Refuse files that are empty, binary or not UTF-8 in one cheap pass; return the number of lines."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    lines = 0
    first = True
    with open(path, "rb") as handle:
        while chunk := handle.read(SCAN_CHUNK):
            if first:
                _check_start(chunk)
                first = False
            if b"\0" in chunk:
                raise FileRejected(_("The file looks binary (it contains NUL bytes), not a CSV export."))
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line = lines + chunk[: exc.start].count(b"\n") + 1
                raise FileRejected(
                    _("The file is not UTF-8 text (invalid bytes on line %(line)d). Export it again as UTF-8 "
                      "CSV.", line=line)
                ) from exc
            lines += chunk.count(b"\n")
            last = chunk
        if first:
            raise FileRejected(_("The file is empty."))
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise FileRejected(_("The file is not UTF-8 text (it ends in the middle of a character).")) from exc
    return lines + (0 if last.endswith(b"\n") else 1)


def _check_start(chunk: bytes) -> None:
    if chunk.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise FileRejected(_("The file is UTF-32 encoded; export it again as UTF-8 CSV."))
    if chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileRejected(_("The file is UTF-16 encoded; export it again as UTF-8 CSV."))
    if chunk.startswith((b"PK\x03\x04", b"%PDF", b"\xd0\xcf\x11\xe0")):
        raise FileRejected(_("This is a spreadsheet or document, not a CSV file. Export it as CSV."))


def open_text(path: str | Path) -> TextIO:
    """Open an export for reading: UTF-8 with or without BOM, strict, newlines left to the csv module."""
    return open(path, encoding="utf-8-sig", errors="strict", newline="")


def check_file(path: str | Path, fmt: str, options: ParseOptions | None = None) -> int:
    """Refuse a file that is not a readable export of `fmt` before anything is imported.

    Returns the number of lines, an upper bound of the rows shown as progress.
    """
    lines = scan_file(path)
    with open_text(path) as stream:
        parse(stream, fmt, options or ParseOptions())
    return max(0, lines - 1)


# --- reading rows ---------------------------------------------------------------------------------


def parse(stream: TextIO, fmt: str, options: ParseOptions, skip: int = 0) -> Iterator[ParsedRow]:
    """Read the header now (FileRejected when it is not `fmt`) and return an iterator over the rows.

    Each row comes with the line it starts on: (line, CaseRecord) or (line, RowError). `skip` rows
    (as counted by this iterator: blank lines are not rows) are passed over unread, to resume a job.
    """
    reader, parser, width = _open(stream, fmt, options)
    return _rows(reader, parser, width, skip)


@dataclass(slots=True)
class RawRow:
    """A row passed over unread (`keyed_batches` with lazy): its id and digest are enough to know it is unchanged;
    `read()` gives what `parse` would have given for it (a CaseRecord or a RowError)."""

    external_id: str
    digest: str
    cells: list[str]
    parser: _Parser

    def read(self) -> CaseRecord | RowError:
        return _read(self.parser, self.cells)


KeyedRow = tuple[int, "CaseRecord | RowError | RawRow", str | None]


def keyed_batches(stream: TextIO, fmt: str, options: ParseOptions, key: bytes, size: int, *, skip: int = 0,
                  lazy: bool = False, turn: tuple[int, int] = (0, 1)) -> Iterator[list[KeyedRow]]:
    """`parse`'s rows in lists of `size`, each well-formed row with its digest: (line, item, digest), the digest of
    the row's cells keyed by `key` (which must stand for everything else a case depends on: the format, the options,
    the mappings). Reads the header now (FileRejected when it is not `fmt`).

    With `lazy`, rows with a usable id are not read at all: they come as RawRow, for a writer that reads only
    those whose digest differs from the stored one (a file imported again). Rows with no usable id are read
    (they are row errors). With `turn` (index, processes), only the lists numbered index, index + processes, ...
    are made: a parsing process passes over the rows another one reads, counting them alike (only the CSV is
    read). Cells never hold NUL (scan_file refuses such files), so NUL joins them unambiguously.
    """
    reader, parser, width = _open(stream, fmt, options)
    return _keyed_batches(reader, parser, width, skip, key, lazy, size, *turn)


def _keyed_batches(reader, parser: _Parser, width: int, skip: int, key: bytes, lazy: bool, size: int,
                   index: int, processes: int) -> Iterator[list[KeyedRow]]:
    """One loop over the CSV rows making whole lists (a generator per row, then a list of its rows, cost as much as
    reading the cells). Blank lines are not rows; a row the CSV reader refuses is one, as a row error."""
    last = _skip(reader, width, skip)
    if last is None:
        return
    id_at = parser.id_at
    keyed = hashlib.blake2b(digest_size=8, key=key)  # copied for each row: the key is hashed once
    batch: list[KeyedRow] = []
    append = batch.append
    counted = 0  # rows of the current list, read or passed over
    number = 0  # the current list's number
    mine = index == 0
    ended = False
    while not ended:
        try:
            for row in reader:
                line, last = last + 1, reader.line_num
                if len(row) != width:
                    if not row or (len(row) == 1 and not row[0].strip()):
                        continue
                    if mine:
                        append((line, RowError(_("Expected %(expected)d columns, found %(found)d.", expected=width,
                                                 found=len(row)), parser.external_id(row)), None))
                elif mine:
                    digest = keyed.copy()
                    digest.update("\0".join(row).encode())
                    digest = digest.hexdigest()
                    if lazy:
                        external_id = row[id_at].strip()
                        if external_id not in EMPTY and len(external_id) <= ID_LIMIT:
                            append((line, RawRow(external_id, digest, row, parser), digest))
                        else:
                            append((line, _read(parser, row), digest))
                    else:
                        append((line, _read(parser, row), digest))
                counted += 1
                if counted == size:
                    break
            else:
                ended = True
        except csv.Error as exc:  # the reader goes on after the row it refused
            line, last = last + 1, reader.line_num
            if mine:
                append((line, RowError(_("This row is not valid CSV (%(error)s).", error=str(exc))), None))
            counted += 1
        if counted == size:  # a whole list (the loop above left it for this): the next one starts
            if mine:
                yield batch
                batch = []
                append = batch.append
            counted = 0
            number += 1
            mine = number % processes == index
    if batch:
        yield batch


def _open(stream: TextIO, fmt: str, options: ParseOptions) -> tuple:
    if fmt not in PARSERS:
        raise FileRejected(_("Unknown format %(format)s.", format=fmt))
    reader = csv.reader(stream)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise FileRejected(_("The first line is not a CSV header row (%(error)s).", error=str(exc))) from exc
    if not header or not any(cell.strip() for cell in header):
        raise FileRejected(_("The file is empty."))
    header = [cell.strip() for cell in header]
    header[0] = header[0].lstrip("\ufeff")
    if len(header) == 1 and len(header[0]) > 40 and ("\t" in header[0] or ";" in header[0]):
        raise FileRejected(_("The file does not use commas between columns. Export it as comma-separated CSV."))
    defaults = FIELD_DEFAULTS[fmt]
    explicit = {key: getattr(options, key) for key in defaults if getattr(options, key)}
    options = replace(options, **{key: getattr(options, key) or value for key, value in defaults.items()})
    parser = PARSERS[fmt](header, options)
    absent = [spec for spec in explicit.values() if spec in parser.unresolved]
    if absent:
        raise FileRejected(_("The file has no column %(columns)s.", columns=", ".join(f"“{a}”" for a in absent)))
    return reader, parser, len(header)


def _skip(reader, width: int, skip: int) -> int | None:
    """Pass over `skip` rows; the line number read so far, None when the file ended."""
    last = reader.line_num
    while skip > 0:
        try:
            row = next(reader)
        except StopIteration:
            return None
        except csv.Error:
            skip -= 1
            last = reader.line_num
            continue
        last = reader.line_num
        if len(row) != width and (not row or (len(row) == 1 and not row[0].strip())):
            continue
        skip -= 1
    return last


def _read(parser: _Parser, row: list[str]) -> CaseRecord | RowError:
    """A row of the right width: its record, or its error."""
    try:
        return checked_record(parser.record(row))
    except RowProblem as exc:
        return RowError(str(exc)[:500], parser.external_id(row))
    except (ArithmeticError, ValueError) as exc:  # a value no reader foresaw: the row's error, not the file's
        return RowError(_("A value in this row is out of range (%(error)s).", error=str(exc)[:200]),
                        parser.external_id(row))


def _rows(reader, parser: _Parser, width: int, skip: int = 0) -> Iterator[ParsedRow]:
    last = _skip(reader, width, skip)
    if last is None:
        return
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line, last = last + 1, reader.line_num
            yield line, RowError(_("This row is not valid CSV (%(error)s).", error=str(exc)))
            continue
        line, last = last + 1, reader.line_num
        if len(row) != width:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            yield line, RowError(_("Expected %(expected)d columns, found %(found)d.", expected=width,
                                   found=len(row)), parser.external_id(row))
            continue
        yield line, _read(parser, row)


def _echo(value: str) -> str:
    return value if len(value) <= MAX_VALUE_ECHO else value[: MAX_VALUE_ECHO - 1] + "…"


def _text(value: str, limit: int = RAW_LIMIT) -> str | None:
    value = value.strip()
    if value in EMPTY:
        return None
    return value[:limit]


def _count(column: str, value: str, default: int | None) -> int | None:
    value = value.strip()
    if value in EMPTY:
        return default
    try:
        number = int(value)
    except ValueError:
        try:
            as_float = float(value)
        except ValueError:
            as_float = 0.5
        if not as_float.is_integer():
            raise RowProblem(_("%(column)s: “%(value)s” is not a whole number.", column=column,
                               value=_echo(value))) from None
        number = int(as_float)
    if number < 0:
        raise RowProblem(_("%(column)s: “%(value)s” is negative.", column=column, value=_echo(value)))
    if number > INTEGER_MAX:
        raise RowProblem(_("%(column)s: “%(value)s” is too large (at most %(max)d).", column=column,
                           value=_echo(value), max=INTEGER_MAX))
    return number


def _minutes_between(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None or end < start:
        return None
    return round((end - start).total_seconds() / 60)


def _after(start: datetime, minutes: int | None) -> datetime | None:
    if minutes is None:
        return None
    try:
        return start + timedelta(minutes=minutes)
    except OverflowError:
        raise RowProblem(_("%(minutes)d minutes after the creation falls outside the years %(first)d to %(last)d.",
                           minutes=minutes, first=FIRST_YEAR, last=LAST_YEAR)) from None


MINUTES = {f":{minute:02d}": timedelta(minutes=minute) for minute in range(60)}  # ":05" → 5 minutes


class TimeReader:
    """Turn local wall-clock strings into naive UTC, with the zone's offset cached per local hour.

    An hour is cached only when the offset is the same at its first and last second, so a time-zone
    change inside the hour is still converted exactly. Ambiguous local times (the repeated hour when
    clocks go back) are read as the first of the two, as zoneinfo does with fold=0.
    """

    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        self.offsets: dict[datetime, timedelta | None] = {}
        self.by_hour_text: dict[str, timedelta] = {}  # "2026-09-17 14" → offset, for hours with one offset
        # "2026-09-17 14" → that local hour's start in UTC, for hours with one offset: a value written exactly as
        # Zendesk writes times ("2026-09-17 14:05") is then that plus its minutes, with no parsing at all
        self.utc_hours: dict[str, datetime] = {}

    def __call__(self, column: str, value: str, *, day_end: bool = False) -> datetime | None:
        if len(value) == 16:
            hour = self.utc_hours.get(value[:13])
            if hour is not None:
                minutes = MINUTES.get(value[13:])
                if minutes is not None:
                    return hour + minutes
        value = value.strip()
        if value in EMPTY:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise RowProblem(_("%(column)s: “%(value)s” is not a date and time (expected e.g. 2026-09-17 14:05).",
                               column=column, value=_echo(value))) from None
        if not FIRST_YEAR <= moment.year <= LAST_YEAR:
            raise RowProblem(_("%(column)s: “%(value)s” falls outside the years %(first)d to %(last)d.",
                               column=column, value=_echo(value), first=FIRST_YEAR, last=LAST_YEAR))
        if moment.tzinfo is not None:
            return moment.astimezone(UTC).replace(tzinfo=None)
        if day_end and ":" not in value:
            moment += timedelta(days=1)
            return moment - self.offset(moment)
        key = value[:13]
        offset = self.by_hour_text.get(key)
        if offset is None:
            offset = self.offset(moment)
            if not (len(value) >= 13 and value[4] == "-" and value[10] in " T" and value[11:13].isdigit()
                    and self.offsets.get(moment.replace(minute=0, second=0, microsecond=0)) is not None):
                return moment - offset
            if len(self.by_hour_text) > 200_000:
                self.by_hour_text.clear()
                self.utc_hours.clear()
            self.by_hour_text[key] = offset
        if len(value) == 16 and value[13] == ":":  # the fast path's form: its next values of this hour take it
            self.utc_hours[key] = moment.replace(minute=0) - offset
        return moment - offset

    def offset(self, moment: datetime) -> timedelta:
        hour = moment.replace(minute=0, second=0, microsecond=0)
        if hour in self.offsets:
            cached = self.offsets[hour]
            if cached is not None:
                return cached
        else:
            if len(self.offsets) > 200_000:
                self.offsets.clear()
            start = hour.replace(tzinfo=self.zone).utcoffset()
            end = (hour + timedelta(minutes=59, seconds=59)).replace(tzinfo=self.zone).utcoffset()
            self.offsets[hour] = start if start == end else None
            if start == end and start is not None:
                return start
        return moment.replace(tzinfo=self.zone).utcoffset() or timedelta(0)


class _Parser:
    """Reads one format's rows once the header has been matched to the format's columns."""

    format = ""
    # The columns every case needs, in this order: its id, its status and its creation time.
    required: tuple[str, str, str] = ("", "", "")
    # The statuses as the format names them, each with Podium's (an unknown status's message lists these names),
    # and other spellings it accepts; neither minds the case.
    statuses: dict[str, str] = {}
    status_spellings: dict[str, str] = {}
    # The format's other columns, attribute: header; each becomes a reader, `self.<attribute>(row)` being the cell
    # ("" when the file has no such column).
    columns: dict[str, str] = {}

    def __init__(self, header: list[str], options: ParseOptions) -> None:
        self.options = options
        try:
            self.time = TimeReader(options.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise FileRejected(_("Unknown time zone %(zone)s.", zone=options.timezone)) from exc
        self.unresolved: set[str] = set()
        self.customer_hash = hashlib.blake2b(digest_size=16, key=options.salt[:64])
        self.positions: dict[str, int] = {}
        for index, name in enumerate(header):
            self.positions.setdefault(name.casefold(), index)
        missing = [name for name in self.required if name.casefold() not in self.positions]
        if missing:
            message = _("This is not a %(format)s export: the columns %(missing)s are missing.",
                        format=FORMAT_NAMES[self.format], missing=", ".join(f"“{m}”" for m in missing))
            other = detect_format(header)
            if other and other != self.format:
                message += " " + _("It looks like a %(format)s export; choose that format.",
                                   format=FORMAT_NAMES[other])
            raise FileRejected(message)
        self.id_column, self.status_column, self.created_column = self.required
        self.id_at = self.positions[self.id_column.casefold()]
        self.status_of = _status_reader(self.statuses, self.status_spellings)
        self.status = self.column(self.status_column)
        self.created = self.column(self.created_column)
        for attribute, name in self.columns.items():
            setattr(self, attribute, self.column(name))
        self.segment = self.field(options.segment_from or "")
        self.stage = self.field(options.stage_from or "")
        self.request_type = self.field(options.request_type_from or "")

    def at(self, name: str) -> int | None:
        return self.positions.get(name.casefold())

    def field(self, spec: str) -> Callable[[Sequence[str]], str | None]:
        """A reader for a configured field: a column (with or without a [list]/[text] suffix) or tag:PREFIX."""
        if spec.lower().startswith("tag:"):
            prefix = spec[4:].strip().casefold()
            tags_at = self.at("Tags")
            if tags_at is None or not prefix:
                self.unresolved.add(spec)
                return _none

            def from_tag(row: Sequence[str]) -> str | None:
                for tag in re.split(r"[\s,]+", row[tags_at]):
                    if tag.casefold().startswith(prefix) and len(tag) > len(prefix):
                        return tag[len(prefix):][:RAW_LIMIT]
                return None

            return from_tag
        index = self.at(spec)
        if index is None:
            index = next((self.at(f"{spec} [{kind}]") for kind in ("list", "text", "multi-select", "dropdown")
                          if self.at(f"{spec} [{kind}]") is not None), None)
        if index is None:
            self.unresolved.add(spec)
            return _none
        return lambda row: _text(row[index])

    def column(self, name: str) -> Callable[[Sequence[str]], str]:
        index = self.at(name)
        if index is None:
            return _blank
        return itemgetter(index)  # C, not a Python call per cell

    def external_id(self, row: Sequence[str]) -> str | None:
        if self.id_at < len(row):
            value = row[self.id_at].strip()
            return value[:ID_LIMIT] or None
        return None

    def required_id(self, row: Sequence[str]) -> str:
        value = row[self.id_at].strip()
        if value in EMPTY:
            raise RowProblem(_("%(column)s is empty: every case needs its id.", column=self.id_column))
        if len(value) > ID_LIMIT:
            raise RowProblem(_("%(column)s is longer than %(limit)d characters.", column=self.id_column,
                               limit=ID_LIMIT))
        return value

    def required_time(self, column: str, value: str) -> datetime:
        moment = self.time(column, value)
        if moment is None:
            raise RowProblem(_("%(column)s is empty.", column=column))
        return moment

    def customer(self, value: str) -> str | None:
        """hash_customer_ref of the value, from a copy of the keyed hash (its key is hashed once, not every row)."""
        value = value.strip()
        if value in EMPTY:
            return None
        digest = self.customer_hash.copy()
        digest.update(f"{self.format}:{value}".encode())
        return digest.hexdigest()

    def escalated(self, tags: str) -> bool:
        tag = self.options.escalated_tag.casefold()
        if not tag:
            return False
        tags = tags.casefold()
        return tag in tags and tag in re.split(r"[\s,]+", tags)

    def start(self, row: Sequence[str]) -> tuple[str, str, datetime]:
        """The id, status and creation time every case needs; RowProblem when one is missing or wrong."""
        return (self.required_id(row), self.status_of(self.status(row)),
                self.required_time(self.created_column, self.created(row)))

    def case(self, row: Sequence[str], start: tuple[str, str, datetime], customer: str, group: str | None,
             assignee: str | None, **values: object) -> CaseRecord:
        """The record of a row: `start`, the hashed customer, the configured fields and the format's values."""
        external_id, status, created = start
        return CaseRecord(external_id=external_id, status=status, created_at=created,
                          customer_ref=self.customer(customer), raw_segment=self.segment(row),
                          raw_stage=self.stage(row), raw_request_type=self.request_type(row), raw_group=group,
                          raw_assignee=assignee, **values)

    def record(self, row: Sequence[str]) -> CaseRecord:
        raise NotImplementedError


def _none(row: Sequence[str]) -> None:
    return None


def _blank(row: Sequence[str]) -> str:
    return ""


def _lookup(table: dict[str, str | None], prefixes: Sequence[tuple[str, str]] = ()) -> Callable[[str], str | None]:
    """A cached, case-insensitive translation of a source's words (a channel, a priority) into Podium's."""
    cache: dict[str, str | None] = {}

    def translate(value: str) -> str | None:
        if value in cache:
            return cache[value]
        key = value.strip().casefold()
        found = table.get(key)
        if found is None:
            found = next((target for prefix, target in prefixes if key.startswith(prefix)), None)
        if len(cache) < 1000:
            cache[value] = found
        return found

    return translate


def _status_reader(statuses: dict[str, str], spellings: dict[str, str]) -> Callable[[str], str]:
    table = {name.casefold(): status for name, status in (*statuses.items(), *spellings.items())}
    names = ", ".join(statuses)

    def status(value: str) -> str:
        found = table.get(value.strip().casefold())
        if found is None:
            if value.strip() in EMPTY:
                raise RowProblem(_("Status is empty."))
            raise RowProblem(_("Status “%(value)s” is unknown (expected one of %(allowed)s).",
                               value=_echo(value.strip()), allowed=names))
        return found

    return status


# --- Zendesk --------------------------------------------------------------------------------------

ZENDESK_STATUS = {"New": "new", "Open": "open", "Pending": "pending", "Hold": "hold", "Solved": "solved",
                  "Closed": "closed"}
ZENDESK_CHANNELS = _lookup(
    {"mobile": "app", "mobile sdk": "app", "mobile app": "app", "web form": "web", "web widget": "web",
     "web service": "web", "api": "web", "help center": "web", "email": "email", "mail": "email",
     "chat": "chat", "messaging": "chat", "native messaging": "chat", "whatsapp": "chat", "sms": "chat",
     "text": "chat", "phone": "phone", "voice": "phone", "voicemail": "phone", "talk": "phone",
     "twitter": "social", "facebook": "social", "instagram": "social", "x": "social",
     "in person": "in_person", "walk-in": "in_person"},
    (("phone", "phone"), ("voice", "phone"), ("twitter", "social"), ("facebook", "social"),
     ("instagram", "social"), ("web", "web"), ("chat", "chat"), ("mobile", "app"), ("email", "email")),
)
PRIORITY = _lookup({"low": "low", "normal": "normal", "medium": "normal", "high": "high", "urgent": "urgent"})
ZENDESK_CSAT = {"good": 5, "good with comment": 5, "bad": 1, "bad with comment": 1}


class ZendeskParser(_Parser):
    """Zendesk classic CSV export: minutes columns give the first reply and the first resolution."""

    format = "zendesk"
    required = ("Id", "Status", "Created at")
    statuses = ZENDESK_STATUS
    status_spellings = {"on-hold": "hold", "on hold": "hold"}
    columns = {
        "requester": "Requester id", "assignee": "Assignee", "group": "Group", "tags": "Tags",
        "priority": "Priority", "via": "Via", "updated": "Updated at", "assigned": "Assigned at",
        "initially_assigned": "Initially assigned at", "due": "Due date", "solved": "Solved at",
        "satisfaction": "Satisfaction Score", "group_stations": "Group stations",
        "assignee_stations": "Assignee stations", "reopens": "Reopens", "replies": "Replies",
        "first_reply": "First reply time in minutes", "first_resolution": "First resolution time in minutes",
        "full_resolution": "Full resolution time in minutes",
    }

    def record(self, row: Sequence[str]) -> CaseRecord:
        # Every reader in the order of the columns' checks (the first wrong value is the row's error), and the record
        # made with positional values (CaseRecord's field order): this runs for every row of a million-row file
        external_id, status, created = self.start(row)
        time = self.time
        solved = time("Solved at", self.solved(row))
        updated = time("Updated at", self.updated(row))
        first_reply_minutes = _count("First reply time in minutes", self.first_reply(row), None)
        first_resolution = _count("First resolution time in minutes", self.first_resolution(row), None)
        resolution_minutes = _count("Full resolution time in minutes", self.full_resolution(row), None)
        first_resolved = _after(created, first_resolution)
        if first_resolved is None and solved is not None:
            first_resolved = solved
        if resolution_minutes is None:
            resolution_minutes = _minutes_between(created, solved)
        tags = self.tags(row)
        group = _text(self.group(row))
        assignee = _text(self.assignee(row), ASSIGNEE_LIMIT)
        channel = ZENDESK_CHANNELS(self.via(row))
        priority = PRIORITY(self.priority(row))
        first_reply_at = _after(created, first_reply_minutes)
        assigned_at = (time("Initially assigned at", self.initially_assigned(row))
                       or time("Assigned at", self.assigned(row)))
        due_at = time("Due date", self.due(row), day_end=True)
        replies = _count("Replies", self.replies(row), 0) or 0
        reopens = _count("Reopens", self.reopens(row), 0) or 0
        group_stations = _count("Group stations", self.group_stations(row), 1) or 0
        assignee_stations = _count("Assignee stations", self.assignee_stations(row), 1) or 0
        csat_score = ZENDESK_CSAT.get(self.satisfaction(row).strip().casefold())
        escalated = self.escalated(tags) if tags else False
        return CaseRecord(
            external_id, status, created, self.customer(self.requester(row)), self.segment(row), self.stage(row),
            self.request_type(row), group, assignee, channel, priority, first_reply_at, assigned_at, first_resolved,
            solved, updated if status == "closed" else None, due_at, updated, first_reply_minutes, resolution_minutes,
            replies, reopens, group_stations, assignee_stations, csat_score, None, None, escalated,
        )


# --- Freshdesk ------------------------------------------------------------------------------------

FRESHDESK_STATUS = {"Open": "open", "Pending": "pending", "Resolved": "solved", "Closed": "closed",
                    "Waiting on Customer": "pending", "Waiting on Third Party": "hold"}
FRESHDESK_CHANNELS = _lookup(
    {"email": "email", "outbound email": "email", "portal": "web", "feedback widget": "web", "forum": "web",
     "ecommerce": "web", "phone": "phone", "chat": "chat", "whatsapp": "chat", "mobihelp": "app",
     "twitter": "social", "facebook": "social", "instagram": "social", "walk-in": "in_person",
     "in person": "in_person"},
    (("phone", "phone"), ("chat", "chat"), ("email", "email"), ("web", "web")),
)
FRESHDESK_CSAT = {
    "extremely happy": 5, "extremely satisfied": 5, "awesome": 5, "very satisfied": 5,
    "very happy": 4, "happy": 4, "satisfied": 4, "good": 4,
    "neutral": 3, "okay": 3,
    "unhappy": 2, "dissatisfied": 2, "not satisfied": 2, "not good": 2, "bad": 2,
    "very unhappy": 1, "extremely unhappy": 1, "very dissatisfied": 1, "extremely dissatisfied": 1,
}
FRESHDESK_CUSTOMER = ("Contact ID", "Requester ID", "Requester Email", "Email")


def _hours(column: str, value: str) -> int | None:
    """Freshdesk "(in hrs)" values: blank, HH:MM:SS or decimal hours → minutes."""
    value = value.strip()
    if value in EMPTY:
        return None
    try:
        if ":" in value:
            parts = [float(p) for p in value.split(":")]
            if len(parts) > 3 or any(p < 0 for p in parts):
                raise ValueError
            while len(parts) < 3:
                parts.append(0.0)
            minutes = round(parts[0] * 60 + parts[1] + parts[2] / 60)
        else:
            hours = float(value)
            if hours < 0:
                raise ValueError
            minutes = round(hours * 60)
    except (ValueError, OverflowError):
        raise RowProblem(_("%(column)s: “%(value)s” is not a duration (expected hours, or HH:MM:SS).",
                           column=column, value=_echo(value))) from None
    if minutes > INTEGER_MAX:
        raise RowProblem(_("%(column)s: “%(value)s” is too large (at most %(max)d).", column=column,
                           value=_echo(value), max=INTEGER_MAX))
    return minutes


class FreshdeskParser(_Parser):
    """Freshdesk ticket export: durations come from the timestamps, the "(in hrs)" columns are a fallback."""

    format = "freshdesk"
    required = ("Ticket ID", "Status", "Created time")
    statuses = FRESHDESK_STATUS
    status_spellings = {"on hold": "hold", "new": "new"}
    columns = {
        "due": "Due by Time", "resolved": "Resolved time", "closed": "Closed time", "updated": "Last update time",
        "initial_response": "Initial response time", "first_response_hours": "First response time (in hrs)",
        "resolution_hours": "Resolution time (in hrs)", "agent_interactions": "Agent interactions",
        "survey": "Survey results", "agent": "Agent", "group": "Group", "priority": "Priority", "source": "Source",
        "tags": "Tags",
    }

    def __init__(self, header: list[str], options: ParseOptions) -> None:
        super().__init__(header, options)
        customer = next((name for name in FRESHDESK_CUSTOMER if self.at(name) is not None), None)
        self.customer_id = self.column(customer) if customer else _blank

    def record(self, row: Sequence[str]) -> CaseRecord:
        start = self.start(row)
        _external_id, status, created = start
        time = self.time
        resolved = time("Resolved time", self.resolved(row))
        closed = time("Closed time", self.closed(row))
        first_reply = time("Initial response time", self.initial_response(row))
        first_reply_minutes = _minutes_between(created, first_reply)
        if first_reply_minutes is None:
            first_reply_minutes = _hours("First response time (in hrs)", self.first_response_hours(row))
            first_reply = _after(created, first_reply_minutes)
        solved = resolved or (closed if status in ("solved", "closed") else None)
        resolution_minutes = _minutes_between(created, solved)
        if resolution_minutes is None:
            resolution_minutes = _hours("Resolution time (in hrs)", self.resolution_hours(row))
            if solved is None and resolution_minutes is not None and status in ("solved", "closed"):
                solved = _after(created, resolution_minutes)
        agent = _text(self.agent(row), ASSIGNEE_LIMIT)
        group = _text(self.group(row))
        survey = self.survey(row).strip()
        tags = self.tags(row)
        return self.case(
            row, start, self.customer_id(row), group, agent,
            channel=FRESHDESK_CHANNELS(self.source(row)),
            priority=PRIORITY(self.priority(row)),
            first_reply_at=first_reply,
            first_resolved_at=solved,
            solved_at=solved,
            closed_at=closed,
            due_at=time("Due by Time", self.due(row), day_end=True),
            updated_at=time("Last update time", self.updated(row)),
            first_reply_minutes=first_reply_minutes,
            resolution_minutes=resolution_minutes,
            replies=_count("Agent interactions", self.agent_interactions(row), 0) or 0,
            group_stations=1 if group else 0,
            assignee_stations=1 if agent else 0,
            csat_score=_survey_score(survey),
            escalated=self.escalated(tags) if tags else False,
        )


def _survey_score(value: str) -> int | None:
    if value in EMPTY:
        return None
    if value.isdigit() and 1 <= int(value) <= 5:
        return int(value)
    return FRESHDESK_CSAT.get(value.casefold())


# --- Podium CSV -----------------------------------------------------------------------------------

PODIUM_COLUMNS: tuple[tuple[str, object], ...] = (
    ("external_id", _l("Required. Your unique id for the case, up to 64 characters.")),
    ("status", _l("Required. new, open, pending, hold, solved or closed.")),
    ("created_at", _l("Required. ISO 8601, e.g. 2026-09-17T14:05:00+02:00; without an offset the import's "
                      "time zone applies (to every time column).")),
    ("customer_id", _l("Your customer's id; stored only as a salted hash.")),
    ("segment", _l("Customer segment as your system names it; mapped to a Podium segment.")),
    ("stage", _l("Lifecycle stage as your system names it; mapped to a Podium stage.")),
    ("request_type", _l("Request type, e.g. warranty, or your own word for it (mapped).")),
    ("group", _l("The team or queue that handled the case; mapped to a pod.")),
    ("assignee", _l("The agent's name or email; mapped to a person.")),
    ("channel", _l("in_person, phone, web, email, chat, social or app.")),
    ("priority", _l("low, normal, high or urgent.")),
    ("first_reply_at", _l("Time of the first public agent reply.")),
    ("assigned_at", _l("Time of the first assignment.")),
    ("first_resolved_at", _l("Time the case was first resolved (empty: solved_at).")),
    ("solved_at", _l("Time of the final resolution.")),
    ("closed_at", _l("Time the case was closed.")),
    ("due_at", _l("SLA due time; a date alone means the end of that day.")),
    ("updated_at", _l("Time of the last update.")),
    ("first_reply_minutes", _l("Minutes to the first reply (empty: from first_reply_at).")),
    ("resolution_minutes", _l("Minutes to the final resolution (empty: from solved_at).")),
    ("replies", _l("Number of public agent replies (default 0).")),
    ("reopens", _l("Number of reopens (default 0).")),
    ("group_stations", _l("Number of groups the case went through (default 1).")),
    ("assignee_stations", _l("Number of assignees the case went through (default 1).")),
    ("csat_score", _l("Satisfaction rating 1–5.")),
    ("nps_score", _l("Net promoter score 0–10.")),
    ("ces_score", _l("Customer effort score 1–7.")),
    ("escalated", _l("true or false (default false).")),
)
PODIUM_HEADER = ",".join(name for name, _description in PODIUM_COLUMNS)
TRUE = frozenset({"true", "yes", "y", "1"})
FALSE = frozenset({"false", "no", "n", "0", "", "-"})


class PodiumParser(_Parser):
    """Podium's own CSV: one header row naming CaseRecord fields; unknown columns refuse the file."""

    format = "podium"
    required = ("external_id", "status", "created_at")
    statuses = {s: s for s in STATUSES}

    def __init__(self, header: list[str], options: ParseOptions) -> None:
        super().__init__(header, options)
        known = {name for name, _description in PODIUM_COLUMNS}
        unknown = [name for name in header if name.casefold() not in known and name]
        if unknown:
            raise FileRejected(_("Unknown columns %(columns)s. A Podium CSV has these columns: %(known)s.",
                                 columns=", ".join(f"“{_echo(u)}”" for u in unknown[:5]), known=PODIUM_HEADER))
        self.readers = {name: self.column(name) for name in known}

    def _choice(self, name: str, row: Sequence[str], allowed: Sequence[str]) -> str | None:
        value = self.readers[name](row).strip()
        if value in EMPTY:
            return None
        if value.casefold() not in allowed:
            raise RowProblem(_("%(column)s: “%(value)s” is not one of %(allowed)s.", column=name,
                               value=_echo(value), allowed=", ".join(allowed)))
        return value.casefold()

    def _score(self, name: str, row: Sequence[str], low: int, high: int) -> int | None:
        score = _count(name, self.readers[name](row), None)
        if score is not None and not low <= score <= high:
            raise RowProblem(_("%(column)s must be between %(low)d and %(high)d.", column=name, low=low, high=high))
        return score

    def record(self, row: Sequence[str]) -> CaseRecord:
        col = self.readers
        start = self.start(row)
        created = start[2]
        time = self.time
        times = {name: time(name, col[name](row), day_end=name == "due_at")
                 for name in ("first_reply_at", "assigned_at", "first_resolved_at", "solved_at", "closed_at",
                              "due_at", "updated_at")}
        solved = times["solved_at"]
        first_resolved = times["first_resolved_at"] or solved
        first_reply_minutes = _count("first_reply_minutes", col["first_reply_minutes"](row), None)
        if first_reply_minutes is None:
            first_reply_minutes = _minutes_between(created, times["first_reply_at"])
        resolution_minutes = _count("resolution_minutes", col["resolution_minutes"](row), None)
        if resolution_minutes is None:
            resolution_minutes = _minutes_between(created, solved or first_resolved)
        escalated = col["escalated"](row).strip().casefold()
        if escalated not in TRUE and escalated not in FALSE:
            raise RowProblem(_("escalated: “%(value)s” is not true or false.", value=_echo(escalated)))
        return self.case(
            row, start, col["customer_id"](row), _text(col["group"](row)),
            _text(col["assignee"](row), ASSIGNEE_LIMIT),
            channel=self._choice("channel", row, CHANNELS),
            priority=self._choice("priority", row, PRIORITIES),
            first_reply_at=times["first_reply_at"],
            assigned_at=times["assigned_at"],
            first_resolved_at=first_resolved,
            solved_at=solved,
            closed_at=times["closed_at"],
            due_at=times["due_at"],
            updated_at=times["updated_at"],
            first_reply_minutes=first_reply_minutes,
            resolution_minutes=resolution_minutes,
            replies=_count("replies", col["replies"](row), 0) or 0,
            reopens=_count("reopens", col["reopens"](row), 0) or 0,
            group_stations=_count("group_stations", col["group_stations"](row), 1) or 0,
            assignee_stations=_count("assignee_stations", col["assignee_stations"](row), 1) or 0,
            csat_score=self._score("csat_score", row, 1, 5),
            nps_score=self._score("nps_score", row, 0, 10),
            ces_score=self._score("ces_score", row, 1, 7),
            escalated=escalated in TRUE,
        )


PARSERS: dict[str, type[_Parser]] = {"zendesk": ZendeskParser, "freshdesk": FreshdeskParser, "podium": PodiumParser}


def detect_format(header: Sequence[str]) -> str | None:
    """The format whose required columns the header has, if any."""
    names = {name.strip().casefold() for name in header}
    for fmt, parser in PARSERS.items():
        if all(column.casefold() in names for column in parser.required):
            return fmt
    return None
