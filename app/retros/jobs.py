"""Retro jobs: remind owners of retro actions that are due soon or overdue."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from app.context import background_context
from app.retros import services
from app.scheduler.jobs import register


@register("retro_action_reminders", trigger="cron", hour=8, minute=5, misfire_grace_time=3600)
def remind_retro_action_owners(app: Flask, now: datetime) -> str:
    with background_context(app):
        sent = services.remind_action_owners(now)
    return f"{sent} retro action reminders"
