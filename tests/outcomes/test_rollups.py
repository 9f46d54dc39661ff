"""The rollup path gives exactly the figures of the reference queries on the cases table, and stays in step."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, update

from app.extensions import db
from app.org.models import Organisation
from app.outcomes import metrics, rollups
from app.outcomes.metrics import Scope
from app.outcomes.models import Case
from app.outcomes.request_types import RequestTypeSetting

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


def random_cases(rng: random.Random, count: int, pods: list, start: datetime, days: int,
                 dims: dict | None = None) -> list[dict]:
    """Random cases; `dims` gives the choices of segment_id, stage_id, channel, request_type, assignee_id."""
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
            **{name: rng.choice(choices) for name, choices in (dims or {}).items()},
        ))
    return rows


@pytest.fixture
def world(make_pod, make_segment, make_user, stages):
    madrid = make_pod("Madrid", timezone="Europe/Madrid")
    canary = make_pod("Canary", timezone="Atlantic/Canary")
    sydney = make_pod("Sydney", timezone="Australia/Sydney")
    segments = [make_segment("Homes").id, make_segment("Shops").id]
    agents = [make_user("agent").id for _n in range(3)]
    rng = random.Random(14)
    pods = [madrid.id, canary.id, sydney.id, None]
    dims = {"segment_id": [*segments, None], "stage_id": [s.id for s in stages[:3]] + [None],
            "channel": ["phone", "email", "chat", None], "request_type": ["complaint", "quote", None],
            "assignee_id": [*agents, None]}
    # Around the autumn DST change in Europe (25 October 2026) and Sydney's spring one (4 October 2026).
    db.session.execute(insert(Case), random_cases(rng, 900, pods, datetime(2026, 9, 20), 45, dims))
    db.session.commit()
    return {"madrid": madrid, "canary": canary, "sydney": sydney, "segments": segments, "agents": agents,
            "stages": [s.id for s in stages[:3]]}


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
    return sorted((zone, day, pod or 0, created, done, sorted(rollups.minutes_of(blob)))
                  for zone, day, pod, created, done, blob in found)


def test_rebuild_gives_the_same_rows(world):
    before = _rows()
    rollups.rebuild()
    db.session.commit()
    after = _rows()
    assert before == after and before


# --- breakdowns: what a pod dashboard shows -------------------------------------------------------

def same_groups(fast: dict, slow: dict) -> None:
    assert fast.keys() == slow.keys()
    for key in fast:
        same(fast[key], slow[key])


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("dimension", rollups.BREAKDOWNS)
def test_a_pods_breakdowns_match_the_reference(world, period, dimension):
    for pod in ("madrid", "sydney"):
        scope = Scope(pod_id=world[pod].id)
        assert used_rollups(metrics.compute_by, dimension, *period, scope)
        same_groups(metrics.compute_by(dimension, *period, scope),
                    reference(metrics.compute_by, dimension, *period, scope))


def test_one_value_of_a_breakdown_matches_the_reference(world):
    period = (date(2026, 10, 1), date(2026, 10, 31))
    pod = world["sydney"].id
    for scope in (Scope(pod_id=pod, agent_id=world["agents"][0]), Scope(pod_id=pod, channel="chat"),
                  Scope(pod_id=pod, request_type="complaint"),
                  Scope(pod_id=pod, segment_id=world["segments"][1], stage_id=world["stages"][2])):
        assert used_rollups(metrics.compute, *period, scope)
        same(metrics.compute(*period, scope), reference(metrics.compute, *period, scope))  # backlog included
        fast = metrics.series(*period, "week", scope)
        slow = reference(metrics.series, *period, "week", scope)
        for (_a, figures), (_b, expected) in zip(fast, slow, strict=True):
            same(figures, expected)
    # A breakdown within the agent's figures, or read in another zone: the cases table answers, alike.
    for call, args, kwargs in (
            (metrics.compute_by, ("channel", *period, Scope(pod_id=pod, agent_id=world["agents"][0])), {}),
            (metrics.compute_by, ("channel", *period), {"tz": "Australia/Sydney"})):
        assert not used_rollups(call, *args, **kwargs)
        same_groups(call(*args, **kwargs), reference(call, *args, **kwargs))


@pytest.mark.parametrize("period", PERIODS[:3])
def test_the_organisations_breakdowns_match_the_reference_and_follow_its_zone(world, period):
    """Every pod's breakdowns (cases of no pod and of pods in other zones included) in the organisation's zone."""
    def check():
        for dimension in rollups.BREAKDOWNS:
            assert used_rollups(metrics.compute_by, dimension, *period)
            same_groups(metrics.compute_by(dimension, *period), reference(metrics.compute_by, dimension, *period))
        for scope in (Scope(channel="chat"), Scope(agent_id=world["agents"][1]), Scope(request_type="quote")):
            assert used_rollups(metrics.compute, *period, scope)
            same(metrics.compute(*period, scope), reference(metrics.compute, *period, scope))
            fast = metrics.series(*period, "week", scope)
            for (_a, figures), (_b, expected) in zip(fast, reference(metrics.series, *period, "week", scope),
                                                     strict=True):
                same(figures, expected)

    check()
    db.session.scalars(select(Organisation)).first().timezone = "Australia/Sydney"
    db.session.commit()
    check()


def test_breakdowns_follow_a_pod_moving_to_another_zone_and_re_attributed_cases(world):
    period = (date(2026, 10, 20), date(2026, 10, 31))
    pod = world["canary"]
    pod.timezone = "America/New_York"
    db.session.commit()
    scope = Scope(pod_id=pod.id)
    for dimension in rollups.BREAKDOWNS:
        assert used_rollups(metrics.compute_by, dimension, *period, scope)
        same_groups(metrics.compute_by(dimension, *period, scope),
                    reference(metrics.compute_by, dimension, *period, scope))
    ids = list(db.session.scalars(select(Case.id).where(Case.pod_id == world["madrid"].id).limit(30)))
    db.session.execute(update(Case), [{"id": i, "pod_id": pod.id, "channel": "web"} for i in ids])
    db.session.commit()
    same_groups(metrics.compute_by("channel", *period, scope), reference(metrics.compute_by, "channel", *period, scope))


# --- keeping in step: only the days touched; long writers queue them -------------------------------

def _row_ids_by_day() -> dict:
    R = rollups.CaseDayRollup
    found: dict = {}
    for row_id, day in db.session.execute(select(R.id, R.day)):
        found.setdefault(day, set()).add(row_id)
    return found


def test_a_write_recomputes_only_the_days_it_touched(world):
    before = _row_ids_by_day()
    db.session.add(Case(source="podium", external_id="one-more", status="open", pod_id=world["madrid"].id,
                        created_at=datetime(2026, 10, 12, 10), replies=0, reopens=0, group_stations=1,
                        assignee_stations=1, escalated=False))
    db.session.commit()
    after = _row_ids_by_day()
    changed = {day for day in before.keys() | after.keys() if before.get(day) != after.get(day)}
    assert changed and all(abs((day - date(2026, 10, 12)).days) <= 2 for day in changed)
    period = (date(2026, 10, 1), date(2026, 10, 31))
    same(metrics.compute(*period), reference(metrics.compute, *period))


def test_a_deferred_writer_queues_its_days_and_figures_stay_exact_until_they_are_refreshed(world):
    period = (date(2026, 9, 20), date(2026, 11, 10))
    scope = Scope(pod_id=world["madrid"].id)
    rng = random.Random(3)
    before = _row_ids_by_day()
    with rollups.deferred():
        for batch in range(3):  # an import: every batch its own transaction
            rows = random_cases(rng, 50, [world["madrid"].id], datetime(2026, 10, 1), 10)
            for n, row in enumerate(rows):
                row["external_id"] = f"import-{batch}-{n}"
            db.session.execute(insert(Case), rows)
            db.session.commit()
    assert _row_ids_by_day() == before  # nothing recomputed yet
    assert db.session.scalar(select(func.count()).select_from(rollups.RollupQueue))
    # While days wait, the periods reaching them come from the cases table; earlier ones still from rollups.
    assert not used_rollups(metrics.compute, *period, scope)
    same(metrics.compute(*period, scope), reference(metrics.compute, *period, scope))
    assert used_rollups(metrics.compute, date(2026, 9, 20), date(2026, 9, 25), scope)
    assert rollups.refresh_queued() > 0
    db.session.commit()
    assert not db.session.scalar(select(func.count()).select_from(rollups.RollupQueue))
    assert used_rollups(metrics.compute, *period, scope)
    same(metrics.compute(*period, scope), reference(metrics.compute, *period, scope))
    same_groups(metrics.compute_by("agent", *period, scope), reference(metrics.compute_by, "agent", *period, scope))
    changed = {day for day, ids in _row_ids_by_day().items() if before.get(day) != ids}
    # the days of those cases (created 1-10 October, resolved or closed within 5 days) and their neighbours
    assert changed and min(changed) >= date(2026, 9, 29) and max(changed) <= date(2026, 10, 18)


def test_refresh_days_recomputes_days_written_around_the_session():
    from app.outcomes.models import Case as C

    db.session.execute(insert(C), [dict(source="podium", external_id="x", status="open",
                                        created_at=datetime(2026, 3, 29, 0, 30), replies=0, reopens=0,
                                        group_stations=1, assignee_stations=1, escalated=False)])
    db.session.commit()
    with rollups.deferred():
        db.session.execute(update(C).where(C.external_id == "x").values(created_at=datetime(2026, 3, 30, 12)))
        db.session.commit()
    rollups.refresh_days([date(2026, 3, 29), date(2026, 3, 30)])
    rollups.refresh_queued()
    db.session.commit()
    day = (date(2026, 3, 30), date(2026, 3, 30))
    assert metrics.compute(*day, codes=["volume"])["volume"].value == 1
    same(metrics.compute(*day), reference(metrics.compute, *day))


@pytest.mark.parametrize("merge_up_to", [0, 60_000])  # searched, or merged and sorted
def test_percentiles_of_many_arrays_are_the_sorted_values(monkeypatch, merge_up_to):
    monkeypatch.setattr(metrics._Minutes, "SORTED", merge_up_to)
    rng = random.Random(9)
    for _trial in range(200):
        minutes = metrics._Minutes()
        every = []
        for _day in range(rng.randrange(1, 12)):
            values = [rng.choice((0, 1, 1, 5, 60, 61, 2000, rng.randrange(100_000)))
                      for _n in range(rng.randrange(0, 30))]
            every.extend(values)
            minutes.add(rollups.pack(values))
        every.sort()
        for p in (0, 10, 50, 90, 100):
            if not every:
                assert minutes.percentile(p) is None
                continue
            index, rest = divmod(p * (len(every) - 1), 100)
            expected = every[index] + (rest / 100) * ((every[index + 1] if rest else every[index]) - every[index])
            assert minutes.percentile(p) == pytest.approx(expected)


def test_the_scheduler_catches_up_with_days_a_writer_left_queued(app, world):
    from app.outcomes.models import Import
    from app.scheduler.runner import run_job

    with rollups.deferred():
        db.session.execute(insert(Case), [dict(source="podium", external_id="left", status="open",
                                               pod_id=world["madrid"].id, created_at=datetime(2026, 10, 7, 9),
                                               replies=0, reopens=0, group_stations=1, assignee_stations=1,
                                               escalated=False)])
        db.session.commit()
    now = datetime(2026, 12, 1, 9, 0)
    running = Import(source="zendesk", filename="big.csv", timezone="UTC", status="running", heartbeat_at=now)
    db.session.add(running)
    db.session.commit()
    assert run_job(app, "outcome_rollups", now, now=now) == "finished"
    assert db.session.scalar(select(func.count()).select_from(rollups.RollupQueue)) == 1  # the import's to do
    running.status = "failed"
    db.session.commit()
    later = now + timedelta(minutes=5)
    assert run_job(app, "outcome_rollups", later, now=later) == "finished"
    db.session.expire_all()
    assert not db.session.scalar(select(func.count()).select_from(rollups.RollupQueue))
    period = (date(2026, 10, 1), date(2026, 10, 31))
    assert used_rollups(metrics.compute, *period)
    same(metrics.compute(*period), reference(metrics.compute, *period))


def test_rework_and_complaint_share_come_from_rollups_whatever_the_complaint_marks(world):
    period = (date(2026, 9, 20), date(2026, 11, 10))
    codes = ["rework_rate", "complaint_share"]
    for scope in (None, Scope(pod_id=world["canary"].id)):
        assert metrics._fast_codes(codes, scope or Scope(), None) == codes
    figures = metrics.compute(*period, codes=codes)
    assert figures["rework_rate"].numerator > 0 and figures["complaint_share"].numerator > 0
    same(figures, reference(metrics.compute, *period, codes=codes))
    # An admin marks quotes as complaints too, then complaints as not: no rebuild, the same figures as the cases.
    db.session.add(RequestTypeSetting(code="quote", is_complaint=True))
    db.session.add(RequestTypeSetting(code="complaint", is_complaint=False))
    db.session.commit()
    for call, args in ((metrics.compute, period), (metrics.compute_by, ("pod", *period))):
        fast, slow = call(*args, codes=codes), reference(call, *args, codes=codes)
        if call is metrics.compute:
            fast, slow = {None: fast}, {None: slow}
        assert fast.keys() == slow.keys()
        for key in fast:
            same(fast[key], slow[key])
    weekly = metrics.series(*period, "week", Scope(pod_id=world["madrid"].id), codes=codes)
    for (_a, figures), (_b, expected) in zip(
            weekly, reference(metrics.series, *period, "week", Scope(pod_id=world["madrid"].id), codes=codes),
            strict=True):
        same(figures, expected)


# --- the two ways of counting days: GROUP BY queries, and one streamed read -----------------------

def _as_comparable(computed: tuple) -> list:
    """`_compute`'s three lists, each sorted, with minutes unpacked: the same days give the same rows."""
    return [sorted((tuple(sorted((name, rollups.minutes_of(value) if name.endswith("_minutes") else value)
                                for name, value in row.items())) for row in rows), key=repr)
            for rows in computed]


