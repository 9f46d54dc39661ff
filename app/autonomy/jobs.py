"""Autonomy jobs: escalate requests that wait too long; look for limits that no longer fit."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from app.autonomy import services
from app.context import background_context
from app.scheduler.jobs import register


@register("escalations", trigger="interval", minutes=15)
def escalate_requests(app: Flask, now: datetime) -> str:
    with background_context(app):
        moved = services.escalate_overdue(now)
    return f"{moved} requests escalated"


@register("fitness_scan", trigger="cron", hour=5, minute=40, misfire_grace_time=3600)
def limit_fitness(app: Flask, now: datetime) -> str:
    with background_context(app):
        created = services.scan_fitness(now)
    return f"{len(created)} limit suggestions"
