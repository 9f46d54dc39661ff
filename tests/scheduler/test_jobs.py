"""The job registry: declared jobs, their triggers, and the housekeeping job."""

from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select

from app.extensions import db
from app.scheduler.jobs import JOBS, Job, build_trigger, housekeeping, register
from app.scheduler.models import JobRun


def test_housekeeping_is_registered_daily_at_a_quarter_past_three():
    job = JOBS["housekeeping"]

    assert job.func is housekeeping
    assert job.trigger == "cron"
    assert job.trigger_args == {"hour": 3, "minute": 15}
    trigger = build_trigger(job, "Europe/Madrid")
    assert isinstance(trigger, CronTrigger)
    start = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    assert trigger.get_next_fire_time(None, start).isoformat() == "2026-05-05T03:15:00+02:00"


def test_register_adds_a_job_in_one_line(monkeypatch):
    monkeypatch.setattr("app.scheduler.jobs.JOBS", jobs := {})

    @register("tick", trigger="interval", minutes=5, misfire_grace_time=60)
    def tick(app, now):
        return None

    assert jobs == {"tick": Job("tick", tick, "interval", {"minutes": 5}, 60)}


def test_register_refuses_a_duplicate_name_and_a_bad_trigger():
    with pytest.raises(ValueError, match="registered already"):
        register("housekeeping", hour=4)(lambda app, now: None)
    with pytest.raises(ValueError, match="trigger must be one of"):
        register("weekly-digest", trigger="weekly")(lambda app, now: None)
    with pytest.raises(ValueError):
        register("weekly-digest", hour=25)(lambda app, now: None)
    assert "weekly-digest" not in JOBS


def test_interval_slots_are_the_same_in_every_scheduler_process():
    job = Job("tick", lambda app, now: None, "interval", {"minutes": 5})
    first = build_trigger(job, "UTC").get_next_fire_time(None, datetime(2026, 5, 4, 10, 1, 10, tzinfo=UTC))
    second = build_trigger(job, "UTC").get_next_fire_time(None, datetime(2026, 5, 4, 10, 3, 40, tzinfo=UTC))

    assert first == second == datetime(2026, 5, 4, 10, 5, tzinfo=UTC)


def test_housekeeping_purges_old_job_runs(app):
    now = datetime(2026, 5, 4, 1, 15)
    for age in (100, 5):
        moment = now - timedelta(days=age)
        db.session.add(JobRun(job="housekeeping", scheduled_for=moment, started_at=moment, status="finished"))
    db.session.commit()

    assert housekeeping(app, now) == "1 old job runs deleted"
    db.session.commit()

    assert db.session.scalars(select(JobRun.scheduled_for)).all() == [now - timedelta(days=5)]
