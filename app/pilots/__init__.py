"""Pilots: where to start moving to pods, and pilots measured against the rest (difference in differences)."""

from flask import Blueprint

bp = Blueprint("pilots", __name__)

from app.pilots import access, contributions, demo, registration, views  # noqa: E402,F401
