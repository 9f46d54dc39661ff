"""An import's end adds its new cases' rows to the stored rollups (`ingest.add_new_cases`) instead of recomputing
their days from every case: the rollups must be exactly those a rebuild from the cases gives, in every zone, for
every table (days, breakdowns, request types), whatever the new cases (same days, new days, ties, DST days, none,
one), and days whose cases the import updated, or that someone else wrote meanwhile, are recomputed."""

from __future__ import annotations

import random
from datetime import datetime

import pytest
from sqlalchemy import func, insert, select, update

from app.extensions import db
from app.outcomes import ingest, rollups
from app.outcomes.models import Case, Import
from tests.outcomes.test_import_formats import zendesk_file
from tests.outcomes.test_import_rollups import rows_over_weeks
from tests.outcomes.test_rollups import random_cases, world  # noqa: F401


def all_rows() -> list:
    """Every row of the three day tables but its id, minutes unpacked, sorted."""
    found = []
    for table in rollups.DAY_TABLES:
        names = [column.name for column in table.columns if column.name != "id"]
        for row in db.session.execute(select(*(table.c[name] for name in names))):
            found.append((table.name, *((name, rollups.minutes_of(value) if name.endswith("_minutes") else value)
                                        for name, value in zip(names, row, strict=True))))
    return sorted(found, key=repr)


def rebuilt_rows() -> list:
    db.session.rollback()
    rollups.rebuild()
    found = all_rows()
    db.session.rollback()
    return found


@pytest.fixture
def spied(monkeypatch):
    """The local days the import's end added rows to, and those it recomputed."""
    seen = {"added": set(), "recomputed": set()}
    add_rows, rewrite_days = rollups.add_rows, rollups.rewrite_days

    def adding(session, zones, days, rows):
        days = list(days)
        seen["added"].update(days)
        return add_rows(session, zones, days, rows)

    def rewriting(session, zones, days):
        days = list(days)
        seen["recomputed"].update(days)
        return rewrite_days(session, zones, days)

    monkeypatch.setattr(rollups, "add_rows", adding)
    monkeypatch.setattr(rollups, "rewrite_days", rewriting)
    return seen


def import_cases(rows: list[dict], updates: list[dict] = (), during=None) -> ingest.ImportDays:
    """What a file import does, without its file: a snapshot before it, its cases written around the ORM batch
    by batch (days queued, not recomputed), the days of the cases it updated apart, then its end."""
    job = Import(source="podium", filename="t.csv", timezone="UTC")
    db.session.add(job)
    db.session.commit()
    days = ingest.ImportDays()
    days.before, days.import_id = rollups.before_import(db.session), job.id
    db.session.rollback()
    conn = db.session.connection()
    for start in range(0, len(rows), 40):
        batch = [{**row, "import_id": job.id} for row in rows[start:start + 40]]
        conn.execute(insert(Case.__table__), batch)
        touched = {row[name].date() for row in batch for name in rollups.TIMESTAMPS if row[name] is not None}
        rollups.queue_days(touched, db.session)
        days.update(touched)
        db.session.commit()
        conn = db.session.connection()
    for change in updates:
        case_id = change.pop("id")
        old = conn.execute(select(*(Case.__table__.c[name] for name in rollups.TIMESTAMPS))
                           .where(Case.__table__.c.id == case_id)).one()
        conn.execute(update(Case.__table__).where(Case.__table__.c.id == case_id).values(import_id=job.id, **change))
        moved = {moment.date() for moment in old if moment is not None}
        moved |= {change.get(name, getattr(old, name)).date() for name in rollups.TIMESTAMPS
                  if change.get(name, getattr(old, name)) is not None}
        rollups.queue_days(moved, db.session)
        days.update(moved)
        days.updated.update(moved)
        db.session.commit()
        conn = db.session.connection()
    if during is not None:
        during()
    ingest.refresh_rollups(days)
    return days


def new_cases(world, count: int, start: datetime, span_days: int, seed: int = 1, prefix: str = "new") -> list[dict]:  # noqa: F811, E501
    rng = random.Random(seed)
    pods = [world["madrid"].id, world["canary"].id, world["sydney"].id, None]
    dims = {"segment_id": [*world["segments"], None], "stage_id": [*world["stages"], None],
            "channel": ["phone", "email", "chat", "sms", None], "request_type": ["complaint", "quote", "other", None],
            "assignee_id": [*world["agents"], None]}
    rows = random_cases(rng, count, pods, start, span_days, dims)
    for n, row in enumerate(rows):
        row["external_id"] = f"{prefix}{n}"
    return rows


