"""Imports as durable jobs: queue a stored file, claim it once, run it, resume or fail it after a crash, cancel it.

A job is an Import row. Uploads and `flask outcomes import --queue` store the file and queue the job; the
worker (inside `flask scheduler run`, or the `make run` process) claims jobs one at a time with a
conditional UPDATE whose rowcount says who won, so two workers never run the same job. While it runs,
each committed batch renews the job's heartbeat. A job whose heartbeat went stale (its worker died) is
claimed again and goes on from its last committed batch — up to MAX_ATTEMPTS times, then it is marked
failed "interrupted after row N". The stored file is deleted as soon as the job ends, whatever the end.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import Flask, current_app
from flask_babel import force_locale
from sqlalchemy import and_, func, or_, select, update

from app.extensions import db
from app.org.models import User
from app.org.services import get_organisation
from app.outcomes import attribution, ingest
from app.outcomes.importers import FileRejected, ParseOptions, _, check_file
from app.outcomes.models import ACTIVE_IMPORT_STATUSES, Case, Import, ImportStatus
from app.scheduler.jobs import register_worker
from app.timeutil import utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
DEFAULT_STALE_SECONDS = 60
CLAIM_CANDIDATES = 5
SWEEP_SECONDS = 600  # how often the worker looks for stored files no job owns
ORPHAN_AGE_SECONDS = 3600  # an unowned file younger than this may belong to an upload being queued right now
_last_sweep = [float("-inf")]
OPTION_KEYS = ("segment_from", "stage_from", "request_type_from")


@dataclass(frozen=True)
class JobOptions:
    """What a queued job needs besides its file: how to read it and in which language to write its errors."""

    segment_from: str | None = None
    stage_from: str | None = None
    request_type_from: str | None = None
    locale: str = "en"

    def dumps(self) -> str:
        return json.dumps({key: value for key, value in self.__dict__.items() if value is not None})

    @classmethod
    def loads(cls, text: str) -> JobOptions:
        try:
            data = json.loads(text or "{}")
        except ValueError:
            data = {}
        known = {key: data[key] for key in (*OPTION_KEYS, "locale") if isinstance(data.get(key), str)}
        return cls(**known)

    def parse_options(self, timezone: str) -> ParseOptions:
        return ParseOptions(timezone=timezone, salt=ingest.customer_salt(), segment_from=self.segment_from,
                            stage_from=self.stage_from, request_type_from=self.request_type_from)


def _setting(name: str, default: object) -> object:
    """An app setting, else the environment variable of that name (config.py is shared), else the default."""
    return current_app.config.get(name) or os.environ.get(name) or default


def upload_dir() -> Path:
    folder = Path(_setting("IMPORT_UPLOAD_DIR", Path(current_app.instance_path) / "imports"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def new_upload_path() -> Path:
    return upload_dir() / f"{uuid.uuid4().hex}.csv"


def stale_before():
    return utcnow() - timedelta(seconds=float(_setting("IMPORT_STALE_SECONDS", DEFAULT_STALE_SECONDS)))


def enqueue(path: Path, *, fmt: str, timezone: str, filename: str, options: JobOptions, actor: User | None,
            total: int | None = None) -> Import:
    """Queue the import of a file already stored at `path` (in the upload folder); the job owns it now.

    `total` is the row count check_file gave, when the caller checked the file; else it is checked here
    (FileRejected, and the file is deleted). Commits.
    """
    if total is None:
        try:
            total = check_file(path, fmt, options.parse_options(timezone))
        except FileRejected:
            Path(path).unlink(missing_ok=True)
            raise
    job = Import(source=fmt, filename=filename[:255], timezone=timezone, status=ImportStatus.QUEUED.value,
                 rows_total=total, started_by_id=actor.id if actor is not None else None, file_path=str(path),
                 options=options.dumps(), attempts=0)
    db.session.add(job)
    db.session.commit()
    return job


def enqueue_copy(source: str | Path, **kwargs) -> Import:
    """Queue the import of a file the caller keeps (the CLI's): a copy goes to the upload folder."""
    path = new_upload_path()
    shutil.copyfile(source, path)
    return enqueue(path, **kwargs)


def _resumable():
    """A job another worker can take over: a queued file, or a re-attribution (it needs no file)."""
    return or_(Import.file_path.is_not(None), Import.source == REATTRIBUTE)


def _claimable():
    stale = or_(Import.heartbeat_at.is_(None), Import.heartbeat_at < stale_before())
    return or_(
        Import.status == ImportStatus.QUEUED.value,
        and_(Import.status == ImportStatus.RUNNING.value, stale, _resumable(), Import.attempts < MAX_ATTEMPTS),
    )


def claim(import_id: int, worker: str) -> bool:
    """Take one job for `worker`: a conditional UPDATE, so of two workers trying, exactly one wins. Commits."""
    now = utcnow()
    won = db.session.execute(
        update(Import).where(Import.id == import_id, _claimable())
        .values(status=ImportStatus.RUNNING.value, worker=worker, heartbeat_at=now, attempts=Import.attempts + 1,
                started_at=func.coalesce(Import.started_at, now))
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return won == 1


def claim_next(worker: str) -> int | None:
    """The id of the oldest job this worker could claim, claimed; None when there is none."""
    candidates = db.session.scalars(select(Import.id).where(_claimable()).order_by(Import.id)
                                    .limit(CLAIM_CANDIDATES)).all()
    db.session.rollback()
    for import_id in candidates:
        if claim(import_id, worker):
            return import_id
    return None


def fail_abandoned() -> int:
    """Mark failed the running jobs whose worker died and that cannot go on; delete their files. Commits.

    Those are jobs with a stale heartbeat that were interrupted MAX_ATTEMPTS times, and inline imports
    (the CLI without --queue) whose process stopped: their file is not Podium's to read again.
    """
    stale = or_(Import.heartbeat_at.is_(None), Import.heartbeat_at < stale_before())
    abandoned = db.session.execute(
        select(Import.id, Import.rows_processed, Import.options, Import.file_path).where(
            Import.status == ImportStatus.RUNNING.value, stale,
            or_(~_resumable(), Import.attempts >= MAX_ATTEMPTS))
    ).all()
    db.session.rollback()
    failed = 0
    for import_id, rows, options, file_path in abandoned:
        with force_locale(JobOptions.loads(options).locale):
            message = _("Interrupted after row %(rows)d: the process running the import stopped. The rows before "
                        "it were imported; import the file again to bring in the rest.", rows=rows)
        changed = db.session.execute(
            update(Import).where(Import.id == import_id, Import.status == ImportStatus.RUNNING.value, stale)
            .values(status=ImportStatus.FAILED.value, message=message[:1000], finished_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        if changed == 1:
            failed += 1
            log.warning("Import %s abandoned after row %s: marked failed", import_id, rows)
            _remove_file(file_path)
    return failed


def run_claimed(import_id: int, worker: str, stop: threading.Event | None = None,
                progress: Callable[[ingest.ImportProgress], None] | None = None) -> str:
    """Run a job this worker has claimed, from its last committed row; delete its file once it has ended."""
    job = db.session.get(Import, import_id)
    options = JobOptions.loads(job.options)
    if job.source == REATTRIBUTE:
        resumed = job.attempts > 1
        db.session.rollback()
        with force_locale(options.locale):
            return run_reattribution(import_id, worker, resumed=resumed, stop=stop)
    fmt, timezone, file_path = job.source, job.timezone, job.file_path
    counts = ingest.ImportProgress(processed=job.rows_processed, total=job.rows_total, created=job.rows_created,
                                   updated=job.rows_updated, unchanged=job.rows_unchanged, failed=job.rows_failed)
    db.session.rollback()
    with force_locale(options.locale):
        if not file_path or not Path(file_path).is_file():
            outcome = ingest._finish(import_id, worker, ImportStatus.FAILED,
                                     _("The stored file of this import is gone; import the file again."))
        else:
            if counts.processed:
                log.info("Import %s resumes after row %s", import_id, counts.processed)
            outcome = ingest.execute_import(
                import_id, worker, file_path, fmt, options.parse_options(timezone), counts,
                stored_errors=min(counts.failed, ingest.MAX_STORED_ERRORS), locale=options.locale, stop=stop,
                progress=progress)
    status = db.session.scalar(select(Import.status).where(Import.id == import_id))
    db.session.rollback()
    if status not in ACTIVE_IMPORT_STATUSES:
        _remove_file(file_path)
    return outcome


def run_pending_imports(*, worker: str | None = None, stop: threading.Event | None = None,
                        limit: int | None = None) -> int:
    """Run queued jobs (and jobs whose worker died) one after another until none is left; how many ran.

    What the worker loop calls every few seconds, and what tests call to run a job synchronously.
    """
    worker = worker or ingest.new_worker_id()
    fail_abandoned()
    restore_case_indexes()
    if time.monotonic() - _last_sweep[0] >= SWEEP_SECONDS:
        _last_sweep[0] = time.monotonic()
        remove_orphan_files()
    ran = 0
    while (limit is None or ran < limit) and not (stop is not None and stop.is_set()):
        import_id = claim_next(worker)
        if import_id is None:
            break
        run_claimed(import_id, worker, stop)
        ran += 1
    return ran


def restore_case_indexes() -> int:
    """Build the case indexes a big import dropped and did not build again (its worker died); how many. Not while
    an import runs: it builds them at its end. Commits."""
    running = db.session.scalar(select(func.count(Import.id)).where(
        Import.status == ImportStatus.RUNNING.value, Import.heartbeat_at >= stale_before()))
    db.session.rollback()
    if running:
        return 0
    built = ingest.ensure_case_indexes()
    if built:
        log.warning("Built %d case indexes an interrupted import had dropped", built)
    return built


# --- re-attribution: the same durable job, with no file ---------------------------------------------

REATTRIBUTE = "reattribute"  # Import.source of a re-attribution job


def enqueue_reattribution(actor: User | None, locale: str = "en") -> Import:
    """Queue applying the current mappings and coverage to every case; a job already queued serves. Commits.

    A running one does not: it may have read the mappings before the change that asks for this one.
    """
    queued = db.session.scalar(select(Import).where(Import.source == REATTRIBUTE,
                                                    Import.status == ImportStatus.QUEUED.value).limit(1))
    if queued is not None:
        return queued
    job = Import(source=REATTRIBUTE, filename="", timezone=get_organisation().timezone[:64],
                 status=ImportStatus.QUEUED.value, rows_total=db.session.scalar(select(func.count(Case.id))) or 0,
                 started_by_id=actor.id if actor is not None else None, options=JobOptions(locale=locale).dumps(),
                 attempts=0)
    db.session.add(job)
    db.session.commit()
    return job


def run_reattribution(import_id: int, worker: str, *, resumed: bool = False,
                      stop: threading.Event | None = None) -> str:
    """Run a claimed re-attribution job over every case, a committed batch at a time, renewing its heartbeat.

    A worker that died leaves a job another one starts again from the first case (re-attribution is
    idempotent: what the first attempt changed is unchanged the second time); the rollups are then rebuilt.
    """
    days: set = set()
    counts = ingest.ImportProgress()

    def after_batch(examined: int, changed: int) -> None:
        counts.processed, counts.updated = examined, changed
        counts.unchanged = examined - changed
        counts.total = max(examined, counts.total)
        claimed = db.session.execute(
            update(Import).where(Import.id == import_id, Import.worker == worker,
                                 Import.status == ImportStatus.RUNNING.value)
            .values(rows_processed=examined, rows_updated=changed, rows_unchanged=examined - changed,
                    heartbeat_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            db.session.rollback()
            raise ingest.JobLost(import_id)
        db.session.commit()
        if stop is not None and stop.is_set():
            raise ingest.JobStopped(import_id)

    try:
        counts.total = db.session.scalar(select(Import.rows_total).where(Import.id == import_id)) or 0
        db.session.rollback()
        attribution.reattribute_cases(None, days=days, after_batch=after_batch)
        db.session.commit()
    except ingest.JobLost:
        db.session.rollback()
        ingest.refresh_rollups(days, rebuild=resumed)
        return "lost"
    except ingest.JobStopped:
        db.session.rollback()
        ingest._requeue(import_id, worker)
        return "stopped"
    except Exception:
        log.exception("Re-attribution %s failed", import_id)
        ingest.refresh_rollups(days, rebuild=resumed)
        return ingest._finish(import_id, worker, ImportStatus.FAILED,
                              _("The re-attribution stopped because of an unexpected error; the cases before it "
                                "follow the new mappings. Start it again."), counts)
    ingest.refresh_rollups(days, rebuild=resumed)
    counts.total = counts.processed
    return ingest._finish(import_id, worker, ImportStatus.DONE, "", counts)


def remove_orphan_files(min_age_seconds: float = ORPHAN_AGE_SECONDS) -> int:
    """Delete stored files no queued or running import owns (an upload whose request died before it was queued)."""
    folder = upload_dir()
    owned = {Path(path).name for path in db.session.scalars(
        select(Import.file_path).where(Import.status.in_(ACTIVE_IMPORT_STATUSES), Import.file_path.is_not(None)))}
    db.session.rollback()
    removed = 0
    now = time.time()
    for path in folder.glob("*.csv"):
        try:
            if path.name not in owned and now - path.stat().st_mtime >= min_age_seconds:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed


def cancel(import_id: int, actor: User) -> bool:
    """Cancel a queued or running job; False when it had ended already. Commits.

    A running job's worker notices at its next batch, rolls that batch back and stops; the batches
    committed before stay imported, as the message says.
    """
    changed = db.session.execute(
        update(Import).where(Import.id == import_id, Import.status.in_(ACTIVE_IMPORT_STATUSES))
        .values(status=ImportStatus.CANCELLED.value, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if changed != 1:
        return False
    job = db.session.get(Import, import_id)
    db.session.refresh(job)
    job.message = _("Cancelled by %(name)s after row %(rows)d; the rows before it were imported.",
                    name=actor.display_name, rows=job.rows_processed)[:1000]
    file_path = job.file_path
    db.session.commit()
    _remove_file(file_path)
    return True


def _remove_file(file_path: str | None) -> None:
    if file_path:
        try:
            Path(file_path).unlink(missing_ok=True)
        except OSError:
            log.exception("could not delete the stored import file %s", file_path)


@register_worker("imports")
def import_worker(app: Flask, stop: threading.Event) -> int:
    """The scheduler process's worker thread runs import jobs through this."""
    return run_pending_imports(stop=stop)
