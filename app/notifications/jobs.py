"""Notification jobs: e-mail what is waiting, when SMTP settings are present."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from app.context import background_context
from app.notifications.services import send_pending_emails
from app.scheduler.jobs import register


@register("send_emails", trigger="interval", minutes=1)
def send_emails(app: Flask, now: datetime) -> str:
    # Links in e-mails are absolute: build them against the public address, as a request would.
    with background_context(app):
        sent = send_pending_emails(now)
    return f"{sent} e-mails sent"
