"""Storing cases: upserts by (source, external_id) in batches, and the file import that drives them."""

from __future__ import annotations

import ctypes
import gc
import itertools
import json
import logging
import multiprocessing
import os
import queue
import socket
import threading
import time
import uuid
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from hashlib import blake2b
from itertools import repeat
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import TypeVar

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import DateTime, func, insert, select, text, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from app.extensions import begin_write, db
from app.org.models import User
from app.outcomes import pg_load, rollups
from app.outcomes.attribution import ATTRIBUTED, Attributor, CoverageIndex, MembershipIndex, attribute_pod
from app.outcomes.importers import (
    FileRejected,
    ParseOptions,
    RawRow,
    RowError,
    _,
    check_file,
    keyed_batches,
    open_text,
    parse,
)
from app.outcomes.models import Case, Import, ImportRowError, ImportStatus, Source
from app.outcomes.records import CaseRecord
from app.timeutil import utcnow

log = logging.getLogger(__name__)

RECORD_FIELDS = tuple(f.name for f in fields(CaseRecord))
COMPARED = RECORD_FIELDS + ATTRIBUTED
COMPARED_COLUMNS = tuple(getattr(Case, name) for name in COMPARED)
record_values = attrgetter(*RECORD_FIELDS)
BATCH_SIZE = 2000
# On SQLite a batch holds the one write lock while it is written: smaller batches keep interactive writes waiting
# for it short (a 2000-row batch held it for 0.2 s on a busy machine).
SQLITE_BATCH_SIZE = 250  # the parser's batch on SQLite, and the smallest write transaction
SQLITE_MAX_BATCH_SIZE = 8000  # a fresh table takes 8,000 rows within SQLITE_BATCH_SECONDS: fewer commits
SQLITE_BATCH_SECONDS = 0.1  # the longest a write transaction should hold SQLite's write lock
SQLITE_WAL_AUTOCHECKPOINT = 10_000  # pages
# A file import's page cache on SQLite (KiB), instead of the connection's 64 MB: new cases go to the right-hand edge
# of the table and its unique index, so a small cache holds what the next batch needs, and the import's memory
# stays under 300 MB with its parsing processes (the full cache was a fifth of it). Set back when the import ends.
SQLITE_IMPORT_CACHE_KIB = 8192
COMMIT_SECONDS = 0.0  # every batch is its own short transaction
PARSE_AHEAD = 2  # batches parsed ahead of the writer
PARSE_IN_THREAD = True  # False: parse in the writer's thread (bench.import_profile, to see it under cProfile)
MAX_STORED_ERRORS = 10_000
REQUEUE_SECONDS = 60.0  # an import queues a day it writes again after this long (rollups.queue_days)
ROLLUP_DAYS_PER_COMMIT = 14  # refresh neighbours too: 14 UTC days stay under refresh's 60-day whole-range scan
SOURCES = frozenset(s.value for s in Source)
# A file of at least this many rows, and at least as long as the cases table, is imported without the table's
# non-unique indexes, built once at its end: keeping seven indexes in step row by row cost more than the rows.
BIG_IMPORT_ROWS = 100_000
# A file of at least this many rows, mostly new cases, is parsed by PARSE_PROCESSES forked processes (0 or 1: by a
# thread of the writer's process).
PROCESS_MIN_ROWS = 50_000
PARSE_PROCESSES = min(2, os.cpu_count() or 1)
PARSE_STALL_SECONDS = 120.0  # a parsing process that sends no batch for this long has hung: the import fails
INDEX_SAMPLE_ROWS = 500  # a file's first rows, looked up to tell a new file from one imported again
INDEX_BUILD_MEMORY = "256MB"  # PostgreSQL's maintenance_work_mem while the import builds the case indexes again

T = TypeVar("T")


@dataclass
class UpsertResult:
    """How many of the records given created a case, changed one, or matched one exactly."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertResult) -> UpsertResult:
        return UpsertResult(self.created + other.created, self.updated + other.updated,
                            self.unchanged + other.unchanged)


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


DATETIME_POSITIONS = tuple(i for i, name in enumerate(COMPARED)
                           if isinstance(Case.__table__.c[name].type, DateTime))
ROLLUP_POSITIONS = tuple(COMPARED.index(name) for name in rollups.TIMESTAMPS)
STAMP_COLUMNS = ("source", "import_id", "imported_at")
INSERT_COLUMNS = COMPARED + ("row_hash", "raw_hash") + STAMP_COLUMNS
# The rows of a file whose case is missing or may differ, from [[external_id, row digest], ...] as JSON (SQLite)
DIFFERING_SQL = ("SELECT json_extract(j.value, '$[0]'), c.id, c.row_hash, c.raw_hash FROM json_each(?) AS j "
                 "LEFT JOIN cases AS c ON c.source = ? AND c.external_id = json_extract(j.value, '$[0]') "
                 "WHERE c.id IS NULL OR c.row_hash IS NULL OR c.raw_hash IS NOT json_extract(j.value, '$[1]')")
# Bump when a change to the readers makes the same cells give other values: every file is then read again once.
READER_VERSION = 1


def row_digest(row: tuple) -> str:
    """The digest stored in cases.row_hash: of a row's COMPARED values in the database's own form."""
    return blake2b(repr(row).encode(), digest_size=8).hexdigest()


class _RememberedCoverage:
    """CoverageIndex.pods_at, remembered by cell and by where the moment falls among the cell's period bounds."""

    def __init__(self, coverage: CoverageIndex) -> None:
        self.coverage = coverage
        self.bounds = {cell: sorted({moment for start, end, _pod in periods for moment in (start, end)
                                     if moment is not None})
                       for cell, periods in coverage.cells.items()}
        self.cache: dict[tuple, list[int]] = {}

    def pods_at(self, segment_id: int | None, stage_id: int | None, moment: datetime) -> list[int]:
        bounds = self.bounds.get((segment_id, stage_id))
        if bounds is None:
            return []
        key = (segment_id, stage_id, bisect_right(bounds, moment))
        pods = self.cache.get(key)
        if pods is None:
            pods = self.cache[key] = self.coverage.pods_at(segment_id, stage_id, moment)
        return pods


class _RememberedMemberships:
    """MembershipIndex.pods_of, remembered by person and local day (what it depends on)."""

    LIMIT = 100_000

    def __init__(self, memberships: MembershipIndex) -> None:
        self.memberships = memberships
        self.cache: dict[tuple, list[int]] = {}

    def pods_of(self, user_id: int | None, moment: datetime) -> list[int]:
        if user_id not in self.memberships.people:
            return []
        key = (user_id, self.memberships.local_day(moment))
        pods = self.cache.get(key)
        if pods is None:
            if len(self.cache) >= self.LIMIT:
                self.cache.clear()
            pods = self.cache[key] = self.memberships.pods_of(user_id, moment)
        return pods


