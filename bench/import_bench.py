"""Import benchmark: a generated 1,000,000-row Zendesk export imported on SQLite and PostgreSQL.

    .venv/bin/python -m bench.import_bench [--rows 1000000] [--runs 3] [--reimport] [--more] [--only sqlite]
                                           [--dir /tmp/bench-files]
                                           [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Each database is measured in its own process so peak RSS (ru_maxrss) is that import's alone; with
--runs N each database is measured N times (a fresh database each time) and the min / median shown,
the machine's noise. CPU is the import process's own (PostgreSQL's server work is not in it).
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

ZENDESK_HEADER = [
    "Summation column", "Id", "Requester", "Requester id", "Requester external id", "Requester email",
    "Requester domain", "Submitter", "Assignee", "Group", "Subject", "Tags", "Status", "Priority", "Via",
    "Ticket type", "Created at", "Updated at", "Assigned at", "Organization", "Due date", "Initially assigned at",
    "Solved at", "Resolution time", "Satisfaction Score", "Group stations", "Assignee stations", "Reopens",
    "Replies", "First reply time in minutes", "First reply time in minutes within business hours",
    "First resolution time in minutes", "First resolution time in minutes within business hours",
    "Full resolution time in minutes", "Full resolution time in minutes within business hours",
    "Agent wait time in minutes", "Agent wait time in minutes within business hours",
    "Requester wait time in minutes", "Requester wait time in minutes within business hours",
    "On hold time in minutes", "On hold time in minutes within business hours",
    "Segment [list]", "Lifecycle stage [list]", "Request type [list]",
]
SEGMENTS = {"Residencial": "Residential", "Pymes": "Small business", "Empresas": "Enterprise"}
STAGES = {"Preventa": "Pre-sale", "Venta": "Sale & onboarding", "Servicio": "In-life service",
          "Posventa": "Post-sale & warranty", "Baja": "Account closure"}
REQUEST_TYPES = {"Garantía": "warranty", "Petición": "petition", "Cotización": "quote", "Queja": "complaint",
                 "Reclamo": "claim", "Sugerencia": "suggestion", "Información": "information"}
GROUPS = ["Residencial Preventa", "Residencial Posventa", "Pymes", "Empresas", "Soporte", "Bajas"]
AGENTS = [f"Agente {n:02d}" for n in range(40)]
SUBJECTS = ['Garantía, "router" roto', "Factura duplicada", "Alta de línea", "Cambio de plan", "Baja, portabilidad"]
VIA = ["Mobile", "Web Form", "Web Widget", "Email", "Chat", "Phone call (inbound)", "Twitter", "-"]
STATUS = ["Solved"] * 5 + ["Closed"] * 8 + ["Open", "Pending", "Hold", "New"]
SCORES = ["Good"] * 3 + ["Bad", "Offered"] + ["Not Offered"] * 6


def generate(path: Path, rows: int, seed: int = 7, first_id: int = 1_000_000) -> None:
    """Write a Zendesk-format export row by row (nothing held in memory); ticket ids from `first_id` on."""
    rng = random.Random(seed)
    start = datetime(2025, 10, 1)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(ZENDESK_HEADER)
        for n in range(rows):
            created = start + timedelta(minutes=rng.randrange(365 * 24 * 60))
            status = rng.choice(STATUS)
            solved = status in ("Solved", "Closed")
            first_reply = rng.randrange(1, 900) if status != "New" else None
            first_resolution = rng.randrange(30, 5000) if solved else None
            full = first_resolution + (rng.randrange(0, 3000) if rng.random() < 0.2 else 0) if solved else None
            solved_at = created + timedelta(minutes=full) if full is not None else None
            assigned = created + timedelta(minutes=5) if status != "New" else None
            fmt = "%Y-%m-%d %H:%M"
            customer = rng.randrange(200_000)
            writer.writerow([
                1, first_id + n, f"Cliente {customer}", 500_000 + customer, "", f"c{customer}@example.com",
                "example.com", f"Cliente {customer}", rng.choice(AGENTS) if status != "New" else "",
                rng.choice(GROUPS), rng.choice(SUBJECTS), "vip factura" if n % 7 else "escalated router", status,
                rng.choice(["Low", "Normal", "High", "Urgent", "-"]), rng.choice(VIA), "Question",
                created.strftime(fmt), (solved_at or created + timedelta(hours=1)).strftime(fmt),
                assigned.strftime(fmt) if assigned else "", "", "", assigned.strftime(fmt) if assigned else "",
                solved_at.strftime(fmt) if solved_at else "", round(full / 60) if full else "",
                rng.choice(SCORES) if solved else "Not Offered", rng.choice([1, 1, 1, 2]), rng.choice([0, 1, 1, 2, 3]),
                rng.choice([0, 0, 0, 0, 1]), rng.randrange(0, 5), first_reply or "", first_reply or "",
                first_resolution or "", first_resolution or "", full or "", full or "", 10, 10, 20, 20, 5, 5,
                rng.choice(list(SEGMENTS)), rng.choice(list(STAGES)), rng.choice(list(REQUEST_TYPES)),
            ])


def _organisation() -> None:
    """Segments, stages, pods with coverage and members, and mappings, as a leader would set them up."""
    from sqlalchemy import select

    from app.extensions import db
    from app.org import services as org
    from app.org.models import LifecycleStage
    from app.outcomes.attribution import save_mapping

    org.ensure_default_stages()
    org.get_organisation()
    stages = {s.name: s for s in db.session.scalars(select(LifecycleStage))}
    segments = {name: org.save_segment(None, None, name=name, description="", position=i)
                for i, name in enumerate(SEGMENTS.values())}
    leader = org.create_user(None, email="leader@example.com", display_name="Leader", role="leader")
    people = [org.create_user(None, email=f"agente{n:02d}@example.com", display_name=name)
              for n, name in enumerate(AGENTS)]
    for n, group in enumerate(GROUPS):
        pod = org.save_pod(None, None, name=f"Pod {group}", mission="", timezone="Europe/Madrid",
                           standup_time=datetime(2026, 1, 1, 9, 30).time(), working_days="12345")
        for person in people[n::len(GROUPS)]:
            org.add_member(None, pod, person, start=date(2025, 1, 1))
        save_mapping(None, "pod", group, target_id=pod.id)
        segment = list(segments.values())[n % len(segments)]
        for stage in list(stages.values())[: 2 + n % 3]:
            org.assign_coverage(leader, pod, segment, stage, now=datetime(2025, 1, 1))
    for raw, name in SEGMENTS.items():
        save_mapping(None, "segment", raw, target_id=segments[name].id)
    for raw, name in STAGES.items():
        save_mapping(None, "stage", raw, target_id=stages[name].id)
    for raw, code in REQUEST_TYPES.items():
        save_mapping(None, "request_type", raw, target_value=code)
    db.session.commit()


PEAK_ANON = [0]
PEAK_FILE = [0]
PEAK_PARSERS = [0]  # the parsing processes' private memory together, KiB
PEAK_TOTAL = [0]  # the importer's private memory plus its parsing processes', at the same moment, KiB


def _sample_memory(_counts) -> None:
    """After every batch: the process's private (anonymous) memory and its file-backed pages, in KiB.

    ru_maxrss counts both; on SQLite the file-backed part is the database file the app memory-maps
    (PRAGMA mmap_size, up to 256 MiB), which is the OS page cache rather than memory the import holds.
    """
    anon = 0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                anon = int(line.split()[1])
                PEAK_ANON[0] = max(PEAK_ANON[0], anon)
            elif line.startswith("RssFile:"):
                PEAK_FILE[0] = max(PEAK_FILE[0], int(line.split()[1]))
    # The parsing processes (forked, so most of their pages are the importer's, shared): what each holds alone.
    private = 0
    for child in multiprocessing.active_children():
        try:
            with open(f"/proc/{child.pid}/smaps_rollup") as rollup:
                private += sum(int(line.split()[1]) for line in rollup if line.startswith(("Private_Clean:",
                                                                                         "Private_Dirty:")))
        except OSError:
            continue
    PEAK_PARSERS[0] = max(PEAK_PARSERS[0], private)
    PEAK_TOTAL[0] = max(PEAK_TOTAL[0], anon + private)


ROLLUP_SECONDS = [0.0]


def _time_rollups() -> None:
    """Time the rollup refresh each import ends with, to report the import with and without it."""
    from app.outcomes import ingest

    refresh = ingest.refresh_rollups

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return refresh(*args, **kwargs)
        finally:
            ROLLUP_SECONDS[0] += time.perf_counter() - started

    ingest.refresh_rollups = timed


def _rollups_taken() -> float:
    taken, ROLLUP_SECONDS[0] = ROLLUP_SECONDS[0], 0.0
    return round(taken, 1)


def _backend() -> int | None:
    """The PostgreSQL server process of the app's connection, when the server runs on this machine."""
    from sqlalchemy import text

    from app.extensions import db

    if db.session.get_bind().dialect.name != "postgresql":
        return None
    pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
    db.session.commit()
    return pid if Path(f"/proc/{pid}/stat").exists() else None


