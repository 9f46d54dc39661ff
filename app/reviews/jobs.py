"""Review jobs: draft every pod's review in the last two weeks of a quarter."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from app.context import background_context
from app.reviews import services
from app.scheduler.jobs import register


@register("draft_reviews", trigger="cron", hour=6, minute=10, misfire_grace_time=3600)
def draft_next_reviews(app: Flask, now: datetime) -> str:
    with background_context(app):
        created = services.draft_next_reviews(now)
    return f"{created} reviews drafted"
