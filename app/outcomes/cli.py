"""`flask outcomes ...`: import a helpdesk export, re-attribute cases."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.extensions import db
from app.org.services import get_organisation
from app.outcomes import attribution, import_jobs, ingest, rollups
from app.outcomes.importers import FORMATS, FileRejected, ParseOptions
from app.outcomes.models import ImportRowError, ImportStatus

outcomes_cli = AppGroup("outcomes", help="Customer outcomes: imports and figures.")

ERRORS_PRINTED = 20


@outcomes_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True, help="What exported the file.")
@click.option("--timezone", default=None, help="Time zone of the file's dates (default: the organisation's).")
@click.option("--segment-from", default=None, help="Column, or tag:PREFIX, holding the customer segment.")
@click.option("--stage-from", default=None, help="Column, or tag:PREFIX, holding the lifecycle stage.")
@click.option("--request-type-from", default=None, help="Column, or tag:PREFIX, holding the request type.")
@click.option("--quiet", is_flag=True, help="No progress lines.")
@click.option("--queue", is_flag=True,
              help="Store a copy of the file and queue the import for the worker (flask scheduler run); return at once.")
def import_command(path: str, fmt: str, timezone: str | None, segment_from: str | None, stage_from: str | None,
                   request_type_from: str | None, quiet: bool, queue: bool) -> None:
    """Import a Zendesk, Freshdesk or Podium CSV export; cases are matched by their id (upsert)."""
    timezone = timezone or get_organisation().timezone
    if queue:
        job_options = import_jobs.JobOptions(segment_from=segment_from, stage_from=stage_from,
                                             request_type_from=request_type_from)
        try:
            job = import_jobs.enqueue_copy(path, fmt=fmt, timezone=timezone, filename=Path(path).name,
                                           options=job_options, actor=None)
        except FileRejected as exc:
            click.echo(f"Refused, nothing imported: {exc.message}", err=True)
            sys.exit(2)
        click.echo(f"Import {job.id} queued ({job.rows_total:,} rows); the worker (flask scheduler run) runs it.")
        return
    options = ParseOptions(segment_from=segment_from, stage_from=stage_from, request_type_from=request_type_from)
    started = time.monotonic()
    last_report = [0.0]

    def progress(counts: ingest.ImportProgress) -> None:
        now = time.monotonic()
        if quiet or now - last_report[0] < 2:
            return
        last_report[0] = now
        click.echo(f"  {counts.processed:,} / ~{counts.total:,} rows", err=True)

    try:
        result = ingest.import_file(path, fmt=fmt, timezone=timezone, options=options, progress=progress)
    except FileRejected as exc:
        click.echo(f"Refused, nothing imported: {exc.message}", err=True)
        sys.exit(2)
    elapsed = time.monotonic() - started
    click.echo(f"Import {result.id}: {result.status} in {elapsed:.1f} s — {result.rows_processed:,} rows, "
               f"{result.rows_created:,} created, {result.rows_updated:,} updated, "
               f"{result.rows_unchanged:,} unchanged, {result.rows_failed:,} skipped.")
    if result.rows_failed:
        errors = db.session.execute(
            select(ImportRowError.line, ImportRowError.external_id, ImportRowError.reason)
            .where(ImportRowError.import_id == result.id).order_by(ImportRowError.line).limit(ERRORS_PRINTED)
        ).all()
        for line, external_id, reason in errors:
            click.echo(f"  line {line}" + (f" (id {external_id})" if external_id else "") + f": {reason}")
        if result.rows_failed > len(errors):
            click.echo(f"  … and {result.rows_failed - len(errors):,} more (see the import's page for the report).")
    if result.status != ImportStatus.DONE.value:
        click.echo(result.message, err=True)
        sys.exit(1)


@outcomes_cli.command("run-imports")
def run_imports_command() -> None:
    """Run the queued imports now, in this process, then stop (the scheduler's worker does this by itself)."""
    ran = import_jobs.run_pending_imports()
    click.echo(f"{ran:,} queued imports run.")


@outcomes_cli.command("reattribute")
def reattribute_command() -> None:
    """Apply the current mappings and coverage to every imported case (no re-import needed)."""
    changed = attribution.reattribute_cases(None)
    db.session.commit()
    click.echo(f"{changed:,} cases re-attributed.")


@outcomes_cli.command("rollups")
def rebuild_rollups() -> None:
    """Rebuild the per-day rollups the dashboards read (after restoring a database, or writing cases by hand)."""

    started = time.perf_counter()
    rollups.rebuild()
    db.session.commit()
    click.echo(f"Rollups rebuilt in {time.perf_counter() - started:.1f} s.")
