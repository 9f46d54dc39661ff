"""The demo step gives the admins' token page live, used and revoked tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.api.demo import load_demo_tokens
from app.api.models import ApiToken
from app.demo.org_data import ADMIN_EMAIL, LEADER_EMAIL
from app.extensions import db


def test_demo_tokens(make_user):
    make_user("admin", email=ADMIN_EMAIL)
    make_user("leader", email=LEADER_EMAIL)
    now = datetime(2026, 10, 1, 9)
    load_demo_tokens(now)
    db.session.commit()
    tokens = list(db.session.scalars(select(ApiToken)))
    assert len(tokens) == 3
    assert sum(t.revoked_at is not None for t in tokens) == 1
    assert all(t.created_at < now and (t.last_used_at is None or t.last_used_at < now) for t in tokens)
    assert {t.user.email for t in tokens} == {ADMIN_EMAIL, LEADER_EMAIL}
