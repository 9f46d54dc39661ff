"""Where an import's time goes: parsing, range checks, attribution, SQL, each measured on its own.

    .venv/bin/python -m bench.import_profile [--rows 100000] [--db sqlite|postgresql] [--cprofile]

Generates a Zendesk export (bench.import_bench.generate), then on a fresh database with the benchmark's
organisation: (1) reads every row (csv + field readers + range check), (2) attributes every record,
(3) runs the whole import (parsing in its own thread, as in production) and (4) the rollup refresh at its
end. With --cprofile, the whole import runs in one thread under cProfile and the top functions are printed.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
import uuid
from pathlib import Path

from bench.import_bench import _organisation, generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--file", help="an existing export to read instead of generating one")
    parser.add_argument("--cprofile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="podium-profile-") as tmp:
        path = Path(args.file) if args.file else Path(tmp) / "zendesk.csv"
        if not args.file:
            generate(path, args.rows)
        if args.db == "sqlite":
            _profile(f"sqlite:///{tmp}/profile.db", path, args.cprofile)
        else:
            from sqlalchemy import create_engine, text

            name = f"podium_profile_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                _profile(f"{args.pg.rpartition('/')[0]}/{name}", path, args.cprofile)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


def _profile(url: str, path: Path, with_cprofile: bool) -> None:
    from app import create_app
    from app.extensions import db
    from app.outcomes import ingest
    from app.outcomes.importers import ParseOptions, open_text, parse
    from app.outcomes.records import CaseRecord
    from config import Config

    class ProfileConfig(Config):
        SQLALCHEMY_DATABASE_URI = url
        SCHEDULER_IN_PROCESS = False
        RATELIMIT_ENABLED = False

    app = create_app(ProfileConfig)
    with app.app_context():
        db.create_all()
        _organisation()
        options = ParseOptions(timezone="Europe/Madrid", salt=ingest.customer_salt())
        started = time.perf_counter()
        records = 0
        with open_text(path) as stream:
            for _line, item in parse(stream, "zendesk", options):
                records += isinstance(item, CaseRecord)
        parse_seconds = time.perf_counter() - started
        print(f"parse + validate  {parse_seconds:6.1f} s  ({records:,} records)")

        writer = ingest.CaseWriter("zendesk")
        started = time.perf_counter()
        with open_text(path) as stream:
            for _line, item in parse(stream, "zendesk", options):
                if isinstance(item, CaseRecord):
                    writer.row(item)
        print(f"  + attribute      {time.perf_counter() - started - parse_seconds:6.1f} s")
        db.session.rollback()

        refreshed = [0.0]
        refresh = ingest.refresh_rollups

        def timed_refresh(*args, **kwargs):
            begun = time.perf_counter()
            refresh(*args, **kwargs)
            refreshed[0] += time.perf_counter() - begun

        ingest.refresh_rollups = timed_refresh
        profiler = cProfile.Profile() if with_cprofile else None
        if profiler is not None:
            ingest.PARSE_IN_THREAD = False
            profiler.enable()
        started = time.perf_counter()
        done = ingest.import_file(path, fmt="zendesk", timezone="Europe/Madrid")
        total = time.perf_counter() - started
        if profiler is not None:
            profiler.disable()
        print(f"import            {total - refreshed[0]:6.1f} s  ({done.rows_created:,} created, {done.status})")
        print(f"rollup refresh    {refreshed[0]:6.1f} s")
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
