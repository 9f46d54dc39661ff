"""Scheduler upkeep: read and trim the run-once ledger of job runs."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from app.extensions import db
from app.scheduler.models import JobRun


def purge_job_runs(now: datetime, keep_days: int = 90) -> int:
    """Delete job runs started more than `keep_days` before `now`; returns how many were deleted.

    Every scheduled run leaves a JobRun row whose unique (job, scheduled_for) key stops a second
    scheduler from running the same slot. Long after a slot's misfire grace time the row guards
    nothing, so the ledger is trimmed instead of growing forever. Leaves the commit to the caller.
    """
    cutoff = now - timedelta(days=keep_days)
    result = db.session.execute(delete(JobRun).where(JobRun.started_at < cutoff))
    return result.rowcount or 0


def latest_job_runs() -> dict[str, JobRun]:
    """The most recent run of each job that has run, by job name."""
    latest = (
        select(JobRun.job, func.max(JobRun.scheduled_for).label("scheduled_for")).group_by(JobRun.job).subquery()
    )
    runs = db.session.scalars(
        select(JobRun).join(latest, (JobRun.job == latest.c.job) & (JobRun.scheduled_for == latest.c.scheduled_for))
    )
    return {run.job: run for run in runs}
