"""Token services (create, revoke) and bearer authentication for the JSON API.

A token is `pdm_` + 43 URL-safe characters (256 random bits). Only its SHA-256 hash is stored: with a
secret of that entropy a plain hash is as strong as a slow one, and it lets a request find its token with
one indexed lookup instead of checking every stored hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps

from flask import g, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from app.api.models import ApiToken
from app.errors import ServiceError
from app.extensions import db
from app.org.models import User
from app.timeutil import utcnow

TOKEN_PREFIX = "pdm_"
SHOWN_PREFIX_LENGTH = len(TOKEN_PREFIX) + 6
NAME_LIMIT = 80
# last_used_at is written at most once a minute per token, so busy clients cost no extra writes.
LAST_USED_GRANULARITY = timedelta(minutes=1)
REALM = 'Bearer realm="Podium API"'


TOKEN_ERRORS = {
    "name_required": _l("Give the token a name."),
    "name_too_long": _l("The name is too long."),
    "inactive_user": _l("This person's account is deactivated."),
}


class TokenError(ServiceError, ValueError):
    """A token that cannot be created or revoked: ``code`` names the reason (the CLI words it its own way), the
    message says it on the admin page (400)."""

    status = 400

    def __init__(self, code: str) -> None:
        super().__init__(TOKEN_ERRORS.get(code, code), code=code)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(user: User, name: str, created_by: User | None = None) -> tuple[ApiToken, str]:
    """A new token acting as `user`; returns it with its secret, which is never stored nor shown again.

    Flushes; the caller commits.
    """
    name = " ".join((name or "").split())
    if not name:
        raise TokenError("name_required")
    if len(name) > NAME_LIMIT:
        raise TokenError("name_too_long")
    if not user.active:
        raise TokenError("inactive_user")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, user_id=user.id, prefix=secret[:SHOWN_PREFIX_LENGTH], token_hash=hash_secret(secret),
                     created_at=utcnow(), created_by_id=created_by.id if created_by is not None else None)
    db.session.add(token)
    db.session.flush()
    return token, secret


def revoke_token(token: ApiToken, revoked_by: User | None, now: datetime | None = None) -> bool:
    """Revoke a token at once; False when it was revoked already. Flushes; the caller commits."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = now or utcnow()
    token.revoked_by_id = revoked_by.id if revoked_by is not None else None
    db.session.flush()
    return True


# --- requests -------------------------------------------------------------------------------------


def json_error(status: int, error: str, message: str, headers: dict[str, str] | None = None):
    response = jsonify({"error": error, "message": message})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _unauthorized(message: str, invalid: bool):
    challenge = REALM + (', error="invalid_token"' if invalid else "")
    return json_error(401, "unauthorized", message, {"WWW-Authenticate": challenge})


def _bearer_secret() -> tuple[str | None, str | None]:
    """(secret, None) from the Authorization header, or (None, problem) when it is missing or malformed."""
    header = request.headers.get("Authorization", "")
    if not header.strip():
        return None, "missing"
    scheme, _sep, secret = header.strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret or " " in secret:
        return None, "malformed"
    return secret, None


def authenticate(now: datetime | None = None) -> ApiToken | None:
    """The live token the request carries (with its active user loaded), or None."""
    secret, _problem = _bearer_secret()
    if secret is None or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    digest = hash_secret(secret)
    found = db.session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.token_hash == digest)
    ).first()
    if found is None:
        return None
    token, user = found
    if not hmac.compare_digest(token.token_hash, digest) or token.revoked_at is not None or not user.active:
        return None
    _touch(token, now or utcnow())
    return token


def _touch(token: ApiToken, now: datetime) -> None:
    """Record when the token was last used: one small UPDATE at most once a minute, committed at once."""
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_GRANULARITY:
        return
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.id == token.id,
               or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - LAST_USED_GRANULARITY))
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


_REQUEST_TOKEN = "podium.api_token"


def request_token() -> ApiToken | None:
    """The live token of this request, authenticated once per request (the rate-limit key and the view share it)."""
    environ = request.environ
    if _REQUEST_TOKEN not in environ:
        environ[_REQUEST_TOKEN] = authenticate()
    return environ[_REQUEST_TOKEN]


def token_required(view: Callable) -> Callable:
    """Run the view as the token's user (`g.api_user`), or answer 401 with a Bearer challenge."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        g.pop("api_user", None)
        g.pop("api_token", None)
        _secret, problem = _bearer_secret()
        if problem == "missing":
            return _unauthorized(_("Send an API token: Authorization: Bearer <token>."), invalid=False)
        if problem == "malformed":
            return _unauthorized(_("The Authorization header must be “Bearer <token>”."), invalid=True)
        token = request_token()
        if token is None:
            return _unauthorized(_("The API token is not valid: it is unknown, revoked, or its user is "
                                   "deactivated."), invalid=True)
        g.api_token = token
        g.api_user = token.user
        return view(*args, **kwargs)

    return wrapped


def forbidden(message: str | None = None):
    return json_error(403, "forbidden", message or _("This token's user is not allowed to do this."))