class MemoAttributor:
    """Attributor.attribute for many records, remembered: a file has few distinct raw values, cells and days.

    Lookups are remembered by the raw values; the pod rule itself runs for every case, on coverage and
    memberships remembered by what they depend on (the cell and where the moment falls among its period
    bounds; the person and the local day), so the result is exactly the plain rule's.
    """

    LIMIT = 100_000

    def __init__(self, attributor: Attributor) -> None:
        self.attributor = attributor
        self.coverage = _RememberedCoverage(attributor.coverage)
        self.memberships = _RememberedMemberships(attributor.memberships)
        self.raw_cache: dict[tuple, tuple] = {}

    def attribute(self, raw_segment: str | None, raw_stage: str | None, raw_request_type: str | None,
                  raw_group: str | None, raw_assignee: str | None, created_at: datetime) -> tuple:
        raw = (raw_segment, raw_stage, raw_request_type, raw_group, raw_assignee)
        resolved = self.raw_cache.get(raw)
        if resolved is None:
            resolve = self.attributor.resolve
            resolved = (resolve("segment", raw_segment), resolve("stage", raw_stage),
                        resolve("request_type", raw_request_type), resolve("user", raw_assignee),
                        resolve("pod", raw_group))
            if len(self.raw_cache) >= self.LIMIT:
                self.raw_cache.clear()
            self.raw_cache[raw] = resolved
        segment_id, stage_id, request_type, assignee_id, group_pod_id = resolved
        covering = self.coverage.pods_at(segment_id, stage_id, created_at)
        if len(covering) == 1:  # the rule's first answer, without its call (most cases of a file)
            return segment_id, stage_id, request_type, assignee_id, covering[0]
        pod_id = attribute_pod(segment_id=segment_id, stage_id=stage_id, created_at=created_at,
                               assignee_id=assignee_id, group_pod_id=group_pod_id, coverage=self.coverage,
                               memberships=self.memberships)
        return segment_id, stage_id, request_type, assignee_id, pod_id