def _server_cpu(pid: int | None) -> float:
    """CPU seconds the server process has used (user + system), read from /proc."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_one(database_url: str, path: Path, reimport: bool, second: Path | None = None) -> dict:
    """Import the file into a fresh database in this process; return timings and peak RSS."""
    from app import create_app
    from app.extensions import db
    from app.outcomes.ingest import import_file
    from config import Config

    _time_rollups()

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = database_url
        SCHEDULER_IN_PROCESS = False
        RATELIMIT_ENABLED = False

    app = create_app(BenchConfig)
    result: dict = {"database": database_url.split(":", 1)[0]}
    with app.app_context():
        db.create_all()
        _organisation()
        baseline_rss = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        backend = _backend()
        server_started = _server_cpu(backend)
        cpu_started = time.process_time()
        started = time.perf_counter()
        done = import_file(path, fmt="zendesk", timezone="Europe/Madrid", progress=_sample_memory)
        elapsed = time.perf_counter() - started
        result.update(rollup_seconds=_rollups_taken())
        result.update(peak_anon_mb=round(PEAK_ANON[0] / 1024), peak_file_mapped_mb=round(PEAK_FILE[0] / 1024),
                      parsers_private_mb=round(PEAK_PARSERS[0] / 1024), peak_total_mb=round(PEAK_TOTAL[0] / 1024))
        result.update(status=done.status, rows=done.rows_processed, created=done.rows_created,
                      failed=done.rows_failed, seconds=round(elapsed, 1),
                      rows_per_second=round(done.rows_processed / elapsed),
                      baseline_rss_mb=baseline_rss,
                      import_peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                      cpu_seconds=round(time.process_time() - cpu_started, 1))
        if backend is not None and _backend() == backend:  # the same server process did the whole import
            result["server_cpu_seconds"] = round(_server_cpu(backend) - server_started, 1)
        if reimport:
            started, cpu_started = time.perf_counter(), time.process_time()
            again = import_file(path, fmt="zendesk", timezone="Europe/Madrid")
            elapsed = time.perf_counter() - started
            result.update(reimport_seconds=round(elapsed, 1), reimport_unchanged=again.rows_unchanged,
                          reimport_cpu_seconds=round(time.process_time() - cpu_started, 1),
                          reimport_rows_per_second=round(again.rows_processed / elapsed),
                          reimport_rollup_seconds=_rollups_taken())
        if second is not None:
            started = time.perf_counter()
            more = import_file(second, fmt="zendesk", timezone="Europe/Madrid", progress=_sample_memory)
            elapsed = time.perf_counter() - started
            result.update(second_seconds=round(elapsed, 1), second_created=more.rows_created,
                          second_rollup_seconds=_rollups_taken(),
                          peak_anon_mb=round(PEAK_ANON[0] / 1024), parsers_private_mb=round(PEAK_PARSERS[0] / 1024),
                          peak_total_mb=round(PEAK_TOTAL[0] / 1024))
        from app.outcomes.attribution import reattribute_cases

        started, cpu_started = time.perf_counter(), time.process_time()
        changed = reattribute_cases(None)
        db.session.commit()
        result.update(reattribute_seconds=round(time.perf_counter() - started, 1), reattributed=changed,
                      reattribute_cpu_seconds=round(time.process_time() - cpu_started, 1))
        result["load"] = os.getloadavg()[0]
        db.session.remove()
        db.engine.dispose()
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the parsing processes (forked: pages shared)
    result["parser_peak_rss_mb"] = round(children.ru_maxrss / 1024)
    result["parser_cpu_seconds"] = round(children.ru_utime + children.ru_stime, 1)
    return result


def _child(database_url: str, path: Path, reimport: bool, second: Path | None = None) -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "bench.import_bench", "--child", database_url, "--file", str(path)]
        + (["--reimport"] if reimport else []) + (["--second-file", str(second)] if second else []),
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1],
    )
    if output.returncode != 0:
        sys.exit(f"benchmark on {database_url} failed:\n{output.stderr}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def _postgres(server: str, path: Path, reimport: bool, second: Path | None = None) -> dict:
    from sqlalchemy import create_engine, text

    name = f"podium_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        return _child(f"{server.rpartition('/')[0]}/{name}", path, reimport, second)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
                        help="PostgreSQL server URL to create a throwaway database on ('' to skip)")
    parser.add_argument("--reimport", action="store_true", help="also time a second, unchanged import")
    parser.add_argument("--runs", type=int, default=1, help="measure each database this many times")
    parser.add_argument("--more", action="store_true",
                        help="then import as many new rows (other ids) into the database that holds the first file")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="measure one database only")
    parser.add_argument("--dir", help="keep the generated files in this folder and reuse them (never commit them)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--second-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        second = Path(args.second_file) if args.second_file else None
        print(json.dumps(run_one(args.child, Path(args.file), args.reimport, second)))
        return
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as tmp:
        folder = Path(args.dir) if args.dir else Path(tmp)
        path = folder / f"zendesk-{args.rows}.csv"
        second = folder / f"zendesk-{args.rows}-more.csv" if args.more else None
        for file, first_id, seed in ((path, 1_000_000, 7), (second, 1_000_000 + args.rows, 8)):
            if file is None or file.exists():
                continue
            started = time.perf_counter()
            generate(file, args.rows, seed, first_id)
            print(f"generated {args.rows:,} rows ({file.stat().st_size / 2**20:.0f} MiB) "
                  f"in {time.perf_counter() - started:.0f} s", flush=True)
        results = []
        for run in range(args.runs):
            if args.only != "postgresql":
                sqlite = Path(tmp) / f"bench-{run}.db"
                results.append(_child(f"sqlite:///{sqlite}", path, args.reimport, second))
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{sqlite}{suffix}").unlink(missing_ok=True)
                _print(results[-1])
            if args.pg and args.only != "sqlite":
                results.append(_postgres(args.pg, path, args.reimport, second))
                _print(results[-1])
    if args.runs > 1:
        _summary(results)


def _print(result: dict) -> None:
    line = (f"{result['database']:<12} {result['rows']:>9,} rows in {result['seconds']:>6} s "
            f"(CPU {result['cpu_seconds']} s)  {result['rows_per_second']:>7,} rows/s  "
            f"peak RSS: before import {result['baseline_rss_mb']} MB, after import "
            f"{result['import_peak_rss_mb']} MB, at the end {result['peak_rss_mb']} MB; during the import "
            f"private {result['peak_anon_mb']} MB + file-mapped {result['peak_file_mapped_mb']} MB, parsing "
            f"processes' own {result.get('parsers_private_mb', 0)} MB, importer + parsers private at most "
            f"{result.get('peak_total_mb', 0)} MB  "
            f"re-attribute {result['reattribute_seconds']} s (CPU {result.get('reattribute_cpu_seconds')} s)")
    line += f"  of which rollup refresh {result['rollup_seconds']} s"
    if "server_cpu_seconds" in result:
        line += f"  PostgreSQL server CPU {result['server_cpu_seconds']} s"
    if result.get("parser_cpu_seconds"):
        line += (f"  parsing processes: CPU {result['parser_cpu_seconds']} s (all imports), peak RSS "
                 f"{result['parser_peak_rss_mb']} MB each at most")
    if "reimport_seconds" in result:
        line += (f"  re-import {result['reimport_seconds']} s (CPU {result.get('reimport_cpu_seconds')} s; "
                 f"{result['reimport_unchanged']:,} unchanged; "
                 f"rollups {result['reimport_rollup_seconds']} s)")
    if "second_seconds" in result:
        line += (f"  {result['second_created']:,} more into it {result['second_seconds']} s "
                 f"(rollups {result['second_rollup_seconds']} s)")
    print(line + f"  load at the end {result.get('load', 0):.1f}", flush=True)


def _summary(results: list[dict]) -> None:
    """min / median of each figure over the runs, per database."""
    import statistics

    for database in dict.fromkeys(result["database"] for result in results):
        runs = [result for result in results if result["database"] == database]
        parts = []
        for key, label in (("seconds", "import s"), ("rollup_seconds", "of which rollups s"),
                           ("cpu_seconds", "CPU s"), ("reimport_seconds", "re-import s"),
                           ("second_seconds", "as many more into it s"),
                           ("reimport_cpu_seconds", "re-import CPU s"), ("second_rollup_seconds", "of which rollups s"),
                           ("peak_anon_mb", "private MB"), ("peak_total_mb", "private with parsers MB"),
                           ("peak_rss_mb", "peak RSS MB"),
                           ("parser_peak_rss_mb", "parsing process peak RSS MB"), ("load", "load")):
            values = [run[key] for run in runs if key in run]
            if values:
                parts.append(f"{label} {min(values)} / {statistics.median(values)}")
        print(f"{database:<12} {len(runs)} runs, min / median: " + ", ".join(parts))


if __name__ == "__main__":
    main()
