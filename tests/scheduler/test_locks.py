"""The single-scheduler locks: a file lock on SQLite, a PostgreSQL advisory lock otherwise."""

import os

import pytest
from sqlalchemy import text

from app.extensions import db
from app.scheduler.runner import AdvisoryLock, FileLock, make_lock


def test_file_lock_is_taken_by_one_holder_at_a_time(tmp_path):
    path = tmp_path / "locks" / "scheduler.lock"
    first, second = FileLock(path), FileLock(path)

    assert first.acquire()
    assert first.acquire()
    assert first.held()
    assert path.read_text() == f"{os.getpid()}\n"
    assert not second.acquire()
    assert not second.held()

    first.release()
    assert not first.held()
    assert second.acquire()
    assert not first.acquire()
    second.release()
    second.release()


def test_make_lock_matches_the_database(app):
    lock = make_lock(app)
    if db.engine.dialect.name == "postgresql":
        assert isinstance(lock, AdvisoryLock)
    else:
        assert isinstance(lock, FileLock)
        assert str(lock.path) == app.config["SCHEDULER_LOCK_FILE"]


@pytest.fixture
def postgresql_url(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the advisory lock needs PostgreSQL")
    return db.engine.url


def test_advisory_lock_is_taken_by_one_scheduler_at_a_time(postgresql_url):
    first, second = AdvisoryLock(postgresql_url), AdvisoryLock(postgresql_url)
    try:
        assert first.acquire()
        assert first.acquire()
        assert first.held()
        assert not second.acquire()
        assert not second.held()

        first.release()
        assert not first.held()
        assert second.acquire()
        assert not first.acquire()
    finally:
        first.release()
        second.release()
    assert first.acquire()
    first.release()


def test_advisory_lock_is_freed_when_its_connection_dies(postgresql_url):
    first, second = AdvisoryLock(postgresql_url), AdvisoryLock(postgresql_url)
    try:
        assert first.acquire()
        db.session.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())"
        ))
        db.session.commit()

        assert not first.held()
        assert second.acquire()
    finally:
        first.release()
        second.release()
