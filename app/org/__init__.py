"""Organisation: people, segments, lifecycle stages, pods, memberships and the coverage matrix."""

from flask import Blueprint

bp = Blueprint("org", __name__)

from app.org import views  # noqa: E402,F401
