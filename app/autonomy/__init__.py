"""Autonomy limits, the decision ledger, approvals and limit fitness."""

from flask import Blueprint

bp = Blueprint("autonomy", __name__, url_prefix="/autonomy")

from app.autonomy import access, contributions, demo, jobs, registration, views  # noqa: E402,F401
