"""Quarterly reviews: each pod's quarter against its targets, frozen at sign-off, with next quarter's OKRs."""

from flask import Blueprint

bp = Blueprint("reviews", __name__, url_prefix="/reviews")

from app.reviews import demo, jobs, registration, views  # noqa: E402,F401
