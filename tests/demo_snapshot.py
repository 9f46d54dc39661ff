"""The demo data for tests that walk it, created once per test worker and copied back after that.

Creating the demo (about 84,000 rows through the features' own services) takes 10–40 s; a dozen test modules
need it and each starts from an empty database. The first call in a worker runs the real `load_demo` and keeps
every table's rows; later calls with the same arguments empty the database and insert those rows again (about a
second), so each test still gets the data `load_demo` makes, ids included. Tests of the loader itself
(tests/demo/test_demo.py) call `load_demo` directly; a demo step's speed is for `bench/`, not the suite.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, text

from app.demo.loader import load_demo, wipe_database
from app.extensions import db

_SNAPSHOTS: dict[tuple, dict[str, list[dict]]] = {}


def load_demo_snapshot(now: datetime | None = None) -> bool:
    """Like `load_demo(now=now)` into the test's empty database; True, as the loader answers when it loads."""
    key = (now,)
    tables = db.metadata.sorted_tables
    snapshot = _SNAPSHOTS.get(key)
    if snapshot is None:
        loaded = load_demo(now=now)
        _SNAPSHOTS[key] = {t.name: [dict(row._mapping) for row in db.session.execute(t.select())] for t in tables}
        return loaded
    wipe_database()
    for table in tables:
        rows = snapshot[table.name]
        if rows:
            db.session.execute(table.insert(), rows)
    if db.engine.dialect.name == "postgresql":
        _move_sequences_past_the_copied_ids(tables)
    db.session.commit()
    return True


def _move_sequences_past_the_copied_ids(tables) -> None:
    for table in tables:
        columns = list(table.primary_key.columns)
        for column in columns:
            if isinstance(column.type, Integer) and (column.autoincrement is True or (
                    column.autoincrement == "auto" and len(columns) == 1 and not column.foreign_keys)):
                db.session.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                    f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"))
