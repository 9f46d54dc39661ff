"""Where-to-start and pilot benchmark: rank every segment × stage cell, and measure a pilot, over a million cases.

    .venv/bin/python -m bench.pilots [--cases 1000000] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                                     [--only sqlite|postgresql] [--runs 3]

Loads the same cases as bench.outcomes (a year over 12 pods, 3 segments, 5 stages) into a throw-away SQLite file
and a throw-away PostgreSQL database, then times opportunities.rank() for a quarter and for the whole year, the
"where to start" page (with its number of queries), and a pilot's effects (two windows of 8 weeks, 3 metrics,
1,000 bootstrap resamples). Not a test: it prints min / median of the runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import create_engine, event, text

from bench.outcomes import DEFAULT_PG, QUARTER, YEAR_START, app_for, load

YEAR = (YEAR_START.date(), YEAR_START.date() + timedelta(days=364))


def _timed(label: str, call, runs: int):
    call()
    times = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    print(f"  {label}: min {min(times) * 1000:.0f} ms, median {statistics.median(times) * 1000:.0f} ms "
          f"over {runs} runs")
    return result


def measure(app, runs: int) -> None:
    from app.extensions import db
    from app.org.models import Role, User
    from app.outcomes import opportunities
    from app.pilots import effects

    with app.app_context():
        quarter = _timed(f"rank the cells, {QUARTER[0]}..{QUARTER[1]}",
                         lambda: (db.session.expire_all(), opportunities.rank(*QUARTER))[1], runs)
        _timed(f"rank the cells, the whole year {YEAR[0]}..{YEAR[1]}",
               lambda: (db.session.expire_all(), opportunities.rank(*YEAR))[1], runs)
        top = quarter.ranked[0]
        print(f"  {len(quarter.ranked)} cells ranked; top: {top.segment} · {top.stage}, {top.rework:,} rework cases "
              f"of {top.resolved:,} resolved")
        cell = (top.segment_id, top.stage_id)
        start = date(2026, 5, 1)
        found = _timed("a pilot's effects (1 cell, 3 rate metrics, 2 × 8 weeks, 1,000 resamples)",
                       lambda: effects.measure([cell], [cell], start, date(2026, 9, 1),
                                               ["rework_rate", "handoff_rate", "csat"], "Europe/Madrid"), runs)
        rework = found["rework_rate"]
        if rework.enough and rework.low is not None:
            print(f"    rework effect {rework.effect:+.4f}, 90 % interval [{rework.low:+.4f}, {rework.high:+.4f}] "
                  f"(no effect was generated)")
        else:
            print("    not enough data for an effect")
        leader = db.session.scalar(db.select(User).where(User.email == "leader@bench.test"))
        if leader is None:
            leader = User(email="leader@bench.test", display_name="Leader", role=Role.LEADER.value, password_hash="x")
            db.session.add(leader)
            db.session.commit()
        import secrets

        leader.session_key = secrets.token_hex(16)
        login_id = leader.get_id()
        engine = db.engine
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = login_id
        session["_fresh"] = True
    url = f"/pilots/where-to-start?from={QUARTER[0]}&to={QUARTER[1]}"
    statements: list[int] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(1))
    first = client.get(url)
    assert first.status_code == 200, (first.status_code, first.headers.get("Location"), first.get_data(as_text=True)[-300:])
    times = []
    for _ in range(runs):
        statements.clear()
        started = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - started)
    print(f"  where-to-start page for the quarter: min {min(times) * 1000:.0f} ms, median "
          f"{statistics.median(times) * 1000:.0f} ms over {runs} runs, {len(statements)} queries")


def run_sqlite(count: int, runs: int) -> None:
    print(f"SQLite ({count:,} cases)")
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as folder:
        app = app_for(f"sqlite:///{Path(folder) / 'bench.db'}")
        load(app, count)
        measure(app, runs)
        with app.app_context():
            from app.extensions import db

            db.session.remove()
            db.engine.dispose()


def run_postgresql(server: str, count: int, runs: int) -> None:
    print(f"PostgreSQL ({count:,} cases)")
    name = f"podium_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        app = app_for(f"{server.rpartition('/')[0]}/{name}")
        load(app, count)
        measure(app, runs)
        with app.app_context():
            from app.extensions import db

            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--pg", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.only != "postgresql":
        run_sqlite(args.cases, args.runs)
    if args.only != "sqlite":
        run_postgresql(args.pg, args.cases, args.runs)


if __name__ == "__main__":
    main()