def _sqlite_datetime(value: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores, so raw and ORM writes compare and sort alike."""
    return value.isoformat(" ", "microseconds")


class CaseWriter:
    """Writes batches of records of one source: one SELECT, one bulk INSERT and one bulk UPDATE each.

    Goes to the DB-API cursor of the session's connection (in the session's transaction): rows are plain
    tuples in the database's own form, compared with what the SELECT returns, and new cases go in with
    COPY on PostgreSQL and executemany on SQLite. That keeps a million-row import within a minute.
    """

    def __init__(self, source: str, *, import_id: int | None = None, attributor: Attributor | None = None,
                 days: set | None = None) -> None:
        if source not in SOURCES:
            raise ValueError(f"unknown case source {source!r}")
        self.source = source
        self.import_id = import_id
        # Where the days a batch changes go: None → rollups.touch (recomputed when the session commits, as the
        # API wants); a set → collected by the file import, which refreshes them once when the job ends (a
        # refresh per committed batch recomputed most of the history thousands of times: 323 s for 100k rows).
        self.days = days
        self.updated_days = getattr(days, "updated", None)  # an ImportDays: the days of updated cases apart
        self.queued: dict = {}  # day → when this writer last queued it (time.monotonic())
        self.attributor = attributor or Attributor.load()
        self.memo = MemoAttributor(self.attributor)
        dialect = db.session.get_bind().dialect
        self.postgres = dialect.name == "postgresql"
        self.dbapi_integrity_error = dialect.loaded_dbapi.IntegrityError
        self.hashed_columns = "external_id, row_hash, raw_hash"
        self.compared_columns = ", ".join(COMPARED)
        if self.postgres:
            marker = "%s"
        else:
            self.select_sql = "SELECT id, {columns} FROM cases WHERE source = ? AND external_id IN ({markers})"
            self.insert_sql = (f"INSERT INTO cases ({', '.join(INSERT_COLUMNS)}) "
                               f"VALUES ({', '.join('?' for _c in INSERT_COLUMNS)})")
            marker = "?"
        self.update_sql = (f"UPDATE cases SET {', '.join(f'{name} = {marker}' for name in INSERT_COLUMNS)} "
                           f"WHERE id = {marker}")
        # row_hash and raw_hash are only ever set together: a raw_hash vouches for the case's row_hash values
        self.hash_sql = f"UPDATE cases SET row_hash = {marker}, raw_hash = {marker} WHERE id = {marker}"
        # What a file import sets the page cache back to when it ends (SQLITE_IMPORT_CACHE_KIB while it runs)
        self.cache_size = None if self.postgres or days is None else db.session.connection().exec_driver_sql(
            "PRAGMA cache_size").scalar()

    def restore_cache(self) -> None:
        """After a file import on SQLite: the connection's own page cache again. Rolls back (the import committed
        what it keeps; what follows it starts a transaction of its own)."""
        db.session.rollback()
        if self.cache_size is None:
            return
        try:
            db.session.connection().exec_driver_sql(f"PRAGMA cache_size={int(self.cache_size)}")
        except SQLAlchemyError:  # never in place of what ended the import
            log.warning("The page cache of an import's connection was not set back", exc_info=True)
        db.session.rollback()

    def _db_form(self, row: tuple) -> tuple:
        if self.postgres:
            return row
        values = list(row)
        for position in DATETIME_POSITIONS:  # _sqlite_datetime, inline: six times a row
            value = values[position]
            if value is not None:
                values[position] = value.isoformat(" ", "microseconds")
        return tuple(values)

    def row(self, record: CaseRecord) -> tuple:
        """The record's stored values (COMPARED), attributed, in the database's own form."""
        return self._db_form(record_values(record) + self.memo.attribute(
            record.raw_segment, record.raw_stage, record.raw_request_type, record.raw_group, record.raw_assignee,
            record.created_at))

    def raw_key(self, fmt: str, options: ParseOptions) -> bytes:
        """The key a file row's digest (cases.raw_hash) is made with: it stands for everything but the row's cells
        that the stored case depends on — the readers' version, the format, the options (time zone, salt, fields)
        and what attribution reads (mappings, names, coverage, memberships). Any change to those, and no row of
        a file imported before matches any more: each is read and compared as before."""
        attributor = self.attributor
        lookups = sorted((kind, sorted(values.items())) for kind, values in attributor.lookups.targets.items())
        coverage = sorted((cell, sorted(periods, key=repr)) for cell, periods in attributor.coverage.cells.items())
        people = sorted((user, sorted(periods, key=repr))
                        for user, periods in attributor.memberships.people.items())
        state = repr((READER_VERSION, self.source, fmt, options, lookups, coverage, people,
                      str(attributor.memberships.zone)))
        return blake2b(state.encode(), digest_size=32).digest()

    def prepare(self, record: CaseRecord, raw_digest: str | None) -> tuple:
        """What `write_prepared` takes for a record: its stored values (COMPARED, the external id first), their digest
        and the file row's digest, in one tuple as a new case's row is inserted (but for the stamp). A parsing
        process computes it, so the writer's process only stores."""
        row = self.row(record)
        return (*row, row_digest(row), raw_digest)

    def write_prepared(self, prepared: Sequence[tuple]) -> UpsertResult:
        """`write` for records already turned into rows (`prepare`): the same comparisons, the same counts."""
        result = UpsertResult()
        latest = {item[0]: item for item in prepared}
        if len(latest) != len(prepared):  # an id more than once: the last row wins, the others are counted
            latest = {}
            for item in prepared:
                earlier = latest.get(item[0])
                if earlier is not None:
                    if earlier[:-2] == item[:-2]:
                        result.unchanged += 1
                    else:
                        result.updated += 1
                latest[item[0]] = item
        if not latest:
            return result
        db.session.flush()
        cursor = db.session.connection().connection.cursor()
        try:
            return self._store(cursor, latest, result, (), None)
        except self.dbapi_integrity_error as exc:
            raise IntegrityError("upsert of cases", None, exc) from exc
        finally:
            cursor.close()

    def write(self, records: Sequence[CaseRecord], digests: Sequence[str | None] | None = None,
              raws: Sequence[tuple[int, RawRow]] = (), errors: list | None = None) -> UpsertResult:
        """Upsert `records` (with the digests of the file rows they were read from, if any) and `raws`, (line,
        RawRow) of ids not among the records nor repeated: those whose digest matches their case's are unchanged
        without being read; the others are read now, and a row error goes to `errors` as (line, RowError)."""
        result = UpsertResult()
        to_row = self.row
        latest: dict[str, tuple] = {}
        for record, digest in zip(records, digests or repeat(None, len(records)), strict=True):
            row = to_row(record)
            earlier = latest.get(record.external_id)
            if earlier is not None:
                if earlier[:-2] == row:
                    result.unchanged += 1
                else:
                    result.updated += 1
            latest[record.external_id] = (*row, row_digest(row), digest)
        if not latest and not raws:
            return result
        db.session.flush()
        cursor = db.session.connection().connection.cursor()
        try:
            return self._store(cursor, latest, result, raws, errors)
        except self.dbapi_integrity_error as exc:
            raise IntegrityError("upsert of cases", None, exc) from exc
        finally:
            cursor.close()

    def _store(self, cursor, latest: dict[str, tuple], result: UpsertResult, raws: Sequence[tuple[int, RawRow]],
               errors: list | None) -> UpsertResult:
        """Store `latest`, external id → (*stored values, their digest, the file row's digest or None), and `raws`."""
        if self.postgres:
            pg_load.begin_batch(cursor)
        else:
            # Checkpoint the WAL every ~40 MB instead of every 4 MB while cases pour in: index pages changed by
            # many batches are copied to the database once, not once per batch (13% less CPU per row measured).
            cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT}")
            if self.days is not None:  # a file import (the API's writes keep the connection's cache)
                cursor.execute(f"PRAGMA cache_size=-{SQLITE_IMPORT_CACHE_KIB}")
        # Each case's digest, id and rollup timestamps: an unchanged row is known by its digest alone.
        differing = None
        if raws and not self.postgres:
            # SQLite: the database names the rows that differ from their case (of a file imported again, next to
            # none) instead of handing back every case's digests to compare here
            existing = self._existing(cursor, list(latest), self.hashed_columns) if latest else {}
            differing = self._differing(cursor, raws)
        else:
            existing = self._existing(cursor, [*latest, *(raw.external_id for _line, raw in raws)],
                                      self.hashed_columns)
        for line, raw in raws:
            if differing is None:
                found = existing.get(raw.external_id)
                # row_hash NULL: the case changed since (an edit, a re-attribution); its file row says nothing of it
                if found is not None and found[1][2] == raw.digest and found[1][1] is not None:
                    result.unchanged += 1
                    continue
            elif raw.external_id not in differing:
                result.unchanged += 1
                continue
            elif differing[raw.external_id] is not None:
                existing[raw.external_id] = differing[raw.external_id]
            item = raw.read()
            if isinstance(item, RowError):
                if errors is None:
                    raise ValueError(f"row {line}: {item.reason}")
                errors.append((line, item))
            else:
                row = self.row(item)
                latest[raw.external_id] = (*row, row_digest(row), raw.digest)
        if not latest:
            return result
        now = utcnow()
        stamp = (self.source, self.import_id, now if self.postgres else _sqlite_datetime(now))
        inserts: list[tuple] = []
        updates: list[tuple] = []
        moments: list = []
        unhashed: dict[str, tuple] = {}
        rehashed: list[tuple] = []
        if not existing:  # all new (a fresh import's every batch): the rows as they come, stamped
            inserts = [item + stamp for item in latest.values()]
        for external_id, item in (latest.items() if existing else ()):
            found = existing.get(external_id)
            if found is None:
                inserts.append(item + stamp)
            elif found[1][1] == item[-2]:
                result.unchanged += 1
                raw = item[-1]
                if raw is not None and found[1][2] != raw:  # the same case from other cells: remember these
                    rehashed.append((item[-2], raw, found[0]))
            elif found[1][1] is None:  # changed by something else than an import: compare the columns
                unhashed[external_id] = item
            else:
                updates.append((*item, *stamp, found[0]))
        if updates:  # the days they leave: read for the changed cases only (a file imported again changes few)
            moments.extend(self._moments(cursor, [row[-1] for row in updates]))
        if unhashed:
            for external_id, (case_id, stored) in self._existing(cursor, list(unhashed),
                                                                 self.compared_columns).items():
                item = unhashed[external_id]
                if stored == item[:-2]:
                    result.unchanged += 1
                    rehashed.append((item[-2], item[-1], case_id))
                else:
                    updates.append((*item, *stamp, case_id))
                    moments.extend([stored[i] for i in ROLLUP_POSITIONS])  # the days it leaves
        for position in ROLLUP_POSITIONS:  # the days it enters (COMPARED comes first in both)
            moments.extend([row[position] for row in updates])
        changed = len(moments)  # the days of updated cases, then those new cases enter
        for position in ROLLUP_POSITIONS:
            moments.extend([row[position] for row in inserts])
        if self.days is None:
            rollups.touch(moments)
        else:  # queued in the batch's transaction: until the import's end refreshes them, figures reaching
            # these days are answered from the cases (exact, never stale)
            if self.postgres:
                touched = {moment.date() for moment in moments if moment is not None}
                if changed and self.updated_days is not None:
                    self.updated_days.update(moment.date() for moment in moments[:changed] if moment is not None)
            else:
                touched = {moment[:10] for moment in moments if moment is not None}
                if changed and self.updated_days is not None:
                    self.updated_days.update(moment[:10] for moment in moments[:changed] if moment is not None)
            # A day once queued stays queued until the import's end refreshes it (the scheduler leaves the queue
            # alone while an import runs): queued again only after REQUEUE_SECONDS, not by every batch (a year of
            # days by each of 500 batches was a tenth of a million-row import).
            now = time.monotonic()
            due = [day for day in touched if self.queued.get(day, -REQUEUE_SECONDS) <= now - REQUEUE_SECONDS]
            if due:
                rollups.queue_days(due)
                self.queued.update(dict.fromkeys(due, now))
            self.days.update(touched)
        if inserts:
            self._insert(cursor, inserts)
            result.created += len(inserts)

        if updates:
            cursor.executemany(self.update_sql, updates)
            result.updated += len(updates)
        if rehashed:
            cursor.executemany(self.hash_sql, rehashed)
        return result

    def _moments(self, cursor, case_ids: list[int]) -> list:
        """The stored rollup timestamps of these cases."""
        moments: list = []
        marker = "%s" if self.postgres else "?"
        for start in range(0, len(case_ids), 500):
            chunk = case_ids[start:start + 500]
            cursor.execute(f"SELECT {', '.join(rollups.TIMESTAMPS)} FROM cases WHERE id IN "
                           f"({', '.join(marker for _id in chunk)})", chunk)
            for found in cursor.fetchall():
                moments.extend(found)
        return moments

    def _differing(self, cursor, raws: Sequence[tuple[int, RawRow]]) -> dict[str, tuple[int, tuple] | None]:
        """SQLite: of these file rows (ids each once), those whose case is missing (None) or may differ — its
        raw_hash is another, or its row_hash NULL — as `_existing` gives them; the others are unchanged."""
        pairs = json.dumps([[raw.external_id, raw.digest] for _line, raw in raws])
        cursor.execute(DIFFERING_SQL, (pairs, self.source))
        return {external_id: None if case_id is None else (case_id, (external_id, row_hash, raw_hash))
                for external_id, case_id, row_hash, raw_hash in cursor.fetchall()}

    def _existing(self, cursor, external_ids: list[str], columns: str) -> dict[str, tuple[int, tuple]]:
        """external_id → (case id, the values of `columns`, which start with external_id)."""
        if self.postgres:
            found = pg_load.existing(cursor, self.source, external_ids, columns)
        else:
            markers = ", ".join("?" for _id in external_ids)
            cursor.execute(self.select_sql.format(columns=columns, markers=markers), (self.source, *external_ids))
            found = cursor.fetchall()
        return {row[1]: (row[0], tuple(row[1:])) for row in found}

    def _insert(self, cursor, rows: list[tuple]) -> None:
        if self.postgres:
            pg_load.copy_rows(cursor, INSERT_COLUMNS, rows)
        else:
            cursor.executemany(self.insert_sql, rows)


