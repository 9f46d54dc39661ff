"""The rollups follow a file import once it ends, whatever its end: done, failed half-way, cancelled, resumed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.outcomes import import_jobs, ingest, rollups
from tests.outcomes.test_import_formats import zendesk_file, zendesk_row
from tests.outcomes.test_import_jobs import Crash, crash_after, job, make_stale, small_batches, uploads  # noqa: F401
from tests.outcomes.test_rollups import _rows


def rows_over_weeks(count: int, start: int = 1, **values: str) -> list[dict[str, str]]:
    """Cases created over many weeks, so an import touches more days than one refresh transaction takes."""
    first = datetime(2026, 3, 1, 10)
    return [zendesk_row(Id=str(n), **{"Created at": (first + timedelta(days=n % 90)).strftime("%Y-%m-%d %H:%M"),
                                      "Solved at": (first + timedelta(days=n % 90 + 1)).strftime("%Y-%m-%d %H:%M"),
                                      "Updated at": (first + timedelta(days=n % 90 + 2)).strftime("%Y-%m-%d %H:%M"),
                                      **values})
            for n in range(start, start + count)]


def rebuilt() -> list[tuple]:
    """The rollups a rebuild from the cases gives, leaving the stored ones as they were."""
    db.session.rollback()
    rollups.rebuild()
    found = _rows()
    db.session.rollback()
    return found


def test_an_import_into_a_database_with_rollups_refreshes_just_its_days(tmp_path):
    ingest.import_file(zendesk_file(tmp_path, rows_over_weeks(40)), fmt="zendesk", timezone="UTC")
    assert _rows() == rebuilt() and _rows()
    (tmp_path / "more").mkdir()
    changed = rows_over_weeks(30, start=20, Status="Closed", **{"Updated at": "2026-09-01 10:00"})
    done = ingest.import_file(zendesk_file(tmp_path / "more", changed), fmt="zendesk", timezone="UTC")
    assert (done.rows_created, done.rows_updated) == (9, 21)
    assert _rows() == rebuilt()


def test_an_import_failing_half_way_leaves_rollups_in_step_with_what_it_stored(tmp_path, monkeypatch):
    ingest.import_file(zendesk_file(tmp_path, rows_over_weeks(5)), fmt="zendesk", timezone="UTC")
    (tmp_path / "more").mkdir()
    original = ingest.CaseWriter.write
    calls = []

    def fails_the_third_batch(self, records, *more):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return original(self, records, *more)

    monkeypatch.setattr(ingest.CaseWriter, "write", fails_the_third_batch)
    done = ingest.import_file(zendesk_file(tmp_path / "more", rows_over_weeks(80, start=100)), fmt="zendesk",
                              timezone="UTC", batch_size=20)
    assert done.status == "failed" and done.rows_created == 40
    assert _rows() == rebuilt()


def test_a_resumed_job_rebuilds_the_rollups(tmp_path, uploads, small_batches):  # noqa: F811
    source = zendesk_file(tmp_path, rows_over_weeks(200))
    queued = import_jobs.enqueue_copy(source, fmt="zendesk", timezone="UTC", filename="t.csv",
                                      options=import_jobs.JobOptions(), actor=None)
    import_jobs.claim_next("dies")
    with pytest.raises(Crash):
        import_jobs.run_claimed(queued.id, "dies", progress=crash_after(100))
    db.session.rollback()
    make_stale(queued.id)
    assert import_jobs.run_pending_imports() == 1
    assert job(queued.id).rows_created == 200
    assert _rows() == rebuilt() and db.session.scalar(select(rollups.CaseDayRollup.day).limit(1)) is not None


def test_an_import_queues_its_days_while_it_runs_and_leaves_the_queue_empty(tmp_path, monkeypatch):
    """Figures read while an import runs come from the cases for its days (queued), never from stale rollups."""
    ingest.import_file(zendesk_file(tmp_path, rows_over_weeks(5)), fmt="zendesk", timezone="UTC")
    (tmp_path / "more").mkdir()
    original = ingest.CaseWriter.write
    seen = []

    def watch(self, records, *more):
        result = original(self, records, *more)
        seen.append(db.session.scalar(select(db.func.count()).select_from(rollups.RollupQueue)))
        return result

    monkeypatch.setattr(ingest.CaseWriter, "write", watch)
    ingest.import_file(zendesk_file(tmp_path / "more", rows_over_weeks(60, start=100)), fmt="zendesk",
                       timezone="UTC", batch_size=20)
    assert seen and all(count > 0 for count in seen)
    assert db.session.scalar(select(db.func.count()).select_from(rollups.RollupQueue)) == 0
    assert _rows() == rebuilt()
