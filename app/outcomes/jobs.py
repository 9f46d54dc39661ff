"""Outcome jobs: catch the rollups up with days a long writer queued and did not refresh itself."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import exists, select

from app.context import background_context
from app.extensions import db
from app.outcomes import rollups
from app.outcomes.models import Import, ImportStatus
from app.scheduler.jobs import register

# An import whose heartbeat is older than this is not running any more (its worker died).
LIVE_HEARTBEAT = timedelta(minutes=5)


@register("outcome_rollups", trigger="interval", minutes=5)
def refresh_queued_rollups(app: Flask, now: datetime) -> str:
    """Refresh the queued days (an import that failed or died before its end refreshed them); an import still
    running refreshes its own days when it ends."""
    with background_context(app):
        running = db.session.scalar(select(exists().where(
            Import.status == ImportStatus.RUNNING.value, Import.heartbeat_at >= now - LIVE_HEARTBEAT)))
        if running:
            return "an import is running"
        days = rollups.refresh_queued()
    return f"{days} days refreshed"