def upsert_cases(records: Iterable[CaseRecord], *, source: str, import_: Import | None = None,
                 batch_size: int = BATCH_SIZE) -> UpsertResult:
    """Create or update cases from records of one source, matched by (source, external_id).

    Used by file imports and the API. Records are attributed (segment, stage, request type, assignee,
    pod) with mappings and coverage loaded once; a record equal to its stored case changes nothing, so
    importing the same data again is harmless. Memory stays flat whatever the number of records.
    Flushes; the caller commits.
    """
    writer = CaseWriter(source, import_id=import_.id if import_ is not None else None)
    result = UpsertResult()
    for batch in batches(records, batch_size):
        result = result + writer.write(batch)
    db.session.flush()
    return result


# --- the case indexes around big imports -----------------------------------------------------------


def _secondary_indexes() -> list:
    return sorted((index for index in Case.__table__.indexes if not index.unique), key=attrgetter("name"))


def drop_case_indexes(rows: int) -> bool:
    """Before importing `rows` rows: drop the cases' non-unique indexes (and on PostgreSQL their foreign keys) when
    the file is big and at least as long as the table (True), so the rows go in without keeping them in step. The
    caller builds them again at its end (`ensure_case_indexes`), and so does the worker after a crash. Commits."""
    if rows < BIG_IMPORT_ROWS:
        return False
    present = db.session.scalar(select(func.count()).select_from(select(Case.id).limit(rows + 1).subquery()))
    if present > rows:
        db.session.rollback()
        return False
    try:
        postgres = db.session.get_bind().dialect.name == "postgresql"
        if postgres:  # never wait long behind a reader's lock
            db.session.execute(text("SET LOCAL lock_timeout = '5s'"))
        for index in _secondary_indexes():
            index.drop(db.session.connection(), checkfirst=True)
        if postgres:
            pg_load.drop_foreign_keys(db.session.connection())
        db.session.commit()
    except OperationalError:
        db.session.rollback()
        log.info("Case indexes kept for the import: the table is busy")
        return False
    return True


def _mostly_new(path: str | Path, fmt: str, options: ParseOptions, skip: int) -> bool:
    """Are most of the file's first rows new cases? Not when the file is imported again: then few rows are written
    and dropping the indexes would only cost rebuilding them (a million-row re-import spent 15 s on that)."""
    ids: list[str] = []
    try:
        with open_text(path) as stream:
            for _line, item in parse(stream, fmt, options, skip):
                if isinstance(item, CaseRecord):
                    ids.append(item.external_id)
                    if len(ids) >= INDEX_SAMPLE_ROWS:
                        break
    except (UnicodeDecodeError, FileRejected):  # the import itself meets it, after the rows before it
        pass
    if not ids:
        return True
    known = db.session.scalar(select(func.count()).select_from(Case)
                              .where(Case.source == fmt, Case.external_id.in_(set(ids))))
    db.session.rollback()
    return known * 2 <= len(set(ids))


