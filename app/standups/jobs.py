"""Stand-up jobs: make boards before stand-up, remind who has not posted, escalate old blockers."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from app.context import background_context
from app.scheduler.jobs import register
from app.standups import services


@register("standup_boards", trigger="interval", minutes=5)
def create_boards(app: Flask, now: datetime) -> str:
    with background_context(app):
        made = services.create_due_boards(now)
    return f"{made} stand-up boards created"


@register("standup_reminders", trigger="interval", minutes=5)
def remind(app: Flask, now: datetime) -> str:
    with background_context(app):
        sent = services.remind_missing(now)
    return f"{sent} stand-up reminders"


@register("standup_blocker_escalation", trigger="interval", minutes=30)
def escalate_blockers(app: Flask, now: datetime) -> str:
    with background_context(app):
        moved = services.escalate_stale_blockers(now)
    return f"{moved} blockers escalated"
