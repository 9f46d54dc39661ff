"""Authentication rules: password checks, session invalidation and safe redirects."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select

from app.extensions import db
from app.org.models import User

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


def change_password(actor: User, user: User, new_password: str) -> None:
    """Set a new password and end every other session of the user (their login ids stop matching)."""
    user.set_password(new_password)
    user.session_version += 1
    db.session.flush()


def end_sessions(user: User) -> None:
    """Invalidate every session and remember cookie the user has."""
    user.session_version += 1
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
