"""Pooled PostgreSQL connections the server ended are replaced when taken from the pool, without a SELECT 1 on
every check-out (app/connections.py)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from app import connections
from app.extensions import db


@pytest.fixture
def pg_engine(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (TEST_DATABASE_URL)")
    engine = create_engine(db.engine.url, pool_size=2)
    connections.watch(engine)
    yield engine
    engine.dispose()


def _pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar()




def test_the_app_engine_checks_pooled_postgresql_connections_by_their_socket(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (TEST_DATABASE_URL)")
    assert db.engine.pool._pre_ping is False  # noqa: SLF001 - the setting the app replaced


def test_a_connection_the_server_ended_is_replaced_on_check_out_without_an_error(pg_engine, app):
    first = _pid(pg_engine)  # back in the pool, idle
    with db.engine.connect() as admin:
        assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar()
    time.sleep(0.2)  # the server's notice and the end of the stream reach the idle socket
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != first


def test_a_live_connection_is_taken_from_the_pool_without_a_round_trip(pg_engine, monkeypatch):
    first = _pid(pg_engine)
    pings = []
    monkeypatch.setattr(pg_engine.dialect, "do_ping", lambda conn: pings.append(conn) or True)
    for _ in range(3):
        assert _pid(pg_engine) == first
    assert pings == []


def test_a_connection_idle_for_long_is_pinged_and_replaced_when_it_does_not_answer(app, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (TEST_DATABASE_URL)")
    engine = create_engine(db.engine.url, pool_size=2)
    connections.watch(engine, idle_ping_seconds=0.0)
    try:
        first = _pid(engine)
        monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: False)  # a silently dropped connection
        second = _pid(engine)
        assert second != first
    finally:
        engine.dispose()