def ensure_case_indexes() -> int:
    """Build the cases' non-unique indexes that are missing (a big import dropped them), one transaction each so
    SQLite's write lock is let go between them, and on PostgreSQL add back its foreign keys; how many. Commits."""
    db.session.rollback()
    present = {index["name"] for index in sa_inspect(db.session.connection()).get_indexes(Case.__tablename__)}
    db.session.rollback()
    built = 0
    postgres = db.session.get_bind().dialect.name == "postgresql"
    for index in _secondary_indexes():
        if index.name not in present:
            if postgres:  # sort a million keys in memory, not in temporary files (the server's default is 64 MB)
                db.session.execute(text(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'"))
            index.create(db.session.connection())
            db.session.commit()
            built += 1
    if postgres:
        built += pg_load.restore_foreign_keys(db.session)
    if built and postgres:
        db.session.execute(text(f"ANALYZE {Case.__tablename__}"))  # plans for the new size, before the rollups
        db.session.commit()
    return built


# --- file imports ---------------------------------------------------------------------------------


@dataclass
class ImportProgress:
    """An import's counters so far, handed to the progress callback after every batch."""

    processed: int = 0
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0


class JobLost(Exception):
    """The job is no longer this worker's: it was cancelled, or claimed again after a stale heartbeat."""


class JobStopped(Exception):
    """The worker was asked to stop (shutdown); the job goes back to the queue from its last commit."""


def new_worker_id() -> str:
    """Who runs a job: host, process and a random part, so a restarted process is a different worker."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def customer_salt() -> bytes:
    """The key customer references are hashed with: CUSTOMER_REF_SALT, else the SECRET_KEY."""
    salt = current_app.config.get("CUSTOMER_REF_SALT") or current_app.config["SECRET_KEY"]
    return salt.encode() if isinstance(salt, str) else bytes(salt)


def import_file(path: str | Path, *, fmt: str, timezone: str, actor: User | None = None, import_: Import | None = None,
                progress: Callable[[ImportProgress], None] | None = None, options: ParseOptions | None = None,
                batch_size: int | None = None, checked: bool = False, locale: str | None = None) -> Import:
    """Import a helpdesk export now, in this process: check it, then parse → upsert → row errors, batch by batch.

    Used by `flask outcomes import` (without --queue), the benchmark and tests; uploads are queued jobs
    run by the worker (import_jobs). A file that is not a readable export of `fmt` raises FileRejected
    before any case is written (a given `import_` is marked failed with the reason). Otherwise each
    batch — its cases, its row errors and the import's counters and heartbeat — is one short
    transaction, so a page polling the import sees progress and other writers get their turn; an import
    that stops half-way keeps the batches already committed and is marked failed with the reason. This
    is a driver, like a job runner: unlike services it commits.
    """
    options = replace(options or ParseOptions(), timezone=timezone, salt=customer_salt())
    locale = locale or (actor.locale if actor is not None else None) or "en"  # no chosen language: English
    with force_locale(locale):
        if not checked or import_ is None:
            try:
                total = check_file(path, fmt, options)
            except FileRejected as exc:
                if import_ is not None:
                    _finish(import_.id, None, ImportStatus.FAILED, exc.message)
                raise
        else:
            total = import_.rows_total
        if import_ is None:
            import_ = Import(source=fmt, filename=Path(path).name[:255], timezone=timezone,
                             started_by_id=actor.id if actor is not None else None)
            db.session.add(import_)
        worker = new_worker_id()
        now = utcnow()
        import_.status = ImportStatus.RUNNING.value
        import_.rows_total = total
        import_.worker, import_.heartbeat_at, import_.started_at = worker, now, now
        import_.attempts = (import_.attempts or 0) + 1
        db.session.commit()
        import_id = import_.id
        execute_import(import_id, worker, path, fmt, options, ImportProgress(total=total), progress=progress,
                       batch_size=batch_size, locale=locale)
    db.session.expire_all()
    return db.session.get(Import, import_id) or import_


def execute_import(import_id: int, worker: str, path: str | Path, fmt: str, options: ParseOptions,
                   counts: ImportProgress, *, stored_errors: int = 0,
                   progress: Callable[[ImportProgress], None] | None = None, batch_size: int | None = None,
                   locale: str = "en", stop: threading.Event | None = None) -> str:
    """Run an import this worker has claimed, from row `counts.processed` on, to its end.

    Returns the import's final status, "lost" when it stopped being this worker's (cancelled, or taken
    over), or "stopped" when `stop` was set: then it is queued again from its last committed batch.
    Runs in the caller's locale context (messages are written in it).
    """
    try:
        return _execute_import(import_id, worker, path, fmt, options, counts, stored_errors=stored_errors,
                               progress=progress, batch_size=batch_size, locale=locale, stop=stop)
    finally:
        _release_memory()


def _release_memory() -> None:
    """Give back to the system what the import's end took (SQLite's page cache filled by the index builds and the
    rollups, the heap they left): the worker waits for its next job at the size it started, and a next import's
    parsing processes, forked from it, do not inherit it (a 1,000,000-row import then another one: the second
    began 70 MB larger)."""
    try:
        if db.session.get_bind().dialect.name == "sqlite":
            db.session.rollback()
            db.session.connection().exec_driver_sql("PRAGMA shrink_memory")
            db.session.rollback()
    except SQLAlchemyError:  # never in place of what ended the import
        log.warning("SQLite's memory was not shrunk after an import", exc_info=True)
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _malloc_trim():
    """glibc's malloc_trim, which hands the free memory at the heap's top and in its middle back to the system;
    None elsewhere (nothing to do there)."""
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _malloc_trim()


def _execute_import(import_id: int, worker: str, path: str | Path, fmt: str, options: ParseOptions,
                    counts: ImportProgress, *, stored_errors: int, progress: Callable[[ImportProgress], None] | None,
                    batch_size: int | None, locale: str, stop: threading.Event | None) -> str:
    committed = replace(counts)
    days = ImportDays()
    # A resumed job does not know the days its earlier attempt changed: it rebuilds the rollups at its end.
    resumed = counts.processed > 0
    if not resumed:  # what its end may add its new cases to
        try:
            days.before, days.import_id = rollups.before_import(db.session), import_id
        except SQLAlchemyError:  # its end recomputes its days, as every import's did
            log.warning("The rollups' state was not read before an import", exc_info=True)
        db.session.rollback()
    try:
        adaptive = batch_size is None
        if batch_size is None:
            batch_size = BATCH_SIZE if db.session.get_bind().dialect.name == "postgresql" else SQLITE_BATCH_SIZE
        rows = counts.total - counts.processed
        mostly_new = _mostly_new(path, fmt, options, counts.processed)
        dropped = rows >= BIG_IMPORT_ROWS and mostly_new and drop_case_indexes(rows)
        # A big file of new cases is parsed by processes, on the other cores; a file imported before is mostly
        # passed over unread (its rows' digests match), which a thread does as well.
        processes = PARSE_PROCESSES if mostly_new and rows >= PROCESS_MIN_ROWS and can_fork() else 0
        try:
            # A file imported before: its rows are passed over unread, and read only when their digest changed.
            _run(path, fmt, options, import_id, worker, counts, committed, progress, batch_size, locale,
                 stored_errors, stop, days, adaptive, lazy=not mostly_new, processes=processes)
        finally:
            if dropped and not (stop is not None and stop.is_set()):  # a worker stopping leaves it to the next
                db.session.rollback()
                ensure_case_indexes()
    except JobLost:
        db.session.rollback()
        log.info("Import %s is no longer run by %s (cancelled or taken over)", import_id, worker)
        refresh_rollups(days, rebuild=resumed)
        return "lost"
    except JobStopped:
        db.session.rollback()
        _requeue(import_id, worker)  # the attempt that resumes it rebuilds the rollups
        return "stopped"
    except FileRejected as exc:
        failure = exc.message
    except UnicodeDecodeError:
        failure = _("The file stopped being UTF-8 text after row %(rows)d; the rows before it were imported. "
                    "Export it again as UTF-8 CSV and import it again.", rows=committed.processed)
    except IntegrityError:
        log.exception("Import %s collided with another write", import_id)
        failure = _("Another import was writing the same cases at the same time; the rows before row %(rows)d "
                    "were imported. Import the file again.", rows=committed.processed)
    except Exception:
        log.exception("Import %s failed", import_id)
        failure = _("The import stopped after row %(rows)d because of an unexpected error; the rows before it "
                    "were imported. Import the file again.", rows=committed.processed)
    else:
        refresh_rollups(days, rebuild=resumed)
        counts.total = counts.processed
        return _finish(import_id, worker, ImportStatus.DONE, "", counts)
    refresh_rollups(days, rebuild=resumed)  # what was committed before the failure
    return _finish(import_id, worker, ImportStatus.FAILED, failure, committed)


class ImportDays(set):
    """The UTC days an import's cases were written on (CaseWriter), with the days of cases it updated apart (they
    left some days and entered others) and the rollups' state when it began (`rollups.before_import`): the days only
    new cases entered take those cases' rows added to their rollups at the import's end (`add_new_cases`)."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.updated: set = set()
        self.before: rollups.Before | None = None
        self.import_id: int | None = None


