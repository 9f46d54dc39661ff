"""Scheduler services: trimming and reading the job-run ledger."""

from datetime import datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.scheduler.models import JobRun
from app.scheduler.services import latest_job_runs, purge_job_runs

NOW = datetime(2026, 5, 4, 3, 15)


def _run(job: str, scheduled_for: datetime, status: str = "finished") -> JobRun:
    run = JobRun(job=job, scheduled_for=scheduled_for, started_at=scheduled_for, status=status)
    db.session.add(run)
    return run


def test_purge_job_runs_deletes_only_runs_older_than_the_kept_days():
    _run("housekeeping", NOW - timedelta(days=120))
    _run("digest", NOW - timedelta(days=90, minutes=1), status="failed")
    _run("housekeeping", NOW - timedelta(days=90))
    _run("housekeeping", NOW - timedelta(days=1))
    db.session.commit()

    assert purge_job_runs(NOW) == 2
    db.session.commit()

    kept = db.session.scalars(select(JobRun.scheduled_for).order_by(JobRun.scheduled_for)).all()
    assert kept == [NOW - timedelta(days=90), NOW - timedelta(days=1)]


def test_purge_job_runs_honours_keep_days_and_leaves_the_commit_to_the_caller():
    _run("housekeeping", NOW - timedelta(days=8))
    _run("housekeeping", NOW - timedelta(days=6))
    db.session.commit()

    assert purge_job_runs(NOW, keep_days=7) == 1
    db.session.rollback()

    assert len(db.session.scalars(select(JobRun)).all()) == 2


def test_latest_job_runs_gives_the_most_recent_run_of_each_job():
    _run("housekeeping", NOW - timedelta(days=2))
    _run("housekeeping", NOW - timedelta(days=1), status="failed")
    _run("digest", NOW - timedelta(hours=1))
    db.session.commit()

    latest = latest_job_runs()

    assert {name: (run.scheduled_for, run.status) for name, run in latest.items()} == {
        "housekeeping": (NOW - timedelta(days=1), "failed"),
        "digest": (NOW - timedelta(hours=1), "finished"),
    }
