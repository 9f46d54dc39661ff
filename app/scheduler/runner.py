"""Run each job once per slot, and keep exactly one scheduler running behind a file or PostgreSQL lock."""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import signal
import threading
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from app.extensions import db
from app.scheduler.jobs import JOBS, WORKERS, build_trigger
from app.scheduler.models import JobRun
from app.timeutil import utcnow

log = logging.getLogger("podium.scheduler")

RunStatus = Literal["finished", "failed", "skipped"]

ADVISORY_LOCK_KEY = int.from_bytes(b"podium", "big")
STANDBY_RETRY_SECONDS = 5.0
LOCK_CHECK_SECONDS = 10.0
WORKER_POLL_SECONDS = 2.0
MAX_DETAIL_CHARS = 8000


def run_job(app: Flask, name: str, scheduled_for: datetime, now: datetime | None = None) -> RunStatus:
    """Run a job for one slot at most once, however many schedulers fire it, and record the outcome.

    The claim is the INSERT of a JobRun under the unique (job, scheduled_for) key: the first to commit
    it runs the job, any other caller gets "skipped". The job's work commits together with the
    "finished" mark; a failure rolls the work back and records "failed" with the error, without raising.
    `scheduled_for` is the slot (naive UTC, or aware and converted); the job sees `now`, by default the
    real time it starts.
    """
    job = JOBS.get(name)
    if job is None:
        raise LookupError(f"unknown job {name!r}")
    if scheduled_for.tzinfo is not None:
        scheduled_for = scheduled_for.astimezone(UTC).replace(tzinfo=None)
    with app.app_context():
        started = utcnow()
        run = JobRun(job=name, scheduled_for=scheduled_for, started_at=started, status="running", detail="")
        db.session.add(run)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            log.info("job %s for %s already claimed; skipped", name, scheduled_for)
            return "skipped"
        try:
            detail = _describe(job.func(app, now or started))
            run.status, run.detail, run.finished_at = "finished", detail, utcnow()
            db.session.commit()
        except Exception as exc:
            log.exception("job %s for %s failed", name, scheduled_for)
            _record_failure(run, name, exc)
            return "failed"
    log.info("job %s for %s finished: %s", name, scheduled_for, detail)
    return "finished"


def _describe(result: object) -> str:
    return "" if result is None else str(result)[:MAX_DETAIL_CHARS]


def _record_failure(run: JobRun, name: str, exc: Exception) -> None:
    db.session.rollback()
    trace = "".join(traceback.format_exception(exc))
    run.status, run.finished_at = "failed", utcnow()
    run.detail = f"{type(exc).__name__}: {exc}\n\n{trace}"[:MAX_DETAIL_CHARS]
    try:
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("could not record the failure of job %s", name)


def _fire(app: Flask, name: str, scheduled_for: datetime | None = None) -> RunStatus:
    return run_job(app, name, scheduled_for or utcnow().replace(second=0, microsecond=0))


class _Firing:
    """A job as APScheduler's run_job sees it, with the slot it fires for added to its kwargs."""

    def __init__(self, job: Any, scheduled_for: datetime) -> None:
        self._job = job
        self.kwargs = {**job.kwargs, "scheduled_for": scheduled_for}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._job, name)

    def __str__(self) -> str:
        return str(self._job)


class SlotExecutor(ThreadPoolExecutor):
    """A thread pool that passes each run its scheduled fire time, the slot the run-once key is made of."""

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        super()._do_submit_job(_Firing(job, run_times[-1]), run_times)


def scheduler_timezone(app: Flask) -> str:
    return app.config.get("ORG_TIMEZONE") or "UTC"


def build_scheduler(app: Flask, now: datetime | None = None) -> BackgroundScheduler:
    """An unstarted scheduler holding every registered job.

    Runs coalesce, never overlap, and a slot missed by less than its grace time (a restart, a standby
    taking over) still runs; the run-once key skips it if the previous scheduler ran it already.
    """
    timezone = scheduler_timezone(app)
    now = now or datetime.now(UTC)
    scheduler = BackgroundScheduler(executors={"default": SlotExecutor(max_workers=4)}, timezone=timezone)
    for job in JOBS.values():
        trigger = build_trigger(job, timezone)
        scheduler.add_job(
            _fire, trigger, args=(app, job.name), id=job.name, name=job.name,
            coalesce=True, max_instances=1, misfire_grace_time=job.misfire_grace_time,
            next_run_time=trigger.get_next_fire_time(None, now - timedelta(seconds=job.misfire_grace_time)),
        )
    return scheduler


class SchedulerLock(Protocol):
    def acquire(self) -> bool: ...

    def held(self) -> bool: ...

    def release(self) -> None: ...