def refresh_rollups(days: set, *, rebuild: bool = False) -> None:
    """Bring the per-day rollups in step with what an import committed: its days once, at the job's end. Commits.

    While an import runs, each batch queues its days (`rollups.queue_days`) and figures reaching them are
    answered from the cases; the rollups are recomputed once, here, and the days taken off the queue. A whole rebuild when asked (a resumed job) or when some zone has no rollups yet
    (`refresh` would build it whole and then recompute the days again).
    """
    db.session.rollback()
    try:
        if rebuild or not set(rollups.wanted_zones(db.session)) <= rollups.built_zones(db.session):
            rollups.rebuild(db.session)
            db.session.commit()
            return
        ordered = sorted({day if isinstance(day, date) else date.fromisoformat(day) for day in days})
        if isinstance(days, ImportDays) and days.before is not None and ordered:
            ordered = add_new_cases(ordered, days)
        # A few weeks per transaction: on SQLite each holds the write lock briefly, not for the whole history.
        for start in range(0, len(ordered), ROLLUP_DAYS_PER_COMMIT):
            chunk = ordered[start:start + ROLLUP_DAYS_PER_COMMIT]
            rollups.refresh_days(chunk, db.session)
            rollups.dequeue(chunk, db.session)
            db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("Rollups not refreshed after an import; `flask outcomes rollups` rebuilds them")


def add_new_cases(ordered: list[date], days: ImportDays) -> list[date]:
    """At an import's end, the rollups of the local days only its new cases entered get those cases' rows added —
    work in proportion to the new cases, not to all the cases of their days (a million new cases over the year a
    million cases were already in: every day was recomputed from two million). The days near one whose cases it
    updated, or whose rollups were queued when it began, are recomputed from the cases. Exact only while nobody
    else writes rollups nor cases under them: at the first sign of another writer since the import began (a zone's
    stamp moved, `rollups.stamps`), the days left are handed back to be recomputed, as they all were before.
    Returns the UTC days still to refresh. Commits a few weeks of days at a time."""
    session, before = db.session, days.before
    zones = sorted(rollups.built_zones(session))
    if not zones or rollups.stamps(session) != before.stamps:
        db.session.rollback()
        return ordered
    local, recomputed = rollups.split_days(ordered, before.queued | days.updated)
    added = [day for day in local if day not in recomputed]
    if not added:
        db.session.rollback()
        return ordered
    rows = rollups.new_case_rows(session, zones, added[0], added[-1], before.max_id, days.import_id)
    db.session.rollback()
    expected = before.stamps
    done = -1
    for start in range(0, len(local), ROLLUP_DAYS_PER_COMMIT):
        chunk = local[start:start + ROLLUP_DAYS_PER_COMMIT]
        begin_write()
        rollups._lock(session)
        if rollups.stamps(session) != expected:  # someone else wrote: recompute what is left
            db.session.rollback()
            return [day for day in ordered if day + timedelta(days=1) > local[done]] if done >= 0 else ordered
        rollups.rewrite_days(session, zones, [day for day in chunk if day in recomputed])
        rollups.add_rows(session, zones, [day for day in chunk if day not in recomputed], rows)
        done = start + len(chunk) - 1
        last = local[done]
        finished = [day for day in ordered if day + timedelta(days=1) <= last
                    and (start == 0 or day + timedelta(days=1) > local[start - 1])]
        if done == len(local) - 1:  # every day's neighbours too
            finished = [day for day in ordered if start == 0 or day + timedelta(days=1) > local[start - 1]]
        rollups.dequeue(finished, session)
        expected = rollups.stamps(session)
        db.session.commit()
    return []


