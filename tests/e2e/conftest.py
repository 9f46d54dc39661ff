"""Browser tests: Playwright drives Debian's Chromium against a live Podium server loaded with demo data.

The server runs in a daemon thread of the test process on its own throw-away SQLite file (never the
database of tests/conftest.py), with CSRF and the rate limiter on, as in production. Without Chromium or
Playwright the tests are skipped, unless PODIUM_REQUIRE_BROWSER=1 (set by .ci/run): then they fail.

Fixtures: ``live_server`` (base URL), ``live_app`` (the server's Flask app, for setting up data),
``browser`` (one Chromium per session), ``page`` (a fresh English context per test), ``page_es`` (the same
with a Spanish browser), ``login(page, email, password="podium-demo")``.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from app.demo.org_data import DEFAULT_PASSWORD

CHROMIUM = os.environ.get("PODIUM_CHROMIUM", "/usr/bin/chromium")  # Debian's package; override for other systems
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
SKIP_MESSAGE = "browser tests skipped: install chromium (apt-get install -y chromium)"
TIMEOUT_MS = 15_000
E2E_DIR = Path(__file__).resolve().parent


def _browser_missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{SKIP_MESSAGE}; {CHROMIUM} not found"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"{SKIP_MESSAGE}; the Python package playwright is missing (pip install -e '.[dev]')"
    return None


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: browser tests driven by Playwright and Chromium")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session", autouse=True)
def _browser_available():
    missing = _browser_missing()
    if missing:
        if os.environ.get("PODIUM_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{missing} (PODIUM_REQUIRE_BROWSER=1)", pytrace=False)
        pytest.skip(missing)


@pytest.fixture(autouse=True)
def _clean_database():
    """Browser tests use the live server's own demo database, not the per-test one of tests/conftest.py."""
    yield


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    from app import create_app
    from app.demo.loader import load_demo
    from app.extensions import db
    from app.org.services import ensure_default_stages, get_organisation
    from app.timeutil import utcnow
    from config import TestConfig

    path = tmp_path_factory.mktemp("e2e") / "podium-e2e.db"

    class LiveConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{path}"
        WTF_CSRF_ENABLED = True  # the real behaviour: forms carry the token, htmx sends it as a header
        SERVER_NAME = None  # answer on 127.0.0.1:<port>
        TESTING = False  # errors render their pages instead of propagating
        SCHEDULER_IN_PROCESS = False
        SHOW_DEMO_ACCOUNTS = False

    application = create_app(LiveConfig)
    with application.app_context():
        db.create_all()
        ensure_default_stages()
        get_organisation()
        db.session.commit()
        load_demo(now=utcnow())
        db.session.remove()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="podium-e2e-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def _playwright(_browser_available):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(_playwright):
    browser = _playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def _new_page(browser, live_server, locale: str, accept_language: str):
    context = browser.new_context(base_url=live_server, locale=locale,
                                  extra_http_headers={"Accept-Language": accept_language})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return context, context.new_page()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (no cookies) per test, English browser."""
    context, page = _new_page(browser, live_server, "en-GB", "en-GB,en;q=0.9")
    yield page
    context.close()


@pytest.fixture
def page_es(browser, live_server):
    """A fresh browser context per test with a Spanish browser (locale es-ES, Accept-Language es)."""
    context, page = _new_page(browser, live_server, "es-ES", "es-ES,es;q=0.9")
    yield page
    context.close()


@pytest.fixture
def set_user_locale(live_app):
    """Set a live-server user's profile language (en, es or it)."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.org.models import User

    def _set(email: str, locale: str) -> None:
        with live_app.app_context():
            user = db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
            assert user is not None, f"no demo user {email}"
            user.locale = locale
            db.session.commit()
            db.session.remove()

    return _set


@pytest.fixture
def login(live_server, set_user_locale):
    """Sign in through the form; returns the page, now on the page the sign-in led to.

    The user's profile language is set first to the browser's language (``locale``, else the page's
    navigator.language), so a test sees the interface in the language of its page fixture whatever
    another test set before.
    """

    def _login(page, email: str, password: str = DEFAULT_PASSWORD, locale: str | None = None):
        if locale is None:
            locale = page.evaluate("navigator.language")[:2]
        if locale in ("en", "es", "it"):
            set_user_locale(email, locale)
        page.goto("/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        with page.expect_navigation():
            page.click("main form [type=submit]")
        if page.url.split("?")[0].endswith("/login"):
            raise AssertionError(f"sign-in failed for {email}")
        return page

    return _login
