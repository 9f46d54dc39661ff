"""Accountability: decisions with their cases' outcomes and the autonomy rate, per agent and pod, by role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.autonomy.models import Decision
from app.extensions import db
from app.outcomes.models import Case
from app.timeutil import utcnow


@pytest.fixture
def ledger(team, set_limit, log):
    set_limit(per_case=5000)
    now = utcnow()
    db.session.add(Case(source="podium", external_id="K-1", status="closed", created_at=now - timedelta(days=3),
                        csat_score=2, reopens=1, pod_id=team.pod.id))
    db.session.commit()
    log(amount="20.00", case_ref="K-1", now=now - timedelta(days=2))
    log(amount="80.00", case_ref="K-2", now=now - timedelta(days=2))
    log(user=team.mate, amount="10.00", case_ref="MATE-1", now=now - timedelta(days=1))
    log(user=team.other_agent, amount="10.00", case_ref="OTHER-1", now=now - timedelta(days=1))


def _get(client, auth, user, query=""):
    auth.login(user)
    response = client.get(f"/autonomy/accountability{query}")
    auth.logout()
    return response


def test_agent_sees_own_decisions_with_case_outcomes(client, auth, team, ledger):
    response = _get(client, auth, team.agent)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "K-1" in page and "K-2" in page and "MATE-1" not in page and "OTHER-1" not in page
    assert "50.0%" in page, "autonomy rate: one decision within limit out of two"
    decision = db.session.scalar(select(Decision).where(Decision.case_ref == "K-1"))
    row = page[page.index(f'id="decision-{decision.id}"'):]
    row = row[:row.index("</tr>")]
    assert '<td class="num">2</td>' in row and '<td class="num">1</td>' in row, "CSAT 2 and one reopen"


@pytest.mark.parametrize("who, query, status", [
    ("agent", "?pod_id={pod}", 403),
    ("agent", "?agent_id={mate}", 403),
    ("coach", "", 200),
    ("coach", "?pod_id={other_pod}", 403),
    ("coach", "?agent_id={other_agent}", 403),
    ("coach", "?agent_id={mate}", 200),
    ("leader", "", 200),
    ("leader", "?pod_id={other_pod}", 200),
    ("leader", "?pod_id=99999", 404),
    ("leader", "?days=abc", 200),
])
def test_accountability_access(client, auth, team, ledger, who, query, status):
    ids = {"pod": team.pod.id, "other_pod": team.other_pod.id, "mate": team.mate.id,
           "other_agent": team.other_agent.id}
    user = {"agent": team.agent, "coach": team.coach, "leader": team.leader}[who]
    assert _get(client, auth, user, query.format(**ids)).status_code == status


def test_coach_sees_the_pod_and_leader_every_pod(client, auth, team, ledger):
    page = _get(client, auth, team.coach).get_data(as_text=True)
    assert "K-1" in page and "MATE-1" in page and "OTHER-1" not in page
    page = _get(client, auth, team.leader).get_data(as_text=True)
    assert 'id="accountability-pods"' in page and "Home pod" in page and "Other pod" in page


def test_accountability_query_count_does_not_grow(client, auth, team, ledger, log, count_queries):
    def measure():
        for user in (team.agent, team.coach, team.leader):
            auth.login(user)
            with count_queries() as counter:
                assert client.get("/autonomy/accountability").status_code == 200
            auth.logout()
            yield counter.count

    before = list(measure())
    for n in range(12):
        log(amount="15.00", case_ref=f"X-{n}", now=utcnow() - timedelta(hours=n + 1))
        log(user=team.mate, amount="90.00", case_ref=f"Y-{n}", now=utcnow() - timedelta(hours=n + 1))
    assert list(measure()) == before


def test_pod_view_lists_who_was_a_member_during_the_period(client, auth, team, make_user, ledger):
    """Members during the period shown (Membership.overlapping): someone who left within the window stays listed
    so their decisions are attributable; someone who left before it, or joins later, is not."""
    from app.org.models import Membership

    today = utcnow().date()
    left_recently = make_user("agent", name="Lina Leaver")
    left_long_ago = make_user("agent", name="Otto Oldtimer")
    joins_later = make_user("agent", name="Nora Newcomer")
    db.session.add_all([
        Membership(pod_id=team.pod.id, user_id=left_recently.id, start_date=today - timedelta(days=200),
                   end_date=today - timedelta(days=10)),
        Membership(pod_id=team.pod.id, user_id=left_long_ago.id, start_date=today - timedelta(days=400),
                   end_date=today - timedelta(days=120)),
        Membership(pod_id=team.pod.id, user_id=joins_later.id, start_date=today + timedelta(days=5)),
    ])
    db.session.commit()
    page = _get(client, auth, team.coach, f"?pod_id={team.pod.id}&days=90").get_data(as_text=True)
    chips = page[page.index('class="chips"'):]
    chips = chips[:chips.index("</p>")]
    assert "Ana Agent" in chips and "Ben Agent" in chips and "Lina Leaver" in chips
    assert "Otto Oldtimer" not in chips and "Nora Newcomer" not in chips
    wide = _get(client, auth, team.coach, f"?pod_id={team.pod.id}&days=180").get_data(as_text=True)
    wide = wide[wide.index('class="chips"'):]
    assert "Otto Oldtimer" in wide[:wide.index("</p>")], "a longer window reaches back to who left earlier"
