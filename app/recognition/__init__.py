"""Recognition tied to customer outcomes: kudos that cite evidence, suggestions from the data, alignment."""

from flask import Blueprint

bp = Blueprint("recognition", __name__, url_prefix="/recognition")

from app.recognition import contributions, demo, registration, views  # noqa: E402,F401
