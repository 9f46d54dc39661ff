"""Scheduler fixtures: jobs registered for one test only."""

import pytest

from app.scheduler.jobs import DEFAULT_MISFIRE_GRACE_SECONDS, JOBS, Job


@pytest.fixture
def register_job(monkeypatch):
    """`register_job("name", func, trigger="interval", minutes=5)` adds a job until the test ends."""

    def _register(name, func, trigger="cron", misfire_grace_time=DEFAULT_MISFIRE_GRACE_SECONDS, **trigger_args):
        job = Job(name=name, func=func, trigger=trigger, trigger_args=trigger_args,
                  misfire_grace_time=misfire_grace_time)
        monkeypatch.setitem(JOBS, name, job)
        return job

    return _register
