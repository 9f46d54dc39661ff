"""Test fixtures: an app bound to a throw-away database, clients, factories and a query counter.

SQLite is the default. With TEST_DATABASE_URL=postgresql+psycopg://user@host:port/postgres the suite
creates its own database on that server (one per xdist worker) and drops it at the end.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from datetime import date, time

import pytest
from sqlalchemy import create_engine, event, text

from app import create_app
from app.extensions import db
from config import TestConfig

PASSWORD = "correct-horse-battery"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    server = os.environ.get("TEST_DATABASE_URL", "")
    if not server.startswith("postgresql"):
        path = tmp_path_factory.mktemp("db") / "podium-test.db"
        yield f"sqlite:///{path}"
        return
    name = f"podium_test_{_worker()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base, _sep, _db = server.rpartition("/")
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def app(database_url):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url

    application = create_app(Config)
    with application.app_context():
        db.create_all()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _wipe() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        # TRUNCATE costs 0.3-1 s here even for three small tables (new files for each table and index, synced at
        # commit), which was most of a test's time on PostgreSQL. One probe finds the tables a test wrote to
        # (counting up to _BIG rows); small ones are emptied with DELETE (milliseconds), big ones (a loaded demo,
        # an import) with TRUNCATE; then every id sequence goes back to 1, as RESTART IDENTITY did.
        probe = " UNION ALL ".join(
            f"SELECT '{t.name}', (SELECT count(*) FROM (SELECT 1 FROM \"{t.name}\" LIMIT {_BIG}) AS s)" for t in tables)
        rows = dict(db.session.execute(text(probe)).all())
        big = [name for name, count in rows.items() if count >= _BIG]
        if big:
            db.session.execute(text("TRUNCATE " + ", ".join(f'"{name}"' for name in big) + " CASCADE"))
        for table in tables:  # children first
            if 0 < rows[table.name] < _BIG:
                db.session.execute(table.delete())
        db.session.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


_BIG = 2000


@pytest.fixture(autouse=True)
def _clean_database(app):
    """Every test starts from an empty database with the default lifecycle stages."""
    ctx = app.app_context()
    ctx.push()
    from app.org.services import ensure_default_stages, get_organisation

    ensure_default_stages()
    get_organisation()
    db.session.commit()
    yield
    db.session.rollback()
    _wipe()
    db.session.remove()
    ctx.pop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, user_or_email, password: str = PASSWORD, **extra):
        email = user_or_email if isinstance(user_or_email, str) else user_or_email.email
        return self._client.post("/login", data={"email": email, "password": password, **extra})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def make_user():
    from app.org import services as org

    counter = {"n": 0}

    def _make(role: str = "agent", email: str | None = None, name: str | None = None, password: str = PASSWORD,
              **kwargs):
        counter["n"] += 1
        user = org.create_user(
            None,
            email=email or f"{role}{counter['n']}@example.test",
            display_name=name or f"{role.title()} {counter['n']}",
            role=role,
            password=password,
            **kwargs,
        )
        db.session.commit()
        return user

    return _make


@pytest.fixture
def make_segment():
    from app.org import services as org

    counter = {"n": 0}

    def _make(name: str | None = None):
        counter["n"] += 1
        segment = org.save_segment(None, None, name=name or f"Segment {counter['n']}", description="",
                                   position=counter["n"])
        db.session.commit()
        return segment

    return _make


@pytest.fixture
def stages():
    from app.org.services import active_stages

    return active_stages()


@pytest.fixture
def make_pod():
    from app.org import services as org

    counter = {"n": 0}

    def _make(name: str | None = None, coaches=(), members=(), timezone: str = "Europe/Madrid",
              standup_time: time = time(9, 30), working_days: str = "12345", start: date = date(2026, 1, 1)):
        counter["n"] += 1
        pod = org.save_pod(None, None, name=name or f"Pod {counter['n']}", mission="Serve customers end to end",
                           timezone=timezone, standup_time=standup_time, working_days=working_days)
        if coaches:
            org.set_pod_coaches(None, pod, list(coaches))
        for member in members:
            org.add_member(None, pod, member, start=start)
        db.session.commit()
        return pod

    return _make


class QueryCounter:
    def __init__(self):
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """Use as `with count_queries() as counter:`; counter.count is the number of SQL statements run.

    Everything loaded is expired first so a request measures what it costs in production, where it
    starts with nothing loaded.
    """

    @contextmanager
    def _count():
        counter = QueryCounter()
        db.session.commit()
        db.session.expire_all()

        def before(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("PRAGMA", "SAVEPOINT", "RELEASE")):
                counter.statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", before)

    return _count


@pytest.fixture
def quick_password_hashes(monkeypatch):
    """Suites that make many people per test use a cheap hash to stay fast; sign-in still checks it."""
    from werkzeug.security import generate_password_hash

    import app.org.models as org_models

    monkeypatch.setattr(org_models, "generate_password_hash",
                        lambda password, method=None: generate_password_hash(password, method="pbkdf2:sha256:1000"))
