"""The autonomy jobs run through the scheduler's run-once ledger and commit their work."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.autonomy.models import Decision
from app.extensions import db
from app.scheduler.models import JobRun
from app.scheduler.runner import run_job


def test_escalation_and_fitness_jobs(app, team, set_limit, log):
    set_limit(per_case=100)
    set_limit(per_case=20000, role="coach")
    decision = log(amount="60.00", now=datetime(2026, 3, 9, 9, 0))  # Monday 10:00 Madrid
    assert run_job(app, "escalations", datetime(2026, 3, 10, 9, 0), now=datetime(2026, 3, 10, 9, 0)) == "finished"
    assert run_job(app, "fitness_scan", datetime(2026, 3, 10, 4, 40), now=datetime(2026, 3, 10, 4, 40)) \
        == "finished"
    db.session.expire_all()
    assert db.session.get(Decision, decision.id).approver_level == "leader"
    details = dict(db.session.execute(select(JobRun.job, JobRun.detail)).all())
    assert details == {"escalations": "1 requests escalated", "fitness_scan": "0 limit suggestions"}
