"""The demo tells one true story: every demo recognition's words match its evidence, and the wall names request
types, channels and priorities by their labels in the reader's language, never by their codes."""

from __future__ import annotations

import html
import re
from datetime import datetime

from flask_babel import refresh
from sqlalchemy import or_, select

from app.demo.org_data import COACH_EMAIL
from app.extensions import db
from app.org.models import Pod, User
from app.outcomes import metrics
from app.outcomes.models import CHANNELS, PRIORITIES, REQUEST_TYPES, Case
from app.recognition import demo as recognition_demo
from app.recognition.models import Recognition
from app.retros.models import RetroAction
from tests.demo_snapshot import load_demo_snapshot

NOW = datetime(2026, 11, 25, 9, 30)


def test_every_demo_recognition_says_what_its_evidence_shows(client, auth):
    assert load_demo_snapshot(now=NOW) is True
    recognitions = list(db.session.scalars(select(Recognition)))
    by_kind = {kind: [r for r in recognitions if r.evidence_kind == kind] for kind in ("case", "metric", "action")}
    assert len(by_kind["case"]) >= 10 and by_kind["metric"]

    cases = {row.id: row for row in db.session.execute(
        select(Case.id, Case.external_id, Case.request_type,
               or_(Case.assignee_stations > 1, Case.group_stations > 1).label("handed_off"))
        .where(Case.id.in_([r.case_id for r in by_kind["case"]])))}
    facts = metrics.case_outcomes(cases)
    said = {claim for claims, _text in recognition_demo.CASE_MESSAGES for claim in claims}
    claimed = set()
    for recognition in by_kind["case"]:
        claims = recognition_demo.claims_of(recognition.message)
        assert claims is not None, recognition.message
        case = cases[recognition.case_id]
        true_here = recognition_demo.case_claims(facts[case.id], case.request_type, bool(case.handed_off))
        assert claims <= true_here, (recognition.message, case.external_id, facts[case.id], case.request_type)
        if recognition_demo.FIRST_CONTACT in claims:  # the evidence line reads "first-contact resolution: yes"
            assert facts[case.id]["fcr"] is True
        claimed |= claims
    assert claimed >= said - {recognition_demo.COMPLAINT}  # the demo uses its messages, not only the safest one

    metric_texts = set(recognition_demo.METRIC_MESSAGE.values())
    action_texts = set(recognition_demo.ACTION_MESSAGE.values())
    assert all(r.message in metric_texts for r in by_kind["metric"])
    assert not any(r.message in metric_texts | action_texts for r in by_kind["case"])
    for recognition in by_kind["action"]:
        assert recognition.message in action_texts
        assert db.session.get(RetroAction, recognition.action_id).worked is True  # "it worked"

    # The Spanish coach's wall: request types, channels and priorities by their Spanish labels, no codes.
    coach = db.session.scalar(select(User).where(User.email == COACH_EMAIL))
    pod = db.session.scalar(select(Pod).where(Pod.coaches.any(User.id == coach.id)))
    auth.login(COACH_EMAIL, "podium-demo")
    refresh()  # the demo loader chose a language in the tests' application context, which requests share
    page = html.unescape(client.get(f"/recognition/pods/{pod.id}").get_data(as_text=True))
    assert "Caso " in page  # case evidence is on the wall
    codes = [code for code in (*REQUEST_TYPES, *CHANNELS, *PRIORITIES) if "_" in code or len(code) > 3]
    shown = re.findall(r"[·(,] ?(" + "|".join(re.escape(c.replace("_", " ")) + "|" + re.escape(c) for c in codes)
                       + r")\b", page)
    assert shown == [], shown
