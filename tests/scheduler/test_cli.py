"""`flask scheduler list` and `flask scheduler run-job`."""

import re
from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.scheduler.models import JobRun


def test_list_shows_each_job_with_its_trigger_and_next_fire_time(runner):
    result = runner.invoke(args=["scheduler", "list"])

    assert result.exit_code == 0, result.output
    assert re.search(r"^housekeeping +cron\[hour='3', minute='15'\]  next ", result.output, re.M)
    assert "last never run" in result.output


def test_run_job_runs_a_job_now_once_per_minute(runner, monkeypatch):
    monkeypatch.setattr("app.scheduler.cli.utcnow", lambda: datetime(2026, 5, 4, 9, 41, 27))

    first = runner.invoke(args=["scheduler", "run-job", "housekeeping"])
    second = runner.invoke(args=["scheduler", "run-job", "housekeeping"])
    listing = runner.invoke(args=["scheduler", "list"])

    assert first.exit_code == 0, first.output
    assert first.output == "housekeeping for 2026-05-04 09:41 UTC: finished (0 old job runs deleted)\n"
    assert second.output == ("housekeeping for 2026-05-04 09:41 UTC: skipped "
                             "(a run for this minute is recorded already: finished)\n")
    assert "last finished for 2026-05-04 09:41 UTC" in listing.output
    [run] = db.session.scalars(select(JobRun)).all()
    assert (run.job, run.scheduled_for, run.status) == ("housekeeping", datetime(2026, 5, 4, 9, 41), "finished")


def test_run_job_reports_a_failure_with_a_non_zero_exit(runner, register_job):
    def broken(app, now):
        raise RuntimeError("no SMTP today")

    register_job("broken", broken)

    result = runner.invoke(args=["scheduler", "run-job", "broken"])

    assert result.exit_code == 1
    assert "broken for" in result.output and "failed (RuntimeError: no SMTP today)" in result.output


def test_run_job_refuses_an_unknown_job(runner):
    result = runner.invoke(args=["scheduler", "run-job", "nope"])

    assert result.exit_code == 2
    assert "unknown job 'nope'" in result.output
    assert db.session.scalars(select(JobRun)).all() == []
