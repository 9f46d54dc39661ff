"""The import's remembered attribution gives exactly what Attributor.attribute gives, case by case."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from app.outcomes.attribution import Attributor, CoverageIndex, Lookups, MembershipIndex
from app.outcomes.ingest import MemoAttributor


def test_memo_attribution_equals_the_plain_rule_on_random_cases():
    rng = random.Random(14)
    start = datetime(2026, 3, 20)
    coverage_rows = []
    for _n in range(40):  # overlapping, changing coverage of a few cells, bounds at any minute
        begin = start + timedelta(minutes=rng.randrange(60 * 24 * 20))
        end = None if rng.random() < 0.3 else begin + timedelta(minutes=rng.randrange(1, 60 * 24 * 10))
        coverage_rows.append((rng.randrange(1, 5), rng.randrange(1, 3), rng.randrange(1, 3), begin, end))
    membership_rows = []
    for _n in range(30):
        first = date(2026, 3, 20) + timedelta(days=rng.randrange(20))
        last = None if rng.random() < 0.4 else first + timedelta(days=rng.randrange(0, 6))
        membership_rows.append((rng.randrange(1, 6), rng.randrange(1, 5), first, last))
    lookups = Lookups({
        "segment": {"s1": 1, "s2": 2}, "stage": {"t1": 1, "t2": 2}, "request_type": {"queja": "complaint"},
        "user": {f"agent {n}": n for n in range(1, 7)}, "pod": {f"group {n}": n for n in range(1, 5)},
    })
    attributor = Attributor(lookups, CoverageIndex(coverage_rows),
                            MembershipIndex(membership_rows, "Europe/Madrid"))  # DST starts on 2026-03-29
    memo = MemoAttributor(attributor)
    choices = [None, "s1", "s2", "S1 "], [None, "t1", "t2"], [None, "Queja", "x"], \
        [None, *(f"group {n}" for n in range(1, 6))], [None, *(f"Agent {n}" for n in range(1, 8))]
    for _n in range(20_000):
        raws = [rng.choice(options) for options in choices]
        created = start + timedelta(seconds=rng.randrange(60 * 60 * 24 * 30))
        if rng.random() < 0.05:  # exactly on a coverage bound
            created = rng.choice(coverage_rows)[3]
        assert memo.attribute(*raws, created) == attributor.attribute(*raws, created), (raws, created)
