"""One way for code outside a web request (scheduled jobs, the demo loader, CLI commands) to get a request
context: links built against the public address, and gettext answering in a chosen language."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app
from flask_babel import force_locale


@contextmanager
def background_context(app: Flask | None = None, locale: str | None = None) -> Iterator[None]:
    """A request context against BASE_URL (so url_for gives absolute public links), in ``locale`` when given
    (else the default language)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    with app.test_request_context("/", base_url=app.config.get("BASE_URL", "http://localhost")):
        if locale:
            with force_locale(locale):
                yield
        else:
            yield
