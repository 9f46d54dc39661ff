"""Scheduled jobs: a registry where each job is one decorated, thin function calling a service with `now`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from app.scheduler import services

JobFunc = Callable[[Flask, datetime], object]
# A queue worker runs what is waiting (e.g. import jobs) until none is left or the event is set; returns how many.
QueueWorker = Callable[[Flask, threading.Event], int]

DEFAULT_MISFIRE_GRACE_SECONDS = 300
INTERVAL_ANCHOR = datetime(2000, 1, 1, tzinfo=UTC)
TRIGGERS = ("cron", "interval")


@dataclass(frozen=True)
class Job:
    name: str
    func: JobFunc
    trigger: str
    trigger_args: dict[str, Any] = field(default_factory=dict)
    misfire_grace_time: int = DEFAULT_MISFIRE_GRACE_SECONDS


JOBS: dict[str, Job] = {}
WORKERS: dict[str, QueueWorker] = {}


def build_trigger(job: Job, timezone: str) -> BaseTrigger:
    """The APScheduler trigger of a job; cron fields are read in `timezone`.

    Interval triggers are anchored to a fixed instant, so every scheduler process fires the same slots
    and two of them firing one slot claim the same (job, scheduled_for) key.
    """
    if job.trigger == "cron":
        return CronTrigger(timezone=timezone, **job.trigger_args)
    if job.trigger == "interval":
        return IntervalTrigger(timezone=timezone, **{"start_date": INTERVAL_ANCHOR, **job.trigger_args})
    raise ValueError(f"job {job.name!r}: trigger must be one of {', '.join(TRIGGERS)}, not {job.trigger!r}")


def register(name: str, trigger: str = "cron", *, misfire_grace_time: int = DEFAULT_MISFIRE_GRACE_SECONDS,
             **trigger_args: Any) -> Callable[[JobFunc], JobFunc]:
    """Declare a job in one line: `@register("housekeeping", trigger="cron", hour=3, minute=15)`."""

    def decorator(func: JobFunc) -> JobFunc:
        if name in JOBS:
            raise ValueError(f"job {name!r} is registered already")
        job = Job(name=name, func=func, trigger=trigger, trigger_args=dict(trigger_args),
                  misfire_grace_time=misfire_grace_time)
        build_trigger(job, "UTC")
        JOBS[name] = job
        return func

    return decorator


def register_worker(name: str) -> Callable[[QueueWorker], QueueWorker]:
    """Declare a queue worker, polled by the scheduler process's worker thread: `@register_worker("imports")`."""

    def decorator(func: QueueWorker) -> QueueWorker:
        if name in WORKERS:
            raise ValueError(f"queue worker {name!r} is registered already")
        WORKERS[name] = func
        return func

    return decorator


@register("housekeeping", trigger="cron", hour=3, minute=15, misfire_grace_time=3600)
def housekeeping(app: Flask, now: datetime) -> str:
    """Nightly tidy-up: deletes job-run records older than 90 days so the run-once ledger stays small."""
    return f"{services.purge_job_runs(now)} old job runs deleted"
