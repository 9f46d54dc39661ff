"""Skills matrix benchmark: the matrix of one pod whose last 90 days hold N cases, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.skills [--cases 200000] [--members 12] [--runs 3]
                                     [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Prints min / median seconds of ``services.matrix(pod)`` (every figure beside the matrix, from the metric engine)
and of ``services.standup_gaps`` (what the stand-up board adds), and the number of SQL statements each runs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import timedelta

from sqlalchemy import create_engine, event, insert, text

from app.outcomes.models import CHANNELS, REQUEST_TYPES


def _run(url: str, cases: int, members: int, runs: int, verbose: bool = False) -> None:
    from app import create_app
    from app.extensions import db
    from app.org import services as org
    from app.outcomes.models import Case
    from app.skills import services
    from app.timeutil import utcnow
    from config import TestConfig

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Config)
    with app.app_context():
        db.create_all()
        org.ensure_default_stages()
        org.get_organisation()
        coach = org.create_user(None, email="coach@bench.test", display_name="Coach", role="coach", password="x")
        people = [org.create_user(None, email=f"a{i}@bench.test", display_name=f"Agent {i}", role="agent",
                                  password="x") for i in range(members)]
        pod = org.save_pod(None, None, name="Bench pod", mission="", timezone="Europe/Madrid",
                           standup_time=utcnow().time(), working_days="1234567")
        org.set_pod_coaches(None, pod, [coach])
        for person in people:
            org.add_member(None, pod, person, start=utcnow().date() - timedelta(days=400))
        db.session.commit()
        rng = random.Random(15)
        now = utcnow()
        rows = []
        for i in range(cases):
            created = now - timedelta(minutes=rng.randint(60, 89 * 24 * 60))
            handed = rng.random() < 0.12
            rows.append({"source": "podium", "external_id": f"b{i}", "status": "solved", "created_at": created,
                         "first_resolved_at": created + timedelta(minutes=30), "resolution_minutes": 30,
                         "pod_id": pod.id, "assignee_id": rng.choice(people).id,
                         "request_type": rng.choice(REQUEST_TYPES), "channel": rng.choice(CHANNELS),
                         "replies": rng.choice((1, 1, 2)), "reopens": 0, "group_stations": 1,
                         "assignee_stations": 2 if handed else 1, "escalated": False, "imported_at": now})
            if len(rows) == 20_000:
                db.session.execute(insert(Case), rows)
                rows = []
        if rows:
            db.session.execute(insert(Case), rows)
        for index, person in enumerate(people):
            for key in (f"rt:{REQUEST_TYPES[index % 10]}", f"ch:{CHANNELS[index % 7]}"):
                services.set_level(coach, pod, person.id, key, "independent")
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()

        statements: list[list] = []

        def before(conn, cursor, statement, parameters, context, executemany):
            statements.append([statement, time.perf_counter()])

        def after(conn, cursor, statement, parameters, context, executemany):
            statements[-1][1] = time.perf_counter() - statements[-1][1]

        event.listen(db.engine, "before_cursor_execute", before)
        event.listen(db.engine, "after_cursor_execute", after)
        for name, func in (("matrix", lambda: services.matrix(pod)),
                           ("standup_gaps", lambda: services.standup_gaps(pod, now.date(), {people[0].id}))):
            times = []
            for _ in range(runs):
                db.session.expire_all()
                statements.clear()
                start = time.perf_counter()
                func()
                times.append(time.perf_counter() - start)
            print(f"{db.engine.dialect.name:10} {name:13} {cases:>8} cases  min {min(times):.3f}s  "
                  f"median {statistics.median(times):.3f}s  queries {len(statements)}")
            if verbose:
                for statement, seconds in sorted(statements, key=lambda item: -item[1])[:4]:
                    print(f"    {seconds:.3f}s  {' '.join(statement.split())[:160]}")
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--members", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg", default="")
    parser.add_argument("--verbose", action="store_true", help="show the slowest statements of the last run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        _run(f"sqlite:///{folder}/bench.db", args.cases, args.members, args.runs, args.verbose)
    if args.pg:
        name = f"podium_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            _run(f"{args.pg.rpartition('/')[0]}/{name}", args.cases, args.members, args.runs, args.verbose)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin.dispose()


if __name__ == "__main__":
    main()