class _ParseFailed:
    """What the parsing thread hands over when reading the file raised: the consumer raises it again."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


_END = object()


def _parsed_batches(path: str | Path, fmt: str, options: ParseOptions, batch_size: int,
                    locale: str, skip: int = 0, key: bytes = b"", lazy: bool = False) -> Iterator[list]:
    """Batches of parsed rows, read ahead by a thread so parsing overlaps the database's work.

    The thread holds at most PARSE_AHEAD batches; its exceptions are raised here, in order. Closing the
    iterator early (the writer failed) stops the thread. The first `skip` rows are passed over.
    """
    if not PARSE_IN_THREAD:
        with open_text(path) as stream:
            yield from keyed_batches(stream, fmt, options, key, batch_size, skip=skip, lazy=lazy)
        return
    app = current_app._get_current_object()
    handoff: queue.Queue = queue.Queue(maxsize=PARSE_AHEAD)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        with app.app_context(), force_locale(locale):
            try:
                with open_text(path) as stream:
                    for batch in keyed_batches(stream, fmt, options, key, batch_size, skip=skip, lazy=lazy):
                        if not put(batch):
                            return
            except BaseException as exc:  # noqa: BLE001  (handed to the consumer, which raises it)
                put(_ParseFailed(exc))
                return
            put(_END)

    reader = threading.Thread(target=produce, name="outcomes-import-parser", daemon=True)
    reader.start()
    try:
        while True:
            item = handoff.get()
            if item is _END:
                return
            if isinstance(item, _ParseFailed):
                raise item.error
            yield item
    finally:
        stop.set()
        reader.join()


def _prepare_in_process(send, app, locale: str, path: str | Path, fmt: str, options: ParseOptions, key: bytes,
                        skip: int, batch_size: int, index: int, processes: int, writer: CaseWriter) -> None:
    """A parsing process (forked: it has the writer's lookups, and never touches the database): reads the whole
    file, and of its batches numbered index, index + processes, ... reads every row and prepares its record
    (`CaseWriter.prepare`), sending each batch as (its number of rows, [prepared tuple], [(line, RowError)]); then
    None. An exception reading the file is sent in place of the batch it happened in (the other processes meet it
    too)."""
    try:
        with app.app_context(), force_locale(locale):
            with open_text(path) as stream:
                prepare = writer.prepare
                for batch in keyed_batches(stream, fmt, options, key, batch_size, skip=skip,
                                           turn=(index, processes)):
                    prepared, failed = [], []
                    for line, item, digest in batch:
                        if type(item) is CaseRecord:
                            prepared.append(prepare(item, digest))
                        else:
                            failed.append((line, item))
                    send.send((len(batch), prepared, failed))
        send.send(None)
    except BaseException as exc:  # noqa: BLE001  (handed to the writer's process, which raises it)
        try:
            send.send(_ParseFailed(exc))
        except Exception:  # noqa: BLE001  (an exception that does not pickle: its words then)
            send.send(_ParseFailed(RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        send.close()


def _prepared_batches(path: str | Path, fmt: str, options: ParseOptions, batch_size: int, locale: str, skip: int,
                      key: bytes, writer: CaseWriter, processes: int) -> Iterator[list]:
    """The batches `_parsed_batches` would give, each row already prepared for `CaseWriter.write_prepared`, read by
    `processes` forked processes taking turns batch by batch, and handed over in the file's order. Parsing and
    preparing a row costs about three times what storing it does: on two cores the writer no longer waits for it.
    Closing the iterator stops the processes."""
    context = multiprocessing.get_context("fork")
    app = current_app._get_current_object()
    receivers, workers = [], []
    try:
        # The objects the processes inherit stay out of their garbage collector: a collection writes to every
        # object it visits, which copies the page it sits on into the process (copy-on-write).
        gc.freeze()
        try:
            for index in range(processes):
                receive, send = context.Pipe(duplex=False)
                process = context.Process(target=_prepare_in_process, name=f"outcomes-import-parser-{index}",
                                          args=(send, app, locale, path, fmt, options, key, skip, batch_size, index,
                                                processes, writer), daemon=True)
                process.start()
                send.close()
                receivers.append(receive)
                workers.append(process)
        finally:
            gc.unfreeze()
        for number in itertools.count():
            item = _receive(receivers[number % processes], workers[number % processes])
            if item is None:
                return
            if isinstance(item, _ParseFailed):
                raise item.error
            yield item
    finally:
        for receive in receivers:
            receive.close()
        for process in workers:
            if process.is_alive():
                process.terminate()
            process.join()


def _receive(receive, process):
    """The parsing process's next batch. A process that died, or that sends nothing for PARSE_STALL_SECONDS (forked
    from a process with threads, it could inherit a lock held at the fork and hang), fails the import with the rows
    committed so far, rather than leaving it "running" for ever."""
    waited = 0.0
    while not receive.poll(1.0):
        waited += 1.0
        if not process.is_alive() and not receive.poll(0):
            raise RuntimeError(f"a parsing process of the import stopped (exit code {process.exitcode})")
        if waited >= PARSE_STALL_SECONDS:
            raise RuntimeError(f"a parsing process of the import sent nothing for {waited:.0f} s")
    try:
        return receive.recv()
    except EOFError:
        raise RuntimeError("a parsing process of the import stopped") from None


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _run(path: str | Path, fmt: str, options: ParseOptions, import_id: int, worker: str, counts: ImportProgress,
         committed: ImportProgress, progress: Callable[[ImportProgress], None] | None, batch_size: int,
         locale: str = "en", stored_errors: int = 0, stop: threading.Event | None = None,
         days: set | None = None, adaptive: bool = True, lazy: bool = False, processes: int = 0) -> None:
    """Parse and write batch by batch; each batch with the counters and heartbeat is one transaction.

    The counters are written only while the import is still this worker's and running (JobLost
    otherwise, and the batch is rolled back). On SQLite a batch holds the one write lock while it is
    written, so its size follows how long the last one took (_WriteSize): from SQLITE_BATCH_SIZE rows up to
    SQLITE_MAX_BATCH_SIZE while a batch takes under SQLITE_BATCH_SECONDS, smaller again when it takes longer.
    Between batches the lock is free and interactive writes waiting on it get their turn. `committed` is
    kept equal to the counters of what has been committed, for the message of a failure.
    """
    writer = CaseWriter(fmt, import_id=import_id, days=set() if days is None else days)
    sqlite = not writer.postgres

    def commit() -> None:
        values = _count_values(counts)
        values["heartbeat_at"] = utcnow()
        claimed = db.session.execute(
            update(Import).where(Import.id == import_id, Import.worker == worker,
                                 Import.status == ImportStatus.RUNNING.value).values(**values)
        )
        if claimed.rowcount != 1:
            db.session.rollback()
            raise JobLost(import_id)
        db.session.commit()
        for name in ("processed", "total", "created", "updated", "unchanged", "failed"):
            setattr(committed, name, getattr(counts, name))
        if stop is not None and stop.is_set():
            raise JobStopped(import_id)

    if processes > 1:
        parsed = _prepared_batches(path, fmt, options, batch_size, locale, counts.processed,
                                   writer.raw_key(fmt, options), writer, processes)
    else:
        parsed = _parsed_batches(path, fmt, options, batch_size, locale, skip=counts.processed,
                                 key=writer.raw_key(fmt, options), lazy=lazy)
    size = _WriteSize(batch_size, SQLITE_MAX_BATCH_SIZE if sqlite and adaptive else batch_size)
    try:
        _write_batches(parsed, size, writer, processes, import_id, counts, stored_errors, commit, progress, sqlite)
    finally:
        if sqlite:
            writer.restore_cache()


def _write_batches(parsed: Iterator[list], size: _WriteSize, writer: CaseWriter, processes: int, import_id: int,
                   counts: ImportProgress, stored_errors: int, commit: Callable[[], None],
                   progress: Callable[[ImportProgress], None] | None, sqlite: bool) -> None:
    last_commit = time.monotonic()
    try:
        for batch in (_grouped_prepared if processes > 1 else _grouped)(parsed, size):
            started = time.perf_counter()
            if processes > 1:
                rows, prepared, failed = batch
                result = writer.write_prepared(prepared)
            else:
                rows = len(batch)
                records, digests, raws, failed = _split(batch)
                result = writer.write(records, digests, raws, failed)
            errors = [{"import_id": import_id, "line": line, "external_id": item.external_id, "reason": item.reason}
                      for line, item in sorted(failed, key=itemgetter(0))]
            if errors and stored_errors < MAX_STORED_ERRORS:
                kept = errors[: MAX_STORED_ERRORS - stored_errors]
                db.session.execute(insert(ImportRowError.__table__), kept)
                stored_errors += len(kept)
            counts.processed += rows
            counts.created += result.created
            counts.updated += result.updated
            counts.unchanged += result.unchanged
            counts.failed += len(errors)
            counts.total = max(counts.total, counts.processed)
            if time.monotonic() - last_commit >= COMMIT_SECONDS:
                commit()
                last_commit = time.monotonic()
                size.took(time.perf_counter() - started)
                if sqlite:
                    time.sleep(0)  # let a thread of this process waiting for the write lock take it now
            if progress is not None:
                progress(counts)
    finally:
        parsed.close()
    commit()


def _split(batch: list) -> tuple[list, list, list, list]:
    """A batch of (line, item, digest) as the writer takes it: records with their digests, RawRows (line, row) of
    ids the batch has once, and row errors (line, RowError). A RawRow whose id comes again in the batch is read
    here, so the last row of an id wins as it always did."""
    again: set[str] = set()
    if any(isinstance(item, RawRow) for _line, item, _digest in batch):
        seen = {item.external_id for _line, item, _digest in batch if isinstance(item, CaseRecord)}
        for _line, item, _digest in batch:
            if isinstance(item, RawRow):
                if item.external_id in seen:
                    again.add(item.external_id)
                seen.add(item.external_id)
    records: list[CaseRecord] = []
    digests: list[str | None] = []
    raws: list[tuple[int, RawRow]] = []
    failed: list[tuple[int, RowError]] = []
    for line, item, digest in batch:
        if isinstance(item, RawRow):
            if item.external_id not in again:
                raws.append((line, item))
                continue
            item = item.read()
        if isinstance(item, RowError):
            failed.append((line, item))
        else:
            records.append(item)
            digests.append(digest)
    return records, digests, raws, failed


class _WriteSize:
    """How many rows the next write transaction takes: doubled while one takes under half the target time,
    halved when one takes longer than it (a fresh SQLite table takes 4,000 rows in the time a big one takes
    500: every row then changes a page of each index, and every changed page is written at commit)."""

    def __init__(self, smallest: int, largest: int) -> None:
        self.smallest, self.largest = smallest, max(smallest, largest)
        self.rows = smallest

    def took(self, seconds: float) -> None:
        if seconds < SQLITE_BATCH_SECONDS / 2:
            self.rows = min(self.largest, self.rows * 2)
        elif seconds > SQLITE_BATCH_SECONDS:
            self.rows = max(self.smallest, self.rows // 2)


def _grouped(parsed: Iterator[list], size: _WriteSize) -> Iterator[list]:
    """The parser's batches joined into write transactions of `size.rows` rows or more."""
    group: list = []
    for batch in parsed:
        group.extend(batch)
        if len(group) >= size.rows:
            yield group
            group = []
    if group:
        yield group


