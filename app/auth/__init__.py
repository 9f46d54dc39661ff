"""Sign-in, sign-out and the signed-in user's profile."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from app.auth import views  # noqa: E402,F401