class FileLock:
    """An exclusive, non-blocking flock on a file: one scheduler per host, for the embedded SQLite setup."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock held on its own connection: one scheduler per database.

    The connection is outside any pool, so closing it, or the process dying, always frees the lock.
    """

    def __init__(self, url: URL | str, key: int = ADVISORY_LOCK_KEY) -> None:
        self.key = key
        self._engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self._conn: Connection | None = None

    def acquire(self) -> bool:
        if self._conn is not None:
            return True
        try:
            conn = self._engine.connect()
        except SQLAlchemyError as exc:
            log.warning("cannot reach the database for the scheduler lock: %s", exc)
            return False
        try:
            taken = conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
        except SQLAlchemyError as exc:
            log.warning("cannot take the scheduler lock: %s", exc)
            taken = False
        if not taken:
            self._close(conn)
            return False
        self._conn = conn
        return True

    def held(self) -> bool:
        if self._conn is None:
            return False
        try:
            self._conn.scalar(text("SELECT 1"))
        except SQLAlchemyError:
            conn, self._conn = self._conn, None
            self._close(conn)
            return False
        return True

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(SQLAlchemyError):
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        self._close(conn)

    @staticmethod
    def _close(conn: Connection) -> None:
        with contextlib.suppress(SQLAlchemyError):
            conn.close()


def make_lock(app: Flask) -> SchedulerLock:
    """The advisory lock on PostgreSQL, else the file lock at SCHEDULER_LOCK_FILE."""
    with app.app_context():
        url = db.engine.url
    if url.get_backend_name() == "postgresql":
        return AdvisoryLock(url)
    return FileLock(app.config["SCHEDULER_LOCK_FILE"])


def serve(app: Flask, stop: threading.Event, lock: SchedulerLock | None = None, *,
          retry_seconds: float = STANDBY_RETRY_SECONDS, check_seconds: float = LOCK_CHECK_SECONDS) -> None:
    """Hold the scheduler lock and run every job until `stop` is set; without the lock, wait as standby."""
    lock = lock or make_lock(app)
    standby = False
    while not stop.is_set():
        if not lock.acquire():
            if not standby:
                log.info("another scheduler is running; waiting as standby")
                standby = True
            stop.wait(retry_seconds)
            continue
        standby = False
        try:
            _run_scheduler(app, stop, lock, check_seconds)
        finally:
            lock.release()


def work_queues(app: Flask, stop: threading.Event, poll_seconds: float = WORKER_POLL_SECONDS) -> None:
    """The worker thread: run every registered queue worker (import jobs …) until `stop`, polling when idle.

    Queued work runs here, in the scheduler process, never in web workers. A worker's failure is logged
    and the loop goes on; `stop` is handed to the workers so a running job stops at its next batch.
    """
    while not stop.is_set():
        ran = 0
        for name, func in list(WORKERS.items()):
            if stop.is_set():
                break
            with app.app_context():
                try:
                    ran += func(app, stop) or 0
                except Exception:
                    log.exception("queue worker %s failed", name)
                finally:
                    db.session.remove()
        if not ran:
            stop.wait(poll_seconds)


def _run_scheduler(app: Flask, stop: threading.Event, lock: SchedulerLock, check_seconds: float) -> None:
    scheduler = build_scheduler(app)
    scheduler.start()
    worker_stop = threading.Event()
    worker = threading.Thread(target=work_queues, args=(app, worker_stop), name="podium-worker", daemon=True)
    worker.start()
    log.info("scheduler lock taken; running jobs: %s; queue workers: %s", ", ".join(JOBS) or "none",
             ", ".join(WORKERS) or "none")
    try:
        while not stop.wait(check_seconds):
            if not lock.held():
                log.warning("lost the scheduler lock; back to standby")
                return
    finally:
        worker_stop.set()
        scheduler.shutdown(wait=True)
        worker.join(60)
        log.info("scheduler stopped")


def run_forever(app: Flask) -> None:
    """`flask scheduler run`: serve in the foreground until SIGTERM or SIGINT, then free the lock."""
    stop_in_process()
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        log.info("%s received; stopping the scheduler", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        serve(app, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


_in_process: tuple[threading.Thread, threading.Event] | None = None
_in_process_guard = threading.Lock()


def start_in_process(app: Flask) -> threading.Thread | None:
    """For `make run`: serve from a daemon thread of the web process, which never waits for the lock.

    Started by create_app only when SCHEDULER_IN_PROCESS is set, never for a testing app, and at most
    once per process; without the lock the thread waits as standby.
    """
    global _in_process
    if app.testing:
        return None
    with _in_process_guard:
        if _in_process is not None and _in_process[0].is_alive():
            return _in_process[0]
        stop = threading.Event()
        thread = threading.Thread(target=serve, args=(app, stop), name="podium-scheduler", daemon=True)
        thread.start()
        _in_process = (thread, stop)
    return thread


def stop_in_process(timeout: float = 10.0) -> None:
    """Stop the in-process scheduler thread, if this process runs one, and free its lock."""
    global _in_process
    with _in_process_guard:
        running, _in_process = _in_process, None
    if running is None:
        return
    thread, stop = running
    stop.set()
    thread.join(timeout)


atexit.register(stop_in_process)
