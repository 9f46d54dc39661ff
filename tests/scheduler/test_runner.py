"""Run-once job runs, the slot each scheduled run claims, and the scheduler's standby loop."""

import logging
import os
import signal
import threading
from datetime import UTC, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from app.extensions import db
from app.scheduler import runner
from app.scheduler.models import JobRun
from app.scheduler.runner import FileLock, SlotExecutor, build_scheduler, run_job, serve, start_in_process

SLOT = datetime(2026, 5, 4, 1, 15)
NOW = datetime(2026, 5, 4, 1, 15, 2)


def _runs() -> list[JobRun]:
    db.session.expire_all()
    return list(db.session.scalars(select(JobRun).order_by(JobRun.id)))


def test_run_job_claims_the_slot_once(app, register_job):
    calls = []
    register_job("tally", lambda app_, now: calls.append(now) or f"counted at {now:%H:%M:%S}")

    assert run_job(app, "tally", SLOT, now=NOW) == "finished"
    assert run_job(app, "tally", SLOT, now=NOW) == "skipped"

    assert calls == [NOW]
    [run] = _runs()
    assert (run.job, run.scheduled_for, run.status, run.detail) == ("tally", SLOT, "finished", "counted at 01:15:02")
    assert run.finished_at is not None and run.finished_at >= run.started_at


def test_run_job_runs_each_slot(app, register_job):
    register_job("tally", lambda app_, now: None)

    assert run_job(app, "tally", SLOT) == "finished"
    assert run_job(app, "tally", SLOT.replace(minute=16)) == "finished"

    assert [run.scheduled_for for run in _runs()] == [SLOT, SLOT.replace(minute=16)]


def test_a_failing_job_is_recorded_as_failed_and_its_work_rolled_back(app, register_job, caplog):
    def broken(app_, now):
        db.session.add(JobRun(job="side-effect", scheduled_for=now, started_at=now))
        db.session.flush()
        raise RuntimeError("mail server on fire")

    register_job("broken", broken)

    with caplog.at_level(logging.ERROR, logger="podium.scheduler"):
        assert run_job(app, "broken", SLOT, now=NOW) == "failed"

    [run] = _runs()
    assert run.status == "failed"
    assert run.detail.startswith("RuntimeError: mail server on fire")
    assert "Traceback" in run.detail
    assert run.finished_at is not None
    assert "job broken for 2026-05-04 01:15:00 failed" in caplog.text
    assert run_job(app, "broken", SLOT, now=NOW) == "skipped"


def test_run_job_refuses_an_unknown_job(app):
    with pytest.raises(LookupError, match="unknown job 'nope'"):
        run_job(app, "nope", SLOT)


