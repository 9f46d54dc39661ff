"""Metric benchmark: all metrics for a quarter over a million cases, for every pod at once and for the org.

    .venv/bin/python -m bench.outcomes [--cases 1000000] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                                       [--only sqlite|postgresql] [--runs 5]

Generates the cases (a year, spread over pods, agents, segments, stages, channels and request types) into a
throw-away SQLite file and a throw-away PostgreSQL database (created and dropped here), then times
metrics.compute_by("pod", ...) and metrics.compute(...) for one quarter. Not a test: it prints what it measures.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
YEAR_START = datetime(2025, 10, 1)
QUARTER = (date(2026, 4, 1), date(2026, 6, 30))
PODS = 12
AGENTS = 96
SEGMENTS = ("Residential", "Small business", "Enterprise")
CHANNELS = ("phone", "email", "chat", "web", "app", "social", "in_person")
REQUEST_TYPES = ("information", "quote", "service_request", "petition", "complaint", "claim", "suggestion",
                 "warranty")
BATCH = 20_000
COLUMNS = ("source", "external_id", "segment_id", "stage_id", "pod_id", "assignee_id", "request_type", "channel",
           "priority", "status", "created_at", "first_reply_at", "first_resolved_at", "solved_at", "closed_at",
           "due_at", "first_reply_minutes", "resolution_minutes", "replies", "reopens", "group_stations",
           "assignee_stations", "csat_score", "nps_score", "ces_score", "escalated", "imported_at")


def case_rows(count: int, pods: list[int], agents_by_pod: dict[int, list[int]], segments: list[int],
              stages: list[int], seed: int = 11):
    """Realistic enough: each pod has its own quality, workload grows over the year, most cases resolve."""
    rng = random.Random(seed)
    quality = {pod: 0.6 + 0.3 * rng.random() for pod in pods}
    minutes_in_year = 365 * 24 * 60
    now = YEAR_START + timedelta(days=365)
    for n in range(count):
        pod = pods[n % len(pods)] if rng.random() < 0.97 else None
        agent = rng.choice(agents_by_pod[pod]) if pod is not None and rng.random() < 0.92 else None
        good = quality.get(pod, 0.7)
        created = YEAR_START + timedelta(minutes=int(minutes_in_year * rng.random() ** 0.9))
        first_reply = int(rng.expovariate(1 / (60 + 240 * (1 - good)))) + 1 if rng.random() < 0.95 else None
        resolution = int(rng.lognormvariate(7, 1.1)) + 5
        resolved_at = created + timedelta(minutes=resolution)
        if resolved_at > now or rng.random() < 0.04:
            resolved_at, resolution = None, None
        closed_at = resolved_at + timedelta(days=4) if resolved_at and resolved_at + timedelta(days=4) < now else None
        group_stations = 1 if rng.random() < good else rng.choice((2, 2, 3, 4))
        assignee_stations = 1 if rng.random() < good else rng.choice((2, 3))
        yield (
            "bench", str(n), rng.choice(segments), rng.choice(stages), pod, agent, rng.choice(REQUEST_TYPES),
            rng.choice(CHANNELS), rng.choice(("low", "normal", "normal", "high", "urgent")),
            "closed" if closed_at else ("solved" if resolved_at else rng.choice(("open", "pending", "hold"))),
            created, created + timedelta(minutes=first_reply) if first_reply else None, resolved_at, resolved_at,
            closed_at, created + timedelta(hours=rng.choice((8, 24, 48))) if rng.random() < 0.7 else None,
            first_reply, resolution, rng.choice((1, 1, 1, 2, 3)) if rng.random() < good else rng.randrange(2, 6),
            0 if rng.random() < good + 0.1 else 1, group_stations, assignee_stations,
            (rng.choice((4, 5, 5)) if rng.random() < good else rng.choice((1, 2, 3))) if rng.random() < 0.3 else None,
            None, None, rng.random() < 0.03, now,
        )


def load(app, count: int) -> None:
    """Organisation, stages, segments, pods, agents, then the cases and some autonomy decisions in bulk."""
    from app.autonomy.models import ActionType, Decision
    from app.extensions import db
    from app.org.models import LifecycleStage, Pod, Role, Segment, User
    from app.org.services import ensure_default_stages, get_organisation
    from app.outcomes.models import Case

    with app.app_context():
        db.create_all()
        get_organisation()
        ensure_default_stages()
        segments = [Segment(name=name, position=i) for i, name in enumerate(SEGMENTS)]
        zones = ["Europe/Madrid"] * (PODS - 1) + ["Atlantic/Canary"]
        pods = [Pod(name=f"Pod {i:02d}", mission="Bench", timezone=zones[i]) for i in range(PODS)]
        agents = [User(email=f"agent{i}@bench.test", display_name=f"Agent {i}", role=Role.AGENT.value,
                       password_hash="x") for i in range(AGENTS)]
        action = ActionType(code="refund", name="Refund", unit="count")
        db.session.add_all([*segments, *pods, *agents, action])
        db.session.commit()
        pod_ids = [p.id for p in pods]
        agents_by_pod = {pod: [a.id for a in agents[i::PODS]] for i, pod in enumerate(pod_ids)}
        stage_ids = list(db.session.scalars(db.select(LifecycleStage.id)))
        rows = case_rows(count, pod_ids, agents_by_pod, [s.id for s in segments], stage_ids)
        started = time.perf_counter()
        if db.engine.dialect.name == "postgresql":
            raw = db.engine.raw_connection()
            try:
                with raw.cursor() as cursor, cursor.copy(f"COPY cases ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                raw.commit()
            finally:
                raw.close()
        else:
            statement = insert(Case.__table__)
            batch: list[dict] = []
            for row in rows:
                batch.append(dict(zip(COLUMNS, row, strict=True)))
                if len(batch) == BATCH:
                    db.session.execute(statement, batch)
                    batch.clear()
            if batch:
                db.session.execute(statement, batch)
            db.session.commit()
        rng = random.Random(5)
        decisions = []
        for n in range(count // 20):
            moment = YEAR_START + timedelta(minutes=rng.randrange(365 * 24 * 60))
            pod = pod_ids[n % PODS]
            decisions.append(dict(decided_at=moment, requested_at=moment, within_limit=rng.random() < 0.85,
                                  status="done", agent_id=rng.choice(agents_by_pod[pod]), pod_id=pod,
                                  segment_id=segments[n % 3].id, stage_id=stage_ids[n % len(stage_ids)],
                                  action_type_id=action.id, amount=rng.randrange(1, 100), case_ref="",
                                  customer_ref=""))
        for i in range(0, len(decisions), BATCH):
            db.session.execute(insert(Decision.__table__), decisions[i:i + BATCH])
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        print(f"  loaded {count:,} cases and {len(decisions):,} decisions in {time.perf_counter() - started:.1f} s")
        from app.outcomes import rollups

        started = time.perf_counter()
        rollups.rebuild()  # the bulk load above went around the ORM: build the per-day rollups once
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        print(f"  built the per-day rollups and breakdowns in {time.perf_counter() - started:.1f} s")
        times = []
        for day in (date(2026, 5, 12), date(2026, 5, 13), date(2026, 5, 14)):
            started = time.perf_counter()
            rollups.refresh_days([day])  # what a write touching one day costs (the API, a small import)
            db.session.commit()
            times.append(time.perf_counter() - started)
        print(f"  refreshing the rollups of one day: min {min(times) * 1000:.0f} ms, "
              f"median {statistics.median(times) * 1000:.0f} ms over 3 runs")


def measure(app, runs: int) -> None:
    from app.extensions import db
    from app.outcomes import metrics

    print(f"  load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores shared)")
    with app.app_context():
        def timed(label: str, call):
            call()  # warm the caches, as a running server has them
            times, cpu = [], []
            for _ in range(runs):
                db.session.commit()  # a new transaction, as a new request has
                db.session.expire_all()
                started, started_cpu = time.perf_counter(), time.process_time()
                result = call()
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
            # On a shared machine the wall time mostly waits for a core: the CPU time of this process (which
            # includes SQLite's work, not PostgreSQL's server) shows what the code costs.
            print(f"  {label}: min {min(times) * 1000:.0f} ms, median {statistics.median(times) * 1000:.0f} ms "
                  f"over {runs} runs (CPU of this process min {min(cpu) * 1000:.0f} ms)")
            return result

        by_pod = timed(f"all {len(metrics.METRICS)} metrics, {QUARTER[0]}..{QUARTER[1]}, every pod at once "
                       "(compute_by('pod'), each pod in its own time zone)",
                       lambda: metrics.compute_by("pod", *QUARTER))
        timed("same, read in one time zone (compute_by('pod', tz='Europe/Madrid'))",
              lambda: metrics.compute_by("pod", *QUARTER, tz="Europe/Madrid"))
        org = timed("all metrics for the organisation (compute)", lambda: metrics.compute(*QUARTER))
        timed("one pod (compute with Scope(pod_id))",
              lambda: metrics.compute(*QUARTER, metrics.Scope(pod_id=min(by_pod))))
        timed("13 weekly periods for the organisation (series)", lambda: metrics.series(*QUARTER, "week"))
        print(f"  pods with figures: {len(by_pod)}")
        pod_page(app, min(by_pod), runs)
        for code, figure in org.items():
            value = "—" if figure.value is None else (f"{figure.value:.4f}" if isinstance(figure.value, float)
                                                     else f"{figure.value:,}")
            print(f"    {code:18} {value:>12}   numerator {figure.numerator}  denominator {figure.denominator}")


def pod_page(app, pod_id: int, runs: int) -> None:
    """Server time of a pod dashboard for the quarter, signed in as a leader, and its number of queries."""
    from sqlalchemy import event

    from app.extensions import db
    from app.org.models import Role, User

    with app.app_context():
        leader = db.session.scalar(db.select(User).where(User.email == "leader@bench.test"))
        if leader is None:
            leader = User(email="leader@bench.test", display_name="Leader", role=Role.LEADER.value,
                          password_hash="x")
            db.session.add(leader)
            db.session.commit()
        leader.session_key = "bench-session-key-0123456789"  # a signed-in session (auth.services.start_session)
        login_id = leader.get_id()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = login_id
        session["_fresh"] = True
    url = f"/outcomes/pods/{pod_id}?period=custom&from={QUARTER[0]}&to={QUARTER[1]}"
    statements = []
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(1))
    first = client.get(url)
    assert first.status_code == 200, (first.status_code, first.headers.get("Location"))
    times, cpu = [], []
    for _ in range(runs):
        statements.clear()
        started, started_cpu = time.perf_counter(), time.process_time()
        client.get(url)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    print(f"  pod dashboard page for the quarter: min {min(times) * 1000:.0f} ms, median "
          f"{statistics.median(times) * 1000:.0f} ms over {runs} runs, {len(statements)} queries "
          f"(CPU of this process min {min(cpu) * 1000:.0f} ms)")


def app_for(url: str):
    from app import create_app
    from config import Config

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = url
        SCHEDULER_IN_PROCESS = False

    return create_app(BenchConfig)


def run_sqlite(count: int, runs: int) -> None:
    print(f"SQLite ({count:,} cases)")
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as folder:
        path = Path(folder) / "bench.db"
        app = app_for(f"sqlite:///{path}")
        load(app, count)
        print(f"  database file {path.stat().st_size / 1e6:.0f} MB")
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
