"""The real-format Zendesk sample, imported as a leader would, reproduces its independently computed figures."""

from __future__ import annotations

import json
from datetime import date

import pytest

from app.outcomes import metrics
from app.outcomes.models import ImportStatus
from tests.fixtures.sample import EXPECTED, GROUPS, map_and_import


@pytest.fixture
def imported(make_segment, stages, make_pod, make_user):
    return map_and_import(make_user("leader"), make_segment, stages, make_pod)


def test_sample_reproduces_expected_figures(imported):
    expected = json.loads(EXPECTED.read_text())
    assert imported.status == ImportStatus.DONE.value, imported.message
    assert imported.rows_created + imported.rows_updated + imported.rows_unchanged == expected["rows"]
    assert imported.rows_failed == expected["bad_rows"]

    start, end = (date.fromisoformat(d) for d in expected["period"])
    figures = metrics.compute(start, end, tz=expected["timezone"])
    assert figures["volume"].value == expected["volume"]
    assert figures["resolved"].value == expected["resolved"]
    for code in ("fcr", "handoff_rate", "reopen_rate", "csat"):
        assert figures[code].value == pytest.approx(expected[code]), code
        assert figures[code].denominator == (expected["csat_n"] if code == "csat" else expected["resolved"])
    assert figures["csat"].numerator == round(expected["csat"] * expected["csat_n"])
    assert figures["resolution_p50"].value == pytest.approx(expected["resolution_p50"])
    assert figures["first_reply_p50"].value == pytest.approx(expected["first_reply_p50"])


def test_sample_figures_add_up_over_pods(imported):
    """The pods' figures partition the org's: numerators and denominators re-aggregate."""
    start, end = date(2026, 7, 1), date(2026, 9, 30)
    org = metrics.compute(start, end, tz="Europe/Madrid")
    by_pod = metrics.compute_by("pod", start, end, tz="Europe/Madrid")
    assert len(by_pod) == len(GROUPS)
    for code in ("volume", "resolved", "backlog"):
        assert sum(f[code].numerator for f in by_pod.values()) == org[code].numerator
    for code in ("fcr", "handoff_rate", "reopen_rate", "csat"):
        assert sum(f[code].numerator for f in by_pod.values()) == org[code].numerator
        assert sum(f[code].denominator for f in by_pod.values()) == org[code].denominator
