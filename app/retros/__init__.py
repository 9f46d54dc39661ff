"""Retrospectives: facilitated phases, anonymous cards, dot voting and action items with measured effect."""

from flask import Blueprint

bp = Blueprint("retros", __name__)

from app.retros import contributions, demo, jobs, registration, views  # noqa: E402,F401
