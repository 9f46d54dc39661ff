"""Create, read and e-mail notifications; messages are rendered in the reader's language."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from datetime import datetime
from email.message import EmailMessage

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from app.errors import ServiceError
from app.extensions import db
from app.formatting import name_in
from app.notifications.models import Notification
from app.org.models import User
from app.timeutil import utcnow
from app.validators import one_line

log = logging.getLogger("podium.notifications")

MAX_EMAIL_ATTEMPTS = 5  # tries before an e-mail is marked failed

KINDS: dict[str, object] = {
    "generic": _l("%(message)s"),
}


class NotificationError(ServiceError):
    """A notification rule refused what was asked (e.g. reading someone else's)."""


def register_kind(kind: str, message) -> None:
    """Let a feature declare a notification kind and its message (a lazy_gettext with %(name)s params)."""
    KINDS[kind] = message


def render_message(notification: Notification) -> str:
    template = KINDS.get(notification.kind, KINDS["generic"])
    text = str(template)
    # A catalog name stored with its names per language ({"base": ..., "es": ..., "it": ...}) reads in the
    # reader's language.
    params = {key: name_in(value, str(value.get("base", ""))) if isinstance(value, dict) else value
              for key, value in (notification.params or {}).items()}
    try:
        return text % params
    except (KeyError, TypeError, ValueError):
        return text


def notify(recipients: Iterable[User], kind: str, *, url: str, params: dict | None = None,
           now: datetime | None = None, email: bool = True) -> list[Notification]:
    """Tell people something happened; e-mail goes out later by the scheduler when SMTP is configured."""
    now = now or utcnow()
    wants_email = email and bool(current_app.config.get("MAIL_SERVER"))
    created = []
    seen: set[int] = set()
    for user in recipients:
        if user is None or user.id in seen or not user.active:
            continue
        seen.add(user.id)
        notification = Notification(user_id=user.id, kind=kind, params=params or {}, url=url, created_at=now,
                                    email_state="pending" if wants_email else "none")
        db.session.add(notification)
        created.append(notification)
    db.session.flush()
    return created


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Notification).where(Notification.user_id == user.id,
                                                             Notification.read_at.is_(None))
    ) or 0


def recent(user: User, limit: int = 50, offset: int = 0) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit).offset(offset)
        )
    )


def mark_read(actor: User, notification: Notification, now: datetime | None = None) -> None:
    """Mark one of the actor's own notifications read."""
    if notification.user_id != actor.id:
        raise NotificationError(_l("The page or item you asked for does not exist."), 404)
    if notification.read_at is None:
        notification.read_at = now or utcnow()
        db.session.flush()


def mark_all_read(actor: User, now: datetime | None = None) -> int:
    """Mark every unread notification of the actor read; returns how many changed."""
    result = db.session.execute(
        update(Notification).where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
    )
    return result.rowcount or 0


def _email(notification: Notification, sender: str) -> EmailMessage:
    """The e-mail for one notification, in its reader's language; the subject is always one line."""
    user = notification.user
    with force_locale(user.locale or "en"):
        text = render_message(notification)
        message = EmailMessage()
        message["From"] = sender
        message["To"] = one_line(user.email, 320)
        message["Subject"] = one_line("Podium: " + text, 130)
        link = url_for("notifications.open_notification", notification_id=notification.id, _external=True)
        message.set_content(f"{text}\n\n{link}\n")
    return message


def _record_failure(notification: Notification, exc: BaseException) -> None:
    notification.email_attempts = (notification.email_attempts or 0) + 1
    notification.email_error = one_line(f"{type(exc).__name__}: {exc}", 300)
    if notification.email_attempts >= MAX_EMAIL_ATTEMPTS:
        notification.email_state = "failed"
    log.warning("could not e-mail notification %s (attempt %s): %s", notification.id,
                notification.email_attempts, exc)


def send_pending_emails(now: datetime | None = None, batch: int = 200) -> int:
    """E-mail notifications waiting to be sent, each in its reader's language; returns how many were sent.

    A message that cannot be built or sent counts an attempt and keeps its reason; after MAX_EMAIL_ATTEMPTS it
    is marked failed. Messages tried least often go first, so a bad one never holds up the others."""
    config = current_app.config
    pending = list(
        db.session.scalars(select(Notification).options(joinedload(Notification.user))
                           .where(Notification.email_state == "pending")
                           .order_by(Notification.email_attempts, Notification.id).limit(batch))
    )
    if not pending:
        return 0
    if not config.get("MAIL_SERVER"):
        for notification in pending:
            notification.email_state = "none"
        db.session.flush()
        return 0
    sent = 0
    try:
        smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=20)
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("SMTP unavailable: %s", exc)
        return 0
    with smtp:
        for notification in pending:
            try:
                smtp.send_message(_email(notification, config["MAIL_FROM"]))
            except smtplib.SMTPServerDisconnected as exc:
                # The connection is gone: this message counts a try, the rest wait for the next run.
                _record_failure(notification, exc)
                break
            except Exception as exc:  # noqa: BLE001 - one bad message must never stop the others
                _record_failure(notification, exc)
                continue
            notification.email_state = "sent"
            notification.email_error = None
            sent += 1
    db.session.flush()
    return sent
