"""Interactive writes during an import on SQLite: latency of short write transactions from other threads.

    .venv/bin/python -m bench.import_concurrency [--rows 100000] [--writers 20]

An import job of a generated Zendesk file runs in a child process (as the scheduler's worker would) on a
file SQLite database; meanwhile `--writers` threads of this process (as web requests would) each update a
user and insert a row, again and again, until the import ends. Prints the writes' median, 95th
percentile and worst latency, and how many failed ("database is locked").
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from bench.import_bench import generate

THINK_SECONDS = 0.25  # between one writer's writes: 20 writers make 80 writes a second, far above 20 people typing


def _app(url: str):
    from app import create_app
    from config import Config

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = url
        SCHEDULER_IN_PROCESS = False
        RATELIMIT_ENABLED = False
        IMPORT_UPLOAD_DIR = str(Path(url.removeprefix("sqlite:///")).parent / "uploads")

    return create_app(BenchConfig)


def child(url: str) -> None:
    from app.outcomes.import_jobs import run_pending_imports

    app = _app(url)
    with app.app_context():
        started = time.perf_counter()
        run_pending_imports()
        print(f"import job ran in {time.perf_counter() - started:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    from sqlalchemy import func, select

    from app.extensions import db
    from app.org import services as org
    from app.org.models import User
    from app.outcomes.import_jobs import JobOptions, enqueue_copy
    from app.outcomes.models import Import
    from app.scheduler.models import JobRun
    from app.timeutil import utcnow

    with tempfile.TemporaryDirectory(prefix="podium-concurrency-") as tmp:
        path = Path(tmp) / "zendesk.csv"
        generate(path, args.rows)
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = _app(url)
        with app.app_context():
            db.create_all()
            org.ensure_default_stages()
            users = [org.create_user(None, email=f"w{n}@example.com", display_name=f"W {n}").id
                     for n in range(args.writers)]
            db.session.commit()
            job = enqueue_copy(path, fmt="zendesk", timezone="Europe/Madrid", filename="z.csv", options=JobOptions(),
                               actor=None)
            job_id = job.id
        worker = subprocess.Popen([sys.executable, "-m", "bench.import_concurrency", "--child", url],
                                  cwd=Path(__file__).resolve().parents[1])
        latencies: list[float] = []
        failures: list[str] = []
        over = threading.Event()

        def write(n: int) -> None:
            with app.app_context():
                i = 0
                while not over.is_set():
                    started = time.perf_counter()
                    try:
                        db.session.get(User, users[n]).display_name = f"W {n} {i}"
                        db.session.add(JobRun(job=f"w{n}", scheduled_for=utcnow() + timedelta(minutes=i)))
                        db.session.commit()
                        latencies.append(time.perf_counter() - started)
                    except Exception as exc:  # noqa: BLE001
                        db.session.rollback()
                        failures.append(str(exc).splitlines()[0])
                    i += 1
                    time.sleep(THINK_SECONDS)
                db.session.remove()

        with app.app_context():
            while db.session.scalar(select(Import.status).where(Import.id == job_id)) == "queued":
                db.session.rollback()
                time.sleep(0.05)
            db.session.rollback()
        threads = [threading.Thread(target=write, args=(n,)) for n in range(args.writers)]
        for thread in threads:
            thread.start()
        worker.wait()
        over.set()
        for thread in threads:
            thread.join()
        with app.app_context():
            status = db.session.scalar(select(Import.status).where(Import.id == job_id))
            runs = db.session.scalar(select(func.count()).select_from(JobRun))
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95)] if latencies else float("nan")
    print(f"import {status}; {len(latencies)} writes ({runs} stored) during it, {len(failures)} failed; "
          f"median {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"worst {latencies[-1] * 1000:.0f} ms" + (f"; first failure: {failures[0]}" if failures else ""))


if __name__ == "__main__":
    main()
