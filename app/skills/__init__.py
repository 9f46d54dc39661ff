"""Skills matrix per pod: who can resolve which request types and channels, where a pod depends on one person,
what it hands off for lack of skills, who can mentor, and which skills today's stand-up lacks."""

from flask import Blueprint

bp = Blueprint("skills", __name__)

from app.skills import access, contributions, demo, registration, views  # noqa: E402,F401
