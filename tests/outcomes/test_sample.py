"""The real-format Zendesk sample, imported as a leader would, reproduces its independently computed figures."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from app.extensions import db
from app.outcomes import attribution, ingest, metrics
from app.outcomes.models import ImportStatus

# A copy of ../shared/samples kept in the repository, so the test runs on any clone.
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
CSV = SAMPLES / "zendesk_tickets_sample.csv"
EXPECTED = SAMPLES / "zendesk_tickets_sample.expected.json"

SEGMENTS = {"Residencial": "Residential", "Pymes": "SMB", "Empresas": "Enterprise"}
STAGES = {"Preventa": 0, "Venta": 1, "Posventa": 3, "Baja": 4}  # positions among the default stages
REQUEST_TYPES = {"Petición": "petition", "Garantía": "warranty", "Queja": "complaint", "Reclamo": "claim",
                 "Sugerencia": "suggestion", "Información": "information", "Cotización": "quote"}
GROUPS = ("Residencial Posventa", "Residencial Preventa", "Empresas", "Pymes", "Soporte")


@pytest.fixture
def imported(make_segment, stages, make_pod, make_user):
    """Map the custom fields and groups the way a leader would on the mappings page, then import."""
    leader = make_user("leader")
    for raw, name in SEGMENTS.items():
        attribution.save_mapping(leader, "segment", raw, target_id=make_segment(name).id)
    for raw, position in STAGES.items():
        attribution.save_mapping(leader, "stage", raw, target_id=stages[position].id)
    for raw, value in REQUEST_TYPES.items():
        attribution.save_mapping(leader, "request_type", raw, target_value=value)
    for group in GROUPS:
        attribution.save_mapping(leader, "pod", group, target_id=make_pod(group).id)
    db.session.commit()
    return ingest.import_file(CSV, fmt="zendesk", timezone="Europe/Madrid", actor=leader)


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
