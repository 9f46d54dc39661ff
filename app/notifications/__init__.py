"""In-app notifications (the bell) with optional e-mail."""

from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

from app.notifications import jobs, views  # noqa: E402,F401