def _grouped_prepared(parsed: Iterator[tuple], size: _WriteSize) -> Iterator[tuple]:
    """`_grouped` for the parsing processes' batches, (rows, [prepared], [(line, RowError)]): joined alike."""
    rows, prepared, failed = 0, [], []
    for count, items, errors in parsed:
        rows += count
        prepared += items
        failed += errors
        if rows >= size.rows:
            yield rows, prepared, failed
            rows, prepared, failed = 0, [], []
    if rows:
        yield rows, prepared, failed


def _count_values(counts: ImportProgress) -> dict[str, object]:
    return {"rows_total": counts.total, "rows_processed": counts.processed, "rows_created": counts.created,
            "rows_updated": counts.updated, "rows_unchanged": counts.unchanged, "rows_failed": counts.failed}


def _finish(import_id: int, worker: str | None, status: ImportStatus, message: str,
            counts: ImportProgress | None = None) -> str:
    """Mark the import ended — only if it is still running under `worker` (None: whoever), else leave it."""
    db.session.rollback()
    values = {"status": status.value, "message": message[:1000], "finished_at": utcnow()}
    if counts is not None:
        values.update(_count_values(counts))
    statement = update(Import).where(Import.id == import_id,
                                     Import.status.in_((ImportStatus.QUEUED.value, ImportStatus.RUNNING.value)))
    if worker is not None:
        statement = statement.where(Import.worker == worker)
    changed = db.session.execute(statement.values(**values)).rowcount
    db.session.commit()
    return status.value if changed == 1 else "lost"


def _requeue(import_id: int, worker: str) -> None:
    """Hand a job this worker stops (shutdown) back to the queue, to go on from its last committed batch."""
    db.session.execute(
        update(Import).where(Import.id == import_id, Import.worker == worker,
                             Import.status == ImportStatus.RUNNING.value)
        .values(status=ImportStatus.QUEUED.value, worker=None, heartbeat_at=None)
    )
    db.session.commit()
