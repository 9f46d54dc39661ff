"""Interactive writes are never starved by an import: each batch is a short transaction of its own."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.org.models import User
from app.outcomes import import_jobs, ingest
from app.outcomes.models import Case, Import, ImportStatus
from app.scheduler.models import JobRun
from app.timeutil import utcnow
from tests.outcomes.test_import_formats import zendesk_file, zendesk_row

ROWS = 3000
WRITES_DURING_IMPORT = 20
WAIT = 60  # seconds a thread waits for the other at most; never reached unless something hangs


@pytest.fixture
def uploads(app, tmp_path):
    app.config["IMPORT_UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield
    app.config.pop("IMPORT_UPLOAD_DIR")


def test_other_sessions_write_while_an_import_job_runs_in_a_thread(app, tmp_path, uploads, make_user, monkeypatch):
    monkeypatch.setattr(ingest, "BATCH_SIZE", 100)
    monkeypatch.setattr(ingest, "SQLITE_BATCH_SIZE", 100)
    monkeypatch.setattr(ingest, "SQLITE_MAX_BATCH_SIZE", 100)
    user = make_user("agent")
    source = zendesk_file(tmp_path, [zendesk_row(Id=str(n)) for n in range(1, ROWS + 1)])
    queued = import_jobs.enqueue_copy(source, fmt="zendesk", timezone="UTC", filename="big.csv",
                                      options=import_jobs.JobOptions(), actor=None)
    importing, writes_done, import_over = threading.Event(), threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def progress(counts: ingest.ImportProgress) -> None:
        importing.set()
        if counts.processed == ROWS // 2:  # half-way, the import goes on only once the others have written
            assert writes_done.wait(WAIT)

    def run_import() -> None:
        with app.app_context():
            try:
                worker = ingest.new_worker_id()
                assert import_jobs.claim_next(worker) == queued.id
                import_jobs.run_claimed(queued.id, worker, progress=progress)
            except BaseException as exc:  # noqa: BLE001  (reported by the test thread)
                failures.append(exc)
            finally:
                import_over.set()
                db.session.remove()

    thread = threading.Thread(target=run_import)
    thread.start()
    assert importing.wait(WAIT)
    written = 0
    try:
        while written < WRITES_DURING_IMPORT or not import_over.is_set():
            db.session.get(User, user.id).display_name = f"Agent renamed {written}"
            db.session.add(JobRun(job="standup-like", scheduled_for=utcnow() + timedelta(minutes=written)))
            db.session.commit()
            written += 1
            if written == WRITES_DURING_IMPORT:
                writes_done.set()
            if written > 10_000:
                break
    except OperationalError as exc:  # "database is locked" would land here
        writes_done.set()
        pytest.fail(f"an interactive write failed during the import: {exc}")
    finally:
        thread.join(WAIT)
    assert not failures, failures
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(JobRun)) == written
    assert db.session.get(User, user.id).display_name == f"Agent renamed {written - 1}"
    done = db.session.get(Import, queued.id)
    assert (done.status, done.rows_created) == (ImportStatus.DONE.value, ROWS)
    assert db.session.scalar(select(func.count()).select_from(Case)) == ROWS