@pytest.mark.parametrize("span", [None, (date(2026, 10, 24), date(2026, 10, 26)), (date(2026, 9, 1), date(2026, 10, 4)),
                                  (date(2026, 10, 1), date(2026, 11, 30))])
def test_streamed_days_are_the_group_by_days(world, span):
    """`_compute_streamed` (one read of the cases, counted in Python) gives exactly `_compute`'s rows, in three zones,
    across both DST changes, with NULL pods, keys and minutes; in the organisation's zone and in pods' zones."""
    extra = random_cases(random.Random(5), 120, [world["sydney"].id, None], datetime(2026, 10, 3, 12), 3)
    for n, row in enumerate(extra):  # cases resolved or closed before they were created, and no due time
        row.update(external_id=f"odd{n}", closed_at=row["created_at"] - timedelta(minutes=n % 7), due_at=None)
        if n % 3 == 0:
            row["first_resolved_at"] = row["created_at"] - timedelta(hours=1)
    db.session.execute(insert(Case), extra)
    db.session.commit()
    session = db.session
    zones = sorted(rollups.built_zones(session))
    assert len(zones) == 3
    pod_zones, org = rollups._pod_zones(session), rollups.org_zone(session)
    if span is None:
        lo, hi = session.execute(select(func.min(Case.created_at), func.max(Case.created_at))).one()
        first, last, full = lo.date() - timedelta(days=1), hi.date() + timedelta(days=8), True
    else:
        (first, last), full = span, False
    slow = rollups._compute(session, zones, first, last, full, pod_zones, org)
    fast = rollups._compute_streamed(session, zones, first, last, full, pod_zones, org)
    assert all(slow) and _as_comparable(fast) == _as_comparable(slow)
