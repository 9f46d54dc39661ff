"""Customer outcomes: case imports, the one metric engine, targets and dashboards."""

from flask import Blueprint

bp = Blueprint("outcomes", __name__)

from app.outcomes import import_views, jobs, views  # noqa: E402,F401