def test_two_schedulers_racing_for_one_slot_run_the_job_once(app, register_job):
    calls = []
    register_job("tally", lambda app_, now: calls.append(now))
    start = threading.Barrier(2)
    statuses = []

    def fire():
        start.wait()
        statuses.append(run_job(app, "tally", SLOT))

    threads = [threading.Thread(target=fire) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert sorted(statuses) == ["finished", "skipped"]
    assert len(calls) == 1
    assert len(_runs()) == 1


def test_the_executor_passes_the_scheduled_fire_time_as_the_run_once_slot(app):
    executor = SlotExecutor(max_workers=1)
    executor.start(BackgroundScheduler(timezone="Europe/Madrid"), "default")
    fire_time = datetime(2026, 5, 4, 3, 15, tzinfo=ZoneInfo("Europe/Madrid"))
    job = SimpleNamespace(id="housekeeping", _jobstore_alias="default", func=runner._fire,
                          args=(app, "housekeeping"), kwargs={}, misfire_grace_time=None, max_instances=1)

    executor.submit_job(job, [fire_time])
    executor.shutdown(wait=True)

    [run] = _runs()
    assert (run.job, run.scheduled_for, run.status) == ("housekeeping", SLOT, "finished")


def test_build_scheduler_holds_every_job_without_overlap_and_catches_up_within_grace(app, register_job):
    register_job("tick", lambda app_, now: None, trigger="interval", minutes=5)
    madrid = ZoneInfo("Europe/Madrid")

    scheduler = build_scheduler(app, now=datetime(2026, 5, 4, 3, 40, tzinfo=madrid))

    housekeeping = scheduler.get_job("housekeeping")
    assert (housekeeping.coalesce, housekeeping.max_instances, housekeeping.misfire_grace_time) == (True, 1, 3600)
    assert housekeeping.executor == "default"
    assert housekeeping.next_run_time == datetime(2026, 5, 4, 3, 15, tzinfo=madrid)
    assert scheduler.get_job("tick").next_run_time == datetime(2026, 5, 4, 3, 35, tzinfo=madrid)
    later = build_scheduler(app, now=datetime(2026, 5, 4, 4, 30, tzinfo=madrid)).get_job("housekeeping")
    assert later.next_run_time == datetime(2026, 5, 5, 3, 15, tzinfo=madrid)
    assert not scheduler.running


class _ScriptedLock:
    def __init__(self, acquired, held=(), on_acquire=None):
        self.acquired, self.held_answers, self.on_acquire = list(acquired), list(held), on_acquire
        self.releases = 0

    def acquire(self):
        taken = self.acquired.pop(0)
        if self.on_acquire:
            self.on_acquire(len(self.acquired))
        return taken

    def held(self):
        return self.held_answers.pop(0)

    def release(self):
        self.releases += 1


class _FakeScheduler:
    def __init__(self, on_start=None):
        self.events, self.on_start = [], on_start

    def start(self):
        self.events.append("start")
        if self.on_start:
            self.on_start()

    def shutdown(self, wait=True):
        self.events.append(f"shutdown(wait={wait})")


def test_serve_waits_as_standby_while_another_scheduler_holds_the_lock(app, monkeypatch, caplog):
    stop = threading.Event()
    lock = _ScriptedLock([False, False, False], on_acquire=lambda left: left or stop.set())
    monkeypatch.setattr(runner, "build_scheduler", lambda app_: pytest.fail("a standby must not schedule"))

    with caplog.at_level(logging.INFO, logger="podium.scheduler"):
        serve(app, stop, lock, retry_seconds=0)

    assert lock.acquired == []
    assert caplog.text.count("another scheduler is running; waiting as standby") == 1


def test_serve_runs_the_scheduler_while_holding_the_lock_and_frees_it_on_stop(app, monkeypatch):
    stop = threading.Event()
    scheduler = _FakeScheduler(on_start=stop.set)
    monkeypatch.setattr(runner, "build_scheduler", lambda app_: scheduler)
    lock = _ScriptedLock([True])

    serve(app, stop, lock, check_seconds=0)

    assert scheduler.events == ["start", "shutdown(wait=True)"]
    assert lock.releases == 1


def test_serve_goes_back_to_standby_when_the_lock_is_lost(app, monkeypatch, caplog):
    stop = threading.Event()
    schedulers = []
    monkeypatch.setattr(runner, "build_scheduler", lambda app_: schedulers.append(_FakeScheduler()) or schedulers[-1])
    lock = _ScriptedLock([True, False], held=[True, False], on_acquire=lambda left: left or stop.set())

    with caplog.at_level(logging.INFO, logger="podium.scheduler"):
        serve(app, stop, lock, retry_seconds=0, check_seconds=0)

    assert [s.events for s in schedulers] == [["start", "shutdown(wait=True)"]]
    assert lock.releases == 1
    assert "lost the scheduler lock; back to standby" in caplog.text
    assert "waiting as standby" in caplog.text


def test_serve_uses_the_file_lock_on_sqlite(app, monkeypatch, tmp_path):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the file lock is the SQLite setup")
    path = tmp_path / "scheduler.lock"
    monkeypatch.setitem(app.config, "SCHEDULER_LOCK_FILE", str(path))
    holder = FileLock(path)
    assert holder.acquire()
    stop = threading.Event()
    attempts = []
    lock = runner.make_lock(app)
    original = lock.acquire

    def counting_acquire():
        attempts.append(original())
        stop.set()
        return attempts[-1]

    monkeypatch.setattr(lock, "acquire", counting_acquire)
    try:
        serve(app, stop, lock, retry_seconds=0)
    finally:
        holder.release()

    assert isinstance(lock, FileLock)
    assert attempts == [False]


def test_run_forever_stops_on_sigterm_and_restores_the_signal_handlers(app, monkeypatch):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can only be set from the main thread")
    seen = {}

    def fake_serve(app_, stop):
        os.kill(os.getpid(), signal.SIGTERM)
        seen["stopped"] = stop.wait(2)

    monkeypatch.setattr(runner, "serve", fake_serve)
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)

    runner.run_forever(app)

    assert seen == {"stopped": True}
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_start_in_process_never_starts_for_a_testing_app(app):
    assert app.config["SCHEDULER_IN_PROCESS"] is False
    assert start_in_process(app) is None
    assert not any(thread.name == "podium-scheduler" for thread in threading.enumerate())


def test_fire_turns_the_aware_fire_time_into_the_naive_utc_key(app, register_job):
    register_job("tally", lambda app_, now: None)

    assert runner._fire(app, "tally", datetime(2026, 5, 4, 1, 15, tzinfo=UTC)) == "finished"
    assert runner._fire(app, "tally", datetime(2026, 5, 4, 3, 15, tzinfo=ZoneInfo("Europe/Madrid"))) == "skipped"
