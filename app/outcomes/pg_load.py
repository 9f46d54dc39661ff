"""The PostgreSQL side of storing cases (`app.outcomes.ingest.CaseWriter`): finding a batch's stored cases, and
copying its new ones in. Plain DB-API (psycopg 3) on the session's connection, in its transaction."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from operator import attrgetter

from sqlalchemy import Boolean, DateTime, Integer, String, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import AddConstraint as CreateConstraint
from sqlalchemy.schema import DropConstraint

from app.outcomes.models import Case


def begin_batch(cursor) -> None:
    """A batch's commit need not wait for the WAL flush: a crash loses at most the last few batches, with their
    counters (committed in the same transaction), so the job resumes from what is durable."""
    cursor.execute("SET LOCAL synchronous_commit = off")


def existing(cursor, source: str, external_ids: Sequence[str], columns: str) -> list[tuple]:
    """(id, *columns) of the cases of `source` with these external ids; `columns` name columns of `cases`.

    One probe of the unique index per id, whatever the planner believes: while a big import fills the table, its
    statistics are those of a much smaller one, and with `external_id = ANY(ids)` (or a plain join to the ids) it
    took the index on `source` alone and filtered every case of the source, for every batch (52 of the 82 s the
    server spent on a fresh million-row import, growing with the square of its size). A LATERAL subquery with
    LIMIT 1 leaves it no plan but the probe, once sequential scans are off (a table it believes tiny would
    otherwise be scanned once per id). Never a prepared statement: a generic plan cannot see how many ids there are.
    """
    cursor.execute("SET LOCAL enable_seqscan = off")
    cursor.execute(f"SELECT c.id, c.{columns.replace(', ', ', c.')} FROM unnest(%s::text[]) AS wanted(external_id) "
                   f"CROSS JOIN LATERAL (SELECT id, {columns} FROM cases WHERE source = %s "
                   f"AND external_id = wanted.external_id LIMIT 1) AS c",
                   (list(external_ids), source), prepare=False)
    found = cursor.fetchall()
    cursor.execute("SET LOCAL enable_seqscan = on")
    return found


def copy_rows(cursor, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """Copy new cases in, one COPY for the batch, in PostgreSQL's binary format: each value goes in as it is held
    (a datetime as a count of microseconds, not text the server parses again). A million cases: 7.5 CPU-s of the
    importer's process to format as text, 1.1 s as binary."""
    with cursor.copy(f"COPY cases ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(_copy_types(tuple(columns)))
        for row in rows:
            copy.write_row(row)


_BINARY_TYPES = {String: "text", DateTime: "timestamp", Integer: "int4", Boolean: "bool"}


@cache
def _copy_types(columns: tuple[str, ...]) -> list[str]:
    """The binary COPY type of each column (varchar's binary form is text's)."""
    table = Case.__table__
    return [next(name for kind, name in _BINARY_TYPES.items() if isinstance(table.c[column].type, kind))
            for column in columns]


# --- the cases' foreign keys around big imports ----------------------------------------------------

# Each new case's five references (segment, stage, pod, assignee, import) are checked by a trigger, row by row: a
# query and a row lock each, 14 of the 18 CPU-s the server spent copying a million cases in. A big import drops
# the foreign keys with the secondary indexes and checks every reference at its end in one pass per key.


def _foreign_keys() -> list:
    return sorted(Case.__table__.foreign_key_constraints, key=attrgetter("name"))


def drop_foreign_keys(connection) -> None:
    """Drop the cases' foreign keys (in the caller's transaction: it has set a lock_timeout, as dropping one locks
    the table it refers to, and commits). `restore_foreign_keys` adds them again."""
    present = {key["name"] for key in sa_inspect(connection).get_foreign_keys(Case.__tablename__)}
    for key in _foreign_keys():
        if key.name in present:
            connection.execute(DropConstraint(key))


def restore_foreign_keys(session) -> int:
    """Add back the cases' foreign keys a big import dropped, and check those not checked yet; how many. Commits.

    Each is added NOT VALID (from then on every write is checked; a brief lock that lets reads go on), then the
    references written without it are checked in one pass, under a lock that lets reads and writes go on. A
    reference to a row deleted in the meantime is then set to NULL, as ON DELETE SET NULL would have done."""
    session.rollback()
    found = dict(session.execute(text("SELECT conname, convalidated FROM pg_constraint "
                                      "WHERE conrelid = CAST(:table AS regclass) AND contype = 'f'"),
                                 {"table": Case.__tablename__}).all())
    session.rollback()
    missing = [key for key in _foreign_keys() if key.name not in found]
    for key in missing:
        connection = session.connection()
        connection.execute(text(f"{CreateConstraint(key).compile(dialect=connection.dialect)} NOT VALID"))
        session.commit()
    # with those added but not checked when a worker died between the two steps
    unchecked = [key for key in _foreign_keys() if not found.get(key.name, False)]
    for key in unchecked:
        validate = text(f'ALTER TABLE {Case.__tablename__} VALIDATE CONSTRAINT "{key.name}"')
        try:
            session.execute(validate)
        except IntegrityError:  # a row it refers to was deleted meanwhile: NULL, as ON DELETE SET NULL does
            session.rollback()
            if key.ondelete != "SET NULL":
                raise
            (column,) = key.column_keys
            target = key.elements[0].column
            session.execute(text(f"UPDATE {Case.__tablename__} SET {column} = NULL WHERE {column} IS NOT NULL AND "
                                 f"NOT EXISTS (SELECT 1 FROM {target.table.name} AS target "
                                 f"WHERE target.{target.name} = {Case.__tablename__}.{column})"))
            session.execute(validate)
        session.commit()
    return len(unchecked)