CASES = {
    "the same days": (300, datetime(2026, 9, 20), 45),
    "around both DST changes": (200, datetime(2026, 10, 3), 24),
    "new days only": (150, datetime(2027, 2, 1), 20),
    "one case": (1, datetime(2026, 10, 25, 1, 30), 1),
    "the same and new days": (250, datetime(2026, 10, 20), 60),
}


@pytest.mark.parametrize("name", CASES)
def test_new_cases_added_to_the_rollups_are_a_rebuild(world, spied, name):  # noqa: F811
    count, start, span = CASES[name]
    import_cases(new_cases(world, count, start, span))
    assert all_rows() == rebuilt_rows()
    assert spied["added"] and not spied["recomputed"]
    assert not db.session.scalar(select(func.count()).select_from(rollups.RollupQueue))


def test_ties_and_new_groups_of_a_day(world, spied):  # noqa: F811
    """New cases with exactly the minutes of cases already counted, and a channel no case had on those days."""
    existing = db.session.execute(select(Case).order_by(Case.id).limit(30)).scalars().all()
    rows = []
    for n, case in enumerate(existing):
        rows.append(dict(source="podium", external_id=f"tie{n}", status=case.status, pod_id=case.pod_id,
                         created_at=case.created_at, first_resolved_at=case.first_resolved_at,
                         closed_at=case.closed_at, first_reply_minutes=case.first_reply_minutes,
                         resolution_minutes=case.resolution_minutes, replies=case.replies, reopens=case.reopens,
                         group_stations=case.group_stations, assignee_stations=case.assignee_stations,
                         csat_score=case.csat_score, escalated=case.escalated, due_at=case.due_at,
                         segment_id=case.segment_id, stage_id=case.stage_id, request_type=case.request_type,
                         channel="fax" if n % 3 == 0 else case.channel, assignee_id=case.assignee_id))
    db.session.rollback()
    import_cases(rows)
    assert all_rows() == rebuilt_rows()
    assert spied["added"]


def test_an_import_creating_nothing_leaves_the_rollups(world, spied):  # noqa: F811
    before = all_rows()
    import_cases([])
    assert all_rows() == before == rebuilt_rows()
    assert not spied["added"] and not spied["recomputed"]


def test_days_of_updated_cases_are_recomputed(world, spied):  # noqa: F811
    old = db.session.execute(select(Case.id, Case.created_at).where(Case.first_resolved_at.is_not(None))
                             .order_by(Case.id).limit(3)).all()
    db.session.rollback()
    moved_to = datetime(2026, 11, 2, 23, 30)
    updates = [{"id": old[0].id, "first_resolved_at": moved_to, "pod_id": world["canary"].id},
               {"id": old[1].id, "csat_score": 5, "channel": "email"},
               {"id": old[2].id, "pod_id": None}]
    import_cases(new_cases(world, 300, datetime(2026, 9, 20), 45), updates)
    assert all_rows() == rebuilt_rows()
    assert spied["added"] and spied["recomputed"]
    assert moved_to.date() in spied["recomputed"] and old[0].created_at.date() in spied["recomputed"]
    assert not spied["added"] & spied["recomputed"]


def test_a_day_queued_before_the_import_began_is_recomputed(world, spied):  # noqa: F811
    """Its rollups may be stale (a writer left it queued): adding to them would keep them so."""
    stale = datetime(2026, 10, 6, 12)
    db.session.connection().execute(insert(Case.__table__), [dict(
        source="podium", external_id="unseen", status="open", created_at=stale, replies=0, reopens=0,
        group_stations=1, assignee_stations=1, escalated=False)])
    rollups.queue_days([stale.date()], db.session)
    db.session.commit()
    import_cases(new_cases(world, 200, datetime(2026, 10, 1), 10))
    assert all_rows() == rebuilt_rows()
    assert stale.date() in spied["recomputed"] and spied["added"]


def test_another_writer_during_the_import_makes_its_end_recompute(world, spied):  # noqa: F811
    """An interactive write during the import recomputes its days from the cases, the import's new ones included:
    adding them again would count them twice."""

    def interactive():
        case = db.session.scalars(select(Case).where(Case.created_at >= datetime(2026, 10, 10)).limit(1)).one()
        case.csat_score = 1 if case.csat_score != 1 else 5
        db.session.commit()

    import_cases(new_cases(world, 300, datetime(2026, 10, 1), 30), during=interactive)
    assert all_rows() == rebuilt_rows()
    assert not spied["added"]


def test_a_deferred_writer_during_the_import_makes_its_end_recompute(world, spied):  # noqa: F811
    """A writer that queues its days (`rollups.deferred`) changed cases under the rollups: the import's end, which
    takes its days off the queue, recomputes them with those cases rather than adding its own to stale rows."""

    def deferred():
        with rollups.deferred():
            db.session.execute(insert(Case), new_cases(world, 40, datetime(2026, 10, 5), 5, seed=9, prefix="api"))
            db.session.commit()

    import_cases(new_cases(world, 300, datetime(2026, 10, 1), 30), during=deferred)
    rollups.refresh_queued()
    db.session.commit()
    assert all_rows() == rebuilt_rows()
    assert not spied["added"]


def test_another_writer_between_two_commits_of_the_end(world, spied, monkeypatch):  # noqa: F811
    """The end adds a few weeks per transaction; a write between two of them: the days left are recomputed."""
    monkeypatch.setattr(ingest, "ROLLUP_DAYS_PER_COMMIT", 7)
    begin_write = ingest.begin_write
    calls = []

    def a_write_first():
        calls.append(1)
        if len(calls) == 3:  # before the third transaction of the end
            case = db.session.scalars(select(Case).where(Case.created_at >= datetime(2026, 10, 28)).limit(1)).one()
            case.first_reply_minutes = 4321
            db.session.commit()
        begin_write()

    monkeypatch.setattr(ingest, "begin_write", a_write_first)
    days = import_cases(new_cases(world, 300, datetime(2026, 9, 20), 45))
    assert len(calls) == 3 and len(days) > 30 and spied["added"]
    assert all_rows() == rebuilt_rows()
    assert not db.session.scalar(select(func.count()).select_from(rollups.RollupQueue))


def test_a_file_imported_into_a_database_with_cases_adds_its_new_ones(tmp_path, monkeypatch):
    """End to end: a second file of new cases over the same weeks and later ones, then a third that updates some."""
    seen = []
    add_rows = rollups.add_rows
    monkeypatch.setattr(rollups, "add_rows", lambda s, z, days, rows: (seen.extend(days), add_rows(s, z, days, rows)))
    ingest.import_file(zendesk_file(tmp_path, rows_over_weeks(60)), fmt="zendesk", timezone="Europe/Madrid")
    assert all_rows() == rebuilt_rows()
    seen.clear()
    (tmp_path / "more").mkdir()
    done = ingest.import_file(zendesk_file(tmp_path / "more", rows_over_weeks(120, start=61)), fmt="zendesk",
                              timezone="Europe/Madrid", batch_size=25)
    assert done.rows_created == 120
    assert seen and all_rows() == rebuilt_rows()
    (tmp_path / "again").mkdir()
    changed = rows_over_weeks(30, start=150, Status="Closed", **{"Updated at": "2026-09-01 10:00"})
    done = ingest.import_file(zendesk_file(tmp_path / "again", changed), fmt="zendesk", timezone="Europe/Madrid")
    assert (done.rows_created, done.rows_updated) == (0, 30)
    assert all_rows() == rebuilt_rows()
    assert db.session.scalar(select(func.count()).select_from(Case)) == 180


def test_merged_minutes_are_sorted_and_keep_ties():
    a = rollups.pack([1, 5, 5, 9])
    b = rollups.pack([0, 5, 12])
    assert rollups.minutes_of(rollups._merged_minutes(a, b)) == [0, 1, 5, 5, 5, 9, 12]
    assert rollups._merged_minutes(None, b) == b and rollups._merged_minutes(a, None) == a
    assert rollups._merged_minutes(None, None) is None
    rng = random.Random(2)
    pairs = [(rollups.pack([rng.randrange(-3000, 3000) for _n in range(rng.randrange(0, 6))]),
              rollups.pack([rng.choice((-(2 ** 31), -1, 0, 7, 2 ** 31 - 1)) for _n in range(rng.randrange(0, 4))]))
             for _pair in range(500)]
    for (stored, added), merged in zip(pairs, rollups._merge_minutes(pairs), strict=True):
        assert rollups.minutes_of(merged) == sorted(rollups.minutes_of(stored) + rollups.minutes_of(added))
        assert merged is None or merged == rollups.pack(rollups.minutes_of(merged))


@pytest.mark.parametrize("huge", [False, True])
def test_one_sort_of_combined_keys_orders_as_lexsort(huge):
    """`_groups` sorts the cases by (day, pod, value, has minutes, minutes) with one integer key when it fits."""
    import numpy as np

    rng = np.random.default_rng(4)
    size = 5000
    keys = (rng.integers(-(2 ** 31) if huge else -50, 2 ** 31 - 1 if huge else 5000, size),  # minutes
            rng.integers(0, 2, size), rng.integers(-1, 2 ** 40 if huge else 60, size),  # has minutes, value
            rng.integers(-1, 9, size), rng.integers(0, 400, size))  # pod, day
    order = rollups._sort_order(keys)
    expected = np.lexsort(keys)
    for key in keys:
        assert (key[order] == key[expected]).all()
