"""Demo API tokens, so the admins' token page shows what a live installation looks like."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from app.api.auth import create_token, revoke_token
from app.demo.org_data import ADMIN_EMAIL, LEADER_EMAIL
from app.extension_points import demo_step
from app.extensions import db
from app.org.models import User

# (name, acting user, created days ago, last used days ago or None, revoked days ago or None)
TOKENS = (
    ("BI warehouse – nightly metrics", LEADER_EMAIL, 120, 0, None),
    ("CRM case sync", ADMIN_EMAIL, 60, 0, None),
    ("Old Freshdesk bridge", ADMIN_EMAIL, 200, 95, 90),
)


@demo_step(80, "api tokens")
def load_demo_tokens(now: datetime) -> None:
    users = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_([ADMIN_EMAIL, LEADER_EMAIL])))}
    admin = users.get(ADMIN_EMAIL)
    for name, email, created, used, revoked in TOKENS:
        user = users.get(email)
        if user is None:
            continue
        token, _secret = create_token(user, name, created_by=admin)  # the secrets are thrown away
        token.created_at = now - timedelta(days=created)
        token.last_used_at = None if used is None else now - timedelta(days=used, hours=3)
        if revoked is not None:
            revoke_token(token, admin, now=now - timedelta(days=revoked))
