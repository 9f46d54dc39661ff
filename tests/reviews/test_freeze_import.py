"""The freeze against a real import: a helpdesk export imported after sign-off leaves the signed review as it was."""

from __future__ import annotations

from datetime import datetime

from app.extensions import db
from app.outcomes import ingest
from app.outcomes.models import Case, MappingKind, ValueMapping
from app.reviews import services as svc
from tests.outcomes.test_import_formats import zendesk_file, zendesk_row


def _volume(data: dict) -> int:
    return next(row for row in data["scorecard"] if row["code"] == "volume")["value"]


def test_import_after_sign_off_does_not_change_the_signed_review(team, tmp_path):
    from app.outcomes.attribution import normalize

    db.session.add(ValueMapping(kind=MappingKind.POD.value, source_value=normalize("Soporte"), target_id=team.pod.id))
    db.session.commit()
    first = ingest.import_file(zendesk_file(tmp_path, [zendesk_row(Id="1")], "first.csv"), fmt="zendesk",
                               timezone="Europe/Madrid")
    assert first.rows_created == 1
    assert db.session.query(Case).one().pod_id == team.pod.id
    review = svc.open_review(team.coach, team.pod, 2026, 3)
    svc.submit(team.coach, review)
    svc.sign_off(team.leader, review, now=datetime(2026, 10, 2, 9))
    db.session.commit()
    signed = svc.content(review)
    assert _volume(signed) == 1

    rows = [zendesk_row(Id=str(n), **{"Created at": f"2026-08-0{n} 10:00"}) for n in range(2, 6)]
    later = ingest.import_file(zendesk_file(tmp_path, rows, "later.csv"), fmt="zendesk", timezone="Europe/Madrid")
    assert later.rows_created == 4
    db.session.expire_all()
    review = db.session.get(type(review), review.id)
    assert _volume(svc.gather(review)) == 5  # the live figures moved
    assert svc.content(review) == signed and _volume(svc.content(review)) == 1
