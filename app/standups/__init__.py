"""Daily stand-up boards: entries, blockers that carry over, walking the board, reminders."""

from flask import Blueprint

bp = Blueprint("standups", __name__)

from app.standups import contributions, demo, jobs, registration, views  # noqa: E402,F401
