"""Ended sign-in sessions: sign-out ends that one session on the server, whatever copies of its cookie exist."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.timeutil import utcnow


class EndedSession(db.Model):
    """A session key that signed out. Every sign-in gets a random key carried in its login id (session cookie
    and remember cookie alike); the user loader refuses a key listed here, so other devices stay signed in."""

    __tablename__ = "auth_ended_sessions"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    ended_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
