"""Authentication rules: password checks, session invalidation and safe redirects."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from flask_login import login_user
from sqlalchemy import and_, exists, select

from app.auth.models import EndedSession
from app.extensions import db
from app.org.models import User
from app.timeutil import utcnow

SESSION_KEY = re.compile(r"[A-Za-z0-9_-]{22,64}")

# A hash to compare against when the email is unknown, so timing does not reveal accounts.
_DUMMY = User()
_DUMMY.set_password("no-such-account-placeholder")


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == User.normalize_email(email)))


def authenticate(email: str, password: str) -> User | None:
    """Return the active user whose email and password match, else None."""
    user = find_user_by_email(email)
    if user is None:
        _DUMMY.check_password(password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


def end_sessions(user: User) -> None:
    """Invalidate every session and remember cookie the user has."""
    user.session_version += 1
    db.session.flush()


def start_session(user: User, *, remember: bool = False) -> None:
    """Sign ``user`` in with a new session key (carried by the session and remember cookies alike)."""
    user.session_key = secrets.token_urlsafe(24)
    login_user(user, remember=remember)


def login_claims(login_id: str | None) -> tuple[int, int, str] | None:
    """(user id, session version, session key) of a well-formed login id ("<user id>:<session version>:<session
    key>"); None for anything else (including ids from before session keys)."""
    user_id, version, key = ((login_id or "").split(":") + ["", "", ""])[:3]
    if not (user_id.isascii() and user_id.isdigit() and len(user_id) <= 10 and version.isascii()
            and version.isdigit() and len(version) <= 10 and SESSION_KEY.fullmatch(key)):
        return None
    return int(user_id), int(version), key


def session_user_condition(user_id, version, key):
    """SQL condition: the user row a login id names is active, at that session version, and the session key was
    not signed out (values or bind parameters)."""
    return and_(
        User.id == user_id,
        User.active,
        User.session_version == version,
        ~exists().where(EndedSession.key == key),
    )


def load_session_user(login_id: str) -> User | None:
    """The active user a login id names, in one query that also checks the session was not signed out; None for
    anything else."""
    claims = login_claims(login_id)
    if claims is None:
        return None
    user = db.session.scalar(select(User).where(session_user_condition(*claims)))
    if user is None:
        return None
    user.session_key = claims[2]
    return user


def end_session(user: User, now=None) -> None:
    """End the session ``user`` was loaded for; other sessions of theirs go on. Flushes; the caller commits."""
    key = getattr(user, "session_key", None)
    if key and SESSION_KEY.fullmatch(key) and db.session.get(EndedSession, key) is None:
        db.session.add(EndedSession(key=key, user_id=user.id, ended_at=now or utcnow()))
        db.session.flush()


def is_safe_next(target: str | None) -> bool:
    """Accept only local absolute paths: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not isinstance(target, str) or len(target) > 2048:
        return False
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return False
    if not target.startswith("/") or target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc
