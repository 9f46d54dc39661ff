"""The rollup path gives exactly the figures of the reference queries on the cases table, and stays in step."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from app.extensions import db
from app.org.models import Organisation
from app.outcomes import metrics, rollups
from app.outcomes.metrics import Scope
from app.outcomes.models import Case

CASE_CODES = [c for c in metrics.METRICS if c != "autonomy_rate"]


def reference(call, *args, **kwargs):
    """The same call answered from the cases table only."""
    original = metrics._rollup_ready
    metrics._rollup_ready = lambda *a, **k: False
    try:
        return call(*args, **kwargs)
    finally:
        metrics._rollup_ready = original


def used_rollups(call, *args, **kwargs) -> bool:
    seen = []
    original = metrics._from_rollups

    def spy(*a, **k):
        seen.append(True)
        return original(*a, **k)

    metrics._from_rollups = spy
    try:
        call(*args, **kwargs)
    finally:
        metrics._from_rollups = original
    return bool(seen)


def same(fast: dict, slow: dict) -> None:
    assert fast.keys() == slow.keys()
    for code in fast:
        a, b = fast[code], slow[code]
        assert a.numerator == b.numerator and a.denominator == b.denominator, (code, a, b)
        if a.value is None or b.value is None:
            assert a.value is None and b.value is None, (code, a, b)
        else:
            assert a.value == pytest.approx(b.value, rel=1e-9, abs=1e-9), (code, a, b)


def random_cases(rng: random.Random, count: int, pods: list, start: datetime, days: int) -> list[dict]:
    rows = []
    for n in range(count):
        created = start + timedelta(minutes=rng.randrange(days * 1440))
        resolved = created + timedelta(minutes=rng.choice((0, 5, 30, 30, 600, 3000))) if rng.random() < 0.8 else None
        closed = None
        if rng.random() < 0.2:
            closed = created + timedelta(minutes=rng.choice((1, 60, 7000)))
        rows.append(dict(
            source="podium", external_id=f"r{n}", status="solved" if resolved else "open",
            pod_id=rng.choice(pods), created_at=created, first_resolved_at=resolved, closed_at=closed,
            first_reply_minutes=rng.choice((None, 0, 1, 1, 2, 15, 15, 90, 1000)),
            resolution_minutes=int((resolved - created).total_seconds() // 60) if resolved else None,
            replies=rng.choice((0, 1, 1, 2, 4)), reopens=rng.choice((0, 0, 0, 1)),
            group_stations=rng.choice((1, 1, 2, 3)), assignee_stations=rng.choice((1, 1, 2)),
            csat_score=rng.choice((None, None, 1, 3, 4, 5)), escalated=rng.random() < 0.1,
            due_at=created + timedelta(hours=rng.choice((1, 24))) if rng.random() < 0.6 else None,
        ))
    return rows


@pytest.fixture
def world(make_pod):
    madrid = make_pod("Madrid", timezone="Europe/Madrid")
    canary = make_pod("Canary", timezone="Atlantic/Canary")
    sydney = make_pod("Sydney", timezone="Australia/Sydney")
    rng = random.Random(14)
    pods = [madrid.id, canary.id, sydney.id, None]
    # Around the autumn DST change in Europe (25 October 2026) and Sydney's spring one (4 October 2026).
    db.session.execute(insert(Case), random_cases(rng, 900, pods, datetime(2026, 9, 20), 45))
    db.session.commit()
    return {"madrid": madrid, "canary": canary, "sydney": sydney}


PERIODS = [
    (date(2026, 10, 1), date(2026, 10, 31)),   # both DST changes inside
    (date(2026, 10, 25), date(2026, 10, 25)),  # the DST day alone
    (date(2026, 10, 4), date(2026, 10, 4)),
    (date(2026, 9, 20), date(2026, 11, 10)),
    (date(2025, 1, 1), date(2025, 1, 31)),     # nothing in it
]


@pytest.mark.parametrize("period", PERIODS)
def test_organisation_and_pods_match_the_reference(world, period):
    for scope in (None, Scope(pod_id=world["madrid"].id), Scope(pod_id=world["sydney"].id)):
        assert used_rollups(metrics.compute, *period, scope)
        same(metrics.compute(*period, scope), reference(metrics.compute, *period, scope))
    by_pod = metrics.compute_by("pod", *period)
    slow = reference(metrics.compute_by, "pod", *period)
    assert by_pod.keys() == slow.keys()
    for key in by_pod:
        same(by_pod[key], slow[key])
    in_madrid = metrics.compute_by("pod", *period, tz="Europe/Madrid")
    slow = reference(metrics.compute_by, "pod", *period, tz="Europe/Madrid")
    assert in_madrid.keys() == slow.keys()
    for key in in_madrid:
        same(in_madrid[key], slow[key])


@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_series_match_the_reference(world, grain):
    for scope in (None, Scope(pod_id=world["canary"].id)):
        fast = metrics.series(date(2026, 9, 25), date(2026, 11, 3), grain, scope)
        slow = reference(metrics.series, date(2026, 9, 25), date(2026, 11, 3), grain, scope)
        assert [label for label, _f in fast] == [label for label, _f in slow]
        for (_a, figures), (_b, expected) in zip(fast, slow, strict=True):
            same(figures, expected)


def test_one_case_and_ties(make_pod):
    pod = make_pod("Solo")
    created = datetime(2026, 8, 3, 9)
    db.session.add(Case(source="podium", external_id="1", status="solved", pod_id=pod.id, created_at=created,
                        first_resolved_at=created + timedelta(minutes=7), resolution_minutes=7,
                        first_reply_minutes=3, replies=1, reopens=0, group_stations=1, assignee_stations=1,
                        escalated=False))
    db.session.commit()
    period = (date(2026, 8, 1), date(2026, 8, 31))
    figures = metrics.compute(*period)
    assert figures["resolution_p50"].value == 7 and figures["first_reply_p90"].value == 3
    same(figures, reference(metrics.compute, *period))
    for n in range(2, 6):  # ties: the same minutes again and again
        db.session.add(Case(source="podium", external_id=str(n), status="solved", pod_id=pod.id,
                            created_at=created, first_resolved_at=created + timedelta(minutes=7),
                            resolution_minutes=7 if n % 2 else 9, first_reply_minutes=3, replies=1, reopens=0,
                            group_stations=1, assignee_stations=1, escalated=False))
    db.session.commit()
    same(metrics.compute(*period), reference(metrics.compute, *period))


def test_rollups_follow_updates_deletes_bulk_statements_and_rollbacks(world):
    period = (date(2026, 9, 20), date(2026, 11, 10))
    case = db.session.scalars(select(Case).where(Case.first_resolved_at.is_not(None)).limit(1)).one()
    case.first_resolved_at = datetime(2026, 11, 9, 23, 30)  # moves to another day
    case.pod_id = world["canary"].id
    db.session.commit()
    same(metrics.compute(*period), reference(metrics.compute, *period))
    db.session.delete(db.session.scalars(select(Case).limit(1)).one())
    db.session.commit()
    ids = list(db.session.scalars(select(Case.id).limit(40)))
    db.session.execute(update(Case), [{"id": i, "pod_id": world["sydney"].id} for i in ids])
    db.session.commit()
    for key, figures in metrics.compute_by("pod", *period).items():
        same(figures, reference(metrics.compute_by, "pod", *period)[key])
    # Read in the same transaction as an uncommitted change: the engine sees it.
    db.session.add(Case(source="podium", external_id="new", status="open", created_at=datetime(2026, 10, 2),
                        replies=0, reopens=0, group_stations=1, assignee_stations=1, escalated=False))
    db.session.flush()
    assert metrics.compute(*period, codes=["volume"])["volume"].value == 900
    db.session.rollback()
    assert metrics.compute(*period, codes=["volume"])["volume"].value == 899
    same(metrics.compute(*period), reference(metrics.compute, *period))


def test_a_new_time_zone_is_built_and_the_file_import_keeps_rollups_in_step(world, make_pod, tmp_path):
    org = db.session.scalars(select(Organisation)).first()
    org.timezone = "America/New_York"
    db.session.commit()
    assert "America/New_York" in rollups.built_zones(db.session)
    period = (date(2026, 10, 1), date(2026, 10, 31))
    same(metrics.compute(*period), reference(metrics.compute, *period))
    from app.outcomes.ingest import upsert_cases
    from app.outcomes.records import CaseRecord

    upsert_cases([CaseRecord(external_id="api-1", status="solved", created_at=datetime(2026, 10, 5, 10),
                             first_resolved_at=datetime(2026, 10, 5, 11))], source="api")
    db.session.commit()
    same(metrics.compute(*period), reference(metrics.compute, *period))
    upsert_cases([CaseRecord(external_id="api-1", status="solved", created_at=datetime(2026, 10, 5, 10),
                             first_resolved_at=datetime(2026, 10, 20, 11))], source="api")  # moved
    db.session.commit()
    same(metrics.compute(*period), reference(metrics.compute, *period))


def _rows() -> list[tuple]:
    R = rollups.CaseDayRollup
    found = db.session.execute(select(R.zone, R.day, R.pod_id, R.created, R.done, R.resolution_minutes))
    return sorted((zone, day, pod or 0, created, done, bytes(blob or b""))
                  for zone, day, pod, created, done, blob in found)


def test_rebuild_gives_the_same_rows(world):
    before = _rows()
    rollups.rebuild()
    db.session.commit()
    after = _rows()
    assert before == after and before
