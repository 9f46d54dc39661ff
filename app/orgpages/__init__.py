"""The organisation's pages (people, segments, stages, pods, memberships, coverage): app.org's rules behind
app.permissions. The blueprint keeps the name "org", so its endpoints and URLs are unchanged."""

from flask import Blueprint

bp = Blueprint("org", __name__)

from app.orgpages import views  # noqa: E402,F401
