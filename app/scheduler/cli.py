"""`flask scheduler ...`: the single scheduler process, the job list, and running one job now."""

import logging
from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.extensions import db
from app.scheduler.jobs import JOBS, build_trigger
from app.scheduler.models import JobRun
from app.scheduler.runner import run_forever, run_job, scheduler_timezone
from app.scheduler.services import latest_job_runs
from app.timeutil import utcnow

scheduler_cli = AppGroup("scheduler", help="Scheduled jobs.")


@scheduler_cli.command("run")
def run_command():
    """Run the scheduler in the foreground; a second one waits as a standby."""

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_forever(current_app._get_current_object())


@scheduler_cli.command("list")
def list_command():
    """Show each registered job, its trigger, its next fire time and its last run."""

    timezone = scheduler_timezone(current_app)
    now = datetime.now(UTC)
    last_runs = latest_job_runs()
    width = max((len(name) for name in JOBS), default=0)
    for job in JOBS.values():
        trigger = build_trigger(job, timezone)
        next_fire = trigger.get_next_fire_time(None, now)
        next_text = f"{next_fire:%Y-%m-%d %H:%M %Z}" if next_fire else "never"
        last = last_runs.get(job.name)
        last_text = f"{last.status} for {last.scheduled_for:%Y-%m-%d %H:%M} UTC" if last else "never run"
        click.echo(f"{job.name:<{width}}  {trigger}  next {next_text}  last {last_text}")


@scheduler_cli.command("run-job")
@click.argument("name")
def run_job_command(name):
    """Run one job now, for the current minute; a run already recorded for that minute is skipped."""

    if name not in JOBS:
        raise click.BadParameter(f"unknown job {name!r}; `flask scheduler list` shows the jobs", param_hint="NAME")
    scheduled_for = utcnow().replace(second=0, microsecond=0)
    status = run_job(current_app._get_current_object(), name, scheduled_for)
    run = db.session.scalar(select(JobRun).where(JobRun.job == name, JobRun.scheduled_for == scheduled_for))
    detail = run.detail.splitlines()[0] if run and run.detail else ""
    if status == "skipped":
        detail = "a run for this minute is recorded already" + (f": {run.status}" if run else "")
    message = f"{name} for {scheduled_for:%Y-%m-%d %H:%M} UTC: {status}" + (f" ({detail})" if detail else "")
    if status == "failed":
        raise click.ClickException(message)
    click.echo(message)
