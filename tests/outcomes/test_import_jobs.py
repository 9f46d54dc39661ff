"""Imports as durable jobs: queued by the upload, run by a worker, resumed or failed after a crash, cancelled,
claimed by one worker only, their stored file removed when they end."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy import inspect as sa_inspect

from app.extensions import db
from app.outcomes import import_jobs, ingest
from app.outcomes.models import Case, Import, ImportRowError, ImportStatus
from app.timeutil import utcnow
from tests.outcomes.test_import_formats import zendesk_file, zendesk_row
from tests.outcomes.test_import_views import upload, zendesk_bytes


class Crash(BaseException):
    """The worker process dying: nothing in the import catches it."""


@pytest.fixture
def uploads(app, tmp_path):
    folder = tmp_path / "uploads"
    app.config["IMPORT_UPLOAD_DIR"] = str(folder)
    app.config["IMPORTS_INLINE"] = False
    yield folder
    app.config.pop("IMPORT_UPLOAD_DIR")
    app.config.pop("IMPORTS_INLINE")


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(ingest, "BATCH_SIZE", 50)
    monkeypatch.setattr(ingest, "SQLITE_BATCH_SIZE", 50)
    monkeypatch.setattr(ingest, "SQLITE_MAX_BATCH_SIZE", 50)


def count(model=Case) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def job(import_id: int) -> Import:
    db.session.expire_all()
    return db.session.get(Import, import_id)


def queued_job(tmp_path: Path, rows: int, **row_values) -> Import:
    source = zendesk_file(tmp_path, [zendesk_row(Id=str(n), **row_values) for n in range(1, rows + 1)])
    return import_jobs.enqueue_copy(source, fmt="zendesk", timezone="UTC", filename="tickets.csv",
                                    options=import_jobs.JobOptions(), actor=None)


def crash_after(rows: int):
    def progress(counts: ingest.ImportProgress) -> None:
        if counts.processed >= rows:
            raise Crash

    return progress


def make_stale(import_id: int) -> None:
    db.session.execute(update(Import).where(Import.id == import_id)
                       .values(heartbeat_at=utcnow() - timedelta(minutes=10)))
    db.session.commit()


def test_an_upload_queues_a_job_answers_at_once_and_the_worker_runs_it(client, auth, make_user, uploads):
    leader = make_user("leader")
    auth.login(leader)
    response = upload(client, zendesk_bytes([zendesk_row(Id=str(n)) for n in range(1, 30)]))
    assert response.status_code == 303
    queued = db.session.scalar(select(Import))
    assert queued.status == ImportStatus.QUEUED.value and queued.rows_total == 29 and count() == 0
    assert [p.name for p in uploads.iterdir()] == [Path(queued.file_path).name]
    page = client.get(f"/imports/{queued.id}").get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in page and 'id="import-cancel"' in page and 'id="import-queued"' in page

    assert import_jobs.run_pending_imports() == 1
    done = job(queued.id)
    assert (done.status, done.rows_created, done.attempts) == (ImportStatus.DONE.value, 29, 1)
    assert count() == 29 and list(uploads.iterdir()) == []
    fragment = client.get(f"/imports/{queued.id}", headers={"HX-Request": "true"})
    assert fragment.status_code == 286  # htmx stops polling
    assert "hx-trigger" not in fragment.get_data(as_text=True)
    assert "import-cancel" not in fragment.get_data(as_text=True)
    assert import_jobs.run_pending_imports() == 0


def test_a_job_whose_worker_died_is_resumed_from_its_last_committed_batch(tmp_path, uploads, small_batches):
    queued = queued_job(tmp_path, 300)
    assert import_jobs.claim_next("worker-that-dies") == queued.id
    with pytest.raises(Crash):
        import_jobs.run_claimed(queued.id, "worker-that-dies", progress=crash_after(100))
    left = job(queued.id)
    assert (left.status, left.rows_processed, left.worker) == (ImportStatus.RUNNING.value, 100, "worker-that-dies")
    assert count() == 100 and Path(left.file_path).is_file()
    assert import_jobs.run_pending_imports() == 0  # the heartbeat is fresh: the worker may still be alive

    make_stale(queued.id)
    assert import_jobs.run_pending_imports() == 1
    done = job(queued.id)
    assert (done.status, done.rows_processed, done.rows_created, done.rows_unchanged, done.attempts) == (
        ImportStatus.DONE.value, 300, 300, 0, 2)
    assert count() == 300 and list(uploads.iterdir()) == []


def case_indexes() -> set[str]:
    db.session.rollback()
    names = {index["name"] for index in sa_inspect(db.session.connection()).get_indexes(Case.__tablename__)}
    db.session.rollback()
    return names


def test_a_big_import_builds_the_indexes_it_dropped_and_the_worker_those_a_dead_one_left(
        tmp_path, uploads, small_batches, monkeypatch):
    wanted = {index.name for index in Case.__table__.indexes if not index.unique}
    monkeypatch.setattr(ingest, "BIG_IMPORT_ROWS", 100)
    dropped = []
    drop = ingest.drop_case_indexes
    monkeypatch.setattr(ingest, "drop_case_indexes", lambda rows: dropped.append(drop(rows)) or dropped[-1])
    queued = queued_job(tmp_path, 300)
    assert import_jobs.run_pending_imports() == 1
    done = job(queued.id)
    assert (done.status, done.rows_created, dropped) == (ImportStatus.DONE.value, 300, [True])
    assert wanted <= case_indexes() and count() == 300

    assert drop(300) is True  # a file as long as the table: dropped, and the process dies before the end
    assert not wanted & case_indexes()
    assert import_jobs.run_pending_imports() == 0
    assert wanted <= case_indexes()
    assert drop(299) is False and wanted <= case_indexes()  # a file shorter than the table keeps them


def test_a_big_file_imported_again_keeps_the_indexes(tmp_path, uploads, small_batches, monkeypatch):
    wanted = {index.name for index in Case.__table__.indexes if not index.unique}
    monkeypatch.setattr(ingest, "BIG_IMPORT_ROWS", 100)
    dropped = []
    drop = ingest.drop_case_indexes
    monkeypatch.setattr(ingest, "drop_case_indexes", lambda rows: dropped.append(drop(rows)) or dropped[-1])
    queued_job(tmp_path, 300)
    assert import_jobs.run_pending_imports() == 1
    again = queued_job(tmp_path, 300)
    assert import_jobs.run_pending_imports() == 1
    assert dropped == [True]  # the first import only: the second finds its rows stored and writes none
    assert (job(again.id).status, job(again.id).rows_unchanged) == (ImportStatus.DONE.value, 300)
    assert wanted <= case_indexes() and count() == 300


def test_a_resumed_job_keeps_its_row_errors_once_each(tmp_path, uploads, small_batches):
    rows = [zendesk_row(Id=str(n), Status="Lost" if n % 40 == 0 else "Solved") for n in range(1, 201)]
    source = zendesk_file(tmp_path, rows)
    queued = import_jobs.enqueue_copy(source, fmt="zendesk", timezone="UTC", filename="t.csv",
                                      options=import_jobs.JobOptions(), actor=None)
    import_jobs.claim_next("dies")
    with pytest.raises(Crash):
        import_jobs.run_claimed(queued.id, "dies", progress=crash_after(100))
    make_stale(queued.id)
    import_jobs.run_pending_imports()
    done = job(queued.id)
    assert (done.status, done.rows_created, done.rows_failed) == (ImportStatus.DONE.value, 195, 5)
    lines = db.session.scalars(select(ImportRowError.line).order_by(ImportRowError.line)).all()
    assert lines == [41, 81, 121, 161, 201]


def test_a_job_interrupted_too_often_fails_with_the_row_it_reached_and_loses_its_file(tmp_path, uploads,
                                                                                      small_batches):
    queued = queued_job(tmp_path, 200)
    for attempt in range(import_jobs.MAX_ATTEMPTS):
        assert import_jobs.claim_next(f"dies-{attempt}") == queued.id
        with pytest.raises(Crash):
            import_jobs.run_claimed(queued.id, f"dies-{attempt}", progress=crash_after(50 * (attempt + 1)))
        make_stale(queued.id)
    assert import_jobs.run_pending_imports() == 0
    failed = job(queued.id)
    assert failed.status == ImportStatus.FAILED.value and failed.finished_at is not None
    assert "Interrupted after row 150" in failed.message
    assert list(uploads.iterdir()) == [] and count() == 150


def test_an_inline_import_whose_process_died_is_marked_failed_not_running_for_ever(tmp_path, uploads):
    running = Import(source="zendesk", filename="cli.csv", timezone="UTC", status=ImportStatus.RUNNING.value,
                     rows_total=1000, rows_processed=400, worker="cli", heartbeat_at=utcnow(), attempts=1)
    db.session.add(running)
    db.session.commit()
    import_jobs.run_pending_imports()
    assert job(running.id).status == ImportStatus.RUNNING.value
    make_stale(running.id)
    import_jobs.run_pending_imports()
    failed = job(running.id)
    assert failed.status == ImportStatus.FAILED.value and "Interrupted after row 400" in failed.message


def test_two_workers_racing_for_one_job_only_one_claims_it(app, tmp_path, uploads):
    queued = queued_job(tmp_path, 3)
    barrier = threading.Barrier(2)
    won: dict[str, int | None] = {}

    def worker(name: str) -> None:
        with app.app_context():
            barrier.wait()
            won[name] = import_jobs.claim_next(name)
            db.session.remove()

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won.values(), key=str) == [queued.id, None]
    winner = next(name for name, claimed in won.items() if claimed)
    assert job(queued.id).worker == winner
    # Claimed: neither worker, nor a third, may claim it again while its heartbeat is fresh.
    assert not import_jobs.claim(queued.id, "c")
    make_stale(queued.id)
    assert import_jobs.claim(queued.id, "c") and not import_jobs.claim(queued.id, "d")
    assert job(queued.id).attempts == 2


def test_a_worker_whose_job_was_taken_over_stops_and_leaves_the_file_to_the_new_owner(tmp_path, uploads,
                                                                                    small_batches):
    queued = queued_job(tmp_path, 200)
    import_jobs.claim_next("slow")

    def taken_over(counts: ingest.ImportProgress) -> None:
        if counts.processed == 50:
            make_stale(queued.id)
            assert import_jobs.claim(queued.id, "new")

    assert import_jobs.run_claimed(queued.id, "slow", progress=taken_over) == "lost"
    assert job(queued.id).worker == "new" and Path(job(queued.id).file_path).is_file()
    import_jobs.run_claimed(queued.id, "new")
    assert job(queued.id).status == ImportStatus.DONE.value and count() == 200


def test_a_stopping_worker_hands_its_job_back_to_the_queue(tmp_path, uploads, small_batches):
    queued = queued_job(tmp_path, 200)
    stop = threading.Event()
    import_jobs.claim_next("shutting-down")

    def shutdown(counts: ingest.ImportProgress) -> None:
        if counts.processed == 100:
            stop.set()

    assert import_jobs.run_claimed(queued.id, "shutting-down", stop=stop, progress=shutdown) == "stopped"
    back = job(queued.id)
    assert (back.status, back.rows_processed, back.worker) == (ImportStatus.QUEUED.value, 150, None)
    assert import_jobs.run_pending_imports() == 1
    assert job(queued.id).status == ImportStatus.DONE.value and count() == 200


def test_leaders_cancel_a_queued_import_and_its_file_is_removed(client, auth, make_user, tmp_path, uploads):
    queued = queued_job(tmp_path, 5)
    auth.login(make_user("coach"))
    assert client.post(f"/imports/{queued.id}/cancel").status_code == 403
    auth.logout()
    auth.login(make_user("leader", name="Lea Leader"))
    response = client.post(f"/imports/{queued.id}/cancel")
    assert response.status_code == 303
    cancelled = job(queued.id)
    assert cancelled.status == ImportStatus.CANCELLED.value and "Lea Leader" in cancelled.message
    assert list(uploads.iterdir()) == []
    assert import_jobs.run_pending_imports() == 0 and count() == 0
    page = client.get(f"/imports/{queued.id}").get_data(as_text=True)
    assert "Cancelled" in page and "every 1s" not in page
    again = client.post(f"/imports/{queued.id}/cancel", follow_redirects=True)
    assert "already ended" in again.get_data(as_text=True)
    assert client.post("/imports/999999/cancel").status_code == 404


def test_cancelling_a_running_import_stops_it_at_its_next_batch(tmp_path, uploads, small_batches, make_user):
    leader = make_user("leader")
    queued = queued_job(tmp_path, 300)
    import_jobs.claim_next("w")

    def cancel_half_way(counts: ingest.ImportProgress) -> None:
        if counts.processed == 100:
            assert import_jobs.cancel(queued.id, leader)

    assert import_jobs.run_claimed(queued.id, "w", progress=cancel_half_way) == "lost"
    cancelled = job(queued.id)
    assert cancelled.status == ImportStatus.CANCELLED.value and cancelled.rows_processed == 100
    assert "after row 100" in cancelled.message
    assert count() == 100 and list(uploads.iterdir()) == []


def test_a_job_whose_file_is_gone_fails_clearly(tmp_path, uploads):
    queued = queued_job(tmp_path, 3)
    Path(queued.file_path).unlink()
    import_jobs.run_pending_imports()
    failed = job(queued.id)
    assert failed.status == ImportStatus.FAILED.value and "gone" in failed.message


def test_cli_queue_stores_a_copy_and_run_imports_runs_it(runner, tmp_path, uploads):
    source = zendesk_file(tmp_path, [zendesk_row(Id="1"), zendesk_row(Id="2")])
    result = runner.invoke(args=["outcomes", "import", str(source), "--format", "zendesk", "--queue"])
    assert result.exit_code == 0 and "queued" in result.output, result.output
    assert count() == 0 and len(list(uploads.iterdir())) == 1 and source.is_file()
    refused = tmp_path / "people.csv"
    refused.write_text("Name\nAna\n", encoding="utf-8")
    bad = runner.invoke(args=["outcomes", "import", str(refused), "--format", "zendesk", "--queue"])
    assert bad.exit_code == 2 and len(list(uploads.iterdir())) == 1
    result = runner.invoke(args=["outcomes", "run-imports"])
    assert result.exit_code == 0 and "1 queued imports run" in result.output
    assert count() == 2 and list(uploads.iterdir()) == []


def test_the_scheduler_worker_thread_runs_queued_imports(app, tmp_path, uploads):
    from app.scheduler import runner as scheduler_runner

    queued = queued_job(tmp_path, 4)
    stop = threading.Event()
    calls = []

    def once(app_, stop_):
        ran = import_jobs.run_pending_imports(stop=stop_)
        calls.append(ran)
        stop.set()
        return ran

    original = dict(scheduler_runner.WORKERS)
    scheduler_runner.WORKERS.clear()
    scheduler_runner.WORKERS["imports"] = once
    try:
        scheduler_runner.work_queues(app, stop, poll_seconds=0)
    finally:
        scheduler_runner.WORKERS.clear()
        scheduler_runner.WORKERS.update(original)
    assert calls == [1] and job(queued.id).status == ImportStatus.DONE.value
    assert "imports" in scheduler_runner.WORKERS


def test_stored_files_no_job_owns_are_removed_once_old(tmp_path, uploads):
    queued = queued_job(tmp_path, 2)
    orphan = uploads / "0123abcd.csv"
    orphan.write_text("Id\n1\n", encoding="utf-8")
    assert import_jobs.remove_orphan_files() == 0  # young: may be an upload being queued right now
    assert import_jobs.remove_orphan_files(min_age_seconds=0) == 1
    assert not orphan.exists() and Path(queued.file_path).is_file()
