"""A big file of new cases is parsed by forked processes: the cases, row errors, counters and rollups are exactly
those of parsing in the writer's own process."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from app.extensions import db
from app.outcomes import importers, ingest, rollups
from app.outcomes.models import Case, Import, ImportRowError, ImportStatus
from tests.outcomes.test_import_formats import errors_of, zendesk_file, zendesk_row
from tests.outcomes.test_import_ranges import BAD_ZENDESK_CELLS

pytestmark = pytest.mark.skipif(not ingest.can_fork(), reason="parsing processes are forked")

SNAPSHOT = ingest.COMPARED + ("row_hash", "raw_hash", "source", "import_id")


def _rows(tmp_path):
    rows = []
    for n in range(1, 181):
        values = {"Id": str(n), "Replies": str(n % 4), "Created at": f"2026-{1 + n % 12:02d}-{1 + n % 27:02d} 10:00",
                  "Group stations": str(1 + n % 3)}
        if n % 9 == 0:
            values.update(BAD_ZENDESK_CELLS[(n // 9) % len(BAD_ZENDESK_CELLS)])
        if n % 13 == 0:
            values["Id"] = str(n - 5)  # the same case again, later in the file (another batch, or the same)
        if n % 17 == 0:
            values["Subject"] = "line one\nline two"
        if n == 50:
            values["Status"] = "Escalated"
        if n == 60:
            values["Id"] = ""
        rows.append(zendesk_row(**values))
    path = zendesk_file(tmp_path, rows)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("999,too,few\r\n")
    return path


def _stored() -> tuple:
    cases = sorted(tuple(row) for row in db.session.execute(
        select(*(getattr(Case, name) for name in SNAPSHOT if name != "import_id"))))
    R = rollups.CaseDayRollup
    days = sorted((zone, day, pod or 0, created, done, rollups.minutes_of(blob)) for zone, day, pod, created, done, blob
                  in db.session.execute(select(R.zone, R.day, R.pod_id, R.created, R.done, R.resolution_minutes)))
    return cases, days


def _import(path, processes: int, monkeypatch, **kwargs):
    monkeypatch.setattr(ingest, "PROCESS_MIN_ROWS", 0)
    monkeypatch.setattr(ingest, "PARSE_PROCESSES", processes)
    used = []
    original = ingest._prepared_batches

    def spy(*args, **kw):
        used.append(True)
        return original(*args, **kw)

    monkeypatch.setattr(ingest, "_prepared_batches", spy)
    result = ingest.import_file(path, fmt="zendesk", timezone="Europe/Madrid", **kwargs)
    assert bool(used) == (processes > 1)
    counts = (result.status, result.rows_processed, result.rows_created, result.rows_updated, result.rows_unchanged,
              result.rows_failed)
    return counts, errors_of(result), _stored()


def _empty() -> None:
    db.session.execute(delete(ImportRowError))
    db.session.execute(delete(Case))
    db.session.commit()
    rollups.rebuild()
    db.session.commit()


@pytest.mark.parametrize("batch_size", [7, 64])
def test_parsing_processes_give_what_the_writers_thread_gives(tmp_path, monkeypatch, make_user, batch_size):
    leader = make_user("leader", locale="es")
    path = _rows(tmp_path)
    counts, errors, stored = _import(path, 2, monkeypatch, batch_size=batch_size, actor=leader)
    assert counts[0] == ImportStatus.DONE.value and counts[2] > 100 and counts[3] > 0 and counts[5] > 15
    assert any("Escalated" in reason for _line, _id, reason in errors)
    _empty()
    assert _import(path, 0, monkeypatch, batch_size=batch_size, actor=leader) == (counts, errors, stored)


def test_a_file_breaking_half_way_fails_alike_with_parsing_processes(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "COMMIT_SECONDS", 0)
    path = zendesk_file(tmp_path, [zendesk_row(Id=str(n)) for n in range(1, 301)])
    with path.open("ab") as handle:
        handle.write(b"999,\xff\xfe broken\r\n")
    outcomes = []
    for processes in (2, 0):
        queued = Import(source="zendesk", filename="broken.csv", timezone="UTC", rows_total=301)
        db.session.add(queued)
        db.session.commit()
        counts, errors, stored = _import(path, processes, monkeypatch, batch_size=50, import_=queued, checked=True)
        assert counts[0] == ImportStatus.FAILED.value
        outcomes.append((counts, errors, stored, db.session.scalar(select(func.count()).select_from(Case))))
        _empty()
    assert outcomes[0] == outcomes[1] and 0 < outcomes[0][3] < 300


def test_an_import_stopping_half_way_stops_its_parsing_processes(tmp_path, monkeypatch):
    import multiprocessing

    path = zendesk_file(tmp_path, [zendesk_row(Id=str(n)) for n in range(1, 401)])
    monkeypatch.setattr(ingest, "PROCESS_MIN_ROWS", 0)
    monkeypatch.setattr(ingest, "PARSE_PROCESSES", 2)
    started = []
    original = ingest._prepared_batches

    def spy(*args, **kwargs):
        started.append(args[-1])  # how many processes read the file
        return original(*args, **kwargs)

    monkeypatch.setattr(ingest, "_prepared_batches", spy)

    def progress(counts):
        if counts.processed >= 100:
            raise RuntimeError("the worker's host is going away")

    result = ingest.import_file(path, fmt="zendesk", timezone="UTC", batch_size=20, progress=progress)
    assert result.status == ImportStatus.FAILED.value and result.rows_processed == 100
    assert started == [2]  # parsing processes did the reading (a fast one may have finished before the first batch)
    assert multiprocessing.active_children() == []  # and none is left behind
    assert db.session.scalar(select(func.count()).select_from(Case)) == 100


@pytest.mark.parametrize("fault", ["hangs", "dies"])
def test_a_parsing_process_that_hangs_or_dies_fails_the_import(tmp_path, monkeypatch, fault):
    """Forked from a process with threads, a parser could inherit a lock taken at the fork and hang, or be killed:
    the import then fails (it never shows "running" for ever) and no process is left behind."""
    import multiprocessing
    import os
    import time

    path = zendesk_file(tmp_path, [zendesk_row(Id=str(n)) for n in range(1, 201)])
    monkeypatch.setattr(ingest, "PROCESS_MIN_ROWS", 0)
    monkeypatch.setattr(ingest, "PARSE_PROCESSES", 2)
    monkeypatch.setattr(ingest, "PARSE_STALL_SECONDS", 2.0)

    def broken_parser(send, *args):
        if fault == "dies":
            os._exit(3)
        time.sleep(600)

    monkeypatch.setattr(ingest, "_prepare_in_process", broken_parser)
    started = time.monotonic()
    result = ingest.import_file(path, fmt="zendesk", timezone="UTC", batch_size=20)
    assert result.status == ImportStatus.FAILED.value and result.rows_processed == 0
    assert time.monotonic() - started < 60  # the watchdog, not the hung process (600 s), ended it
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("size", [1, 4, 25])
def test_parsing_processes_taking_turns_read_the_rows_parse_reads(tmp_path, size):
    """The lists each parsing process makes, taken in turn, are the file's rows as `parse` reads them: the same
    lines and items, blank lines passed over, a row the CSV reader refuses an error of its own, every row digested
    by its cells; lazily, every row with a usable id comes unread and reads as `parse` reads it."""
    path = _rows(tmp_path)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\r\n\r\n" + "x" * 200_000 + ",1\r\n,\r\n\r\n")  # blank lines, a cell over the CSV limit
        handle.write(",".join(zendesk_row(Id="500").values()) + "\r\n")
    options = importers.ParseOptions(timezone="Europe/Madrid")
    with importers.open_text(path) as stream:
        expected = list(importers.parse(stream, "zendesk", options))
    assert any("not valid CSV" in item.reason for _line, item in expected if isinstance(item, importers.RowError))

    def lists(turn, lazy=False):
        with importers.open_text(path) as stream:
            return list(importers.keyed_batches(stream, "zendesk", options, b"key", size, lazy=lazy, turn=turn))

    whole = lists((0, 1))
    assert all(len(batch) == size for batch in whole[:-1]) and 0 < len(whole[-1]) <= size
    for processes in (2, 3):
        turns = [iter(lists((index, processes))) for index in range(processes)]
        taken = [next(turns[number % processes]) for number in range(len(whole))]
        assert taken == whole and all(next(rest, None) is None for rest in turns)
    rows = [row for batch in whole for row in batch]
    assert [(line, item) for line, item, _digest in rows] == expected
    assert all(digest is not None for _line, item, digest in rows if not isinstance(item, importers.RowError))
    lazy = [row for batch in lists((0, 1), lazy=True) for row in batch]
    assert [digest for _line, _item, digest in lazy] == [digest for _line, _item, digest in rows]
    assert [(line, item.read() if isinstance(item, importers.RawRow) else item)
            for line, item, _digest in lazy] == expected
    assert sum(isinstance(item, importers.RawRow) for _line, item, _digest in lazy) > 150
