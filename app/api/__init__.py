"""JSON API under /api/v1 with bearer-token auth."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from app.api import admin, demo, pilots, registration, skills, views  # noqa: E402,F401
