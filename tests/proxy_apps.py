"""An app built with a given PROXY_HOPS on the suite's database, for tests of the client address."""

from __future__ import annotations

from contextlib import contextmanager

from app import create_app
from app.extensions import limiter
from config import TestConfig


@contextmanager
def app_behind_proxies(database_url: str, hops: int, **settings):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        PROXY_HOPS = hops

    for key, value in settings.items():
        setattr(Config, key, value)
    application = create_app(Config)
    limiter.reset()
    try:
        yield application
    finally:
        limiter.reset()
