"""Skills matrix pages and API: who may read and change what, htmx fragments, bounded query counts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.api.auth import create_token
from app.extensions import db
from app.skills import services
from app.skills.models import SkillChange, SkillLevel, SkillProposal
from app.standups import services as standups
from app.standups.models import StandupEntry
from app.timeutil import utcnow
from tests.skills.conftest import add_case

HTMX = {"HX-Request": "true"}


def _url(team, suffix: str = "") -> str:
    return f"/pods/{team.pod.id}/skills{suffix}"


@pytest.mark.parametrize(("who", "status"), [
    ("ana", 200), ("coach", 200), ("leader", 200), ("admin", 200), ("other_agent", 403), ("other_coach", 403),
])
def test_who_reads_the_matrix(client, auth, team, who, status):
    auth.login(getattr(team, who))
    assert client.get(_url(team)).status_code == status


def test_anonymous_is_sent_to_sign_in(client, team):
    response = client.get(_url(team))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("who", ["ana", "other_coach", "other_agent"])
def test_only_the_pods_coach_or_a_leader_sets_levels_adds_and_retires_skills(client, auth, team, who):
    skill = services.add_skill(team.coach, team.pod, "Billing system")
    db.session.commit()
    auth.login(getattr(team, who))
    for url, data in ((_url(team, "/levels"), {"user_id": team.ben.id, "skill": "rt:claim", "level": "teach"}),
                      (_url(team, "/custom"), {"name": "Fraud checks"}),
                      (_url(team, f"/custom/{skill.id}/retire"), {})):
        assert client.post(url, data=data).status_code == 403, url
    assert db.session.scalar(select(SkillChange.id)) is None


@pytest.mark.parametrize("who", ["leader", "admin"])
def test_leaders_set_levels_in_every_pod(client, auth, team, who):
    auth.login(getattr(team, who))
    response = client.post(_url(team, "/levels"), data={"user_id": team.ben.id, "skill": "rt:claim", "level": "teach"})
    assert response.status_code in (200, 302, 303)
    assert db.session.scalar(select(SkillChange.id)) is not None


def test_coach_sets_a_level_in_place_and_single_points_update(client, auth, team):
    add_case(team.pod, request_type="claim")
    services.set_level(team.coach, team.pod, team.ana.id, "rt:claim", "independent")
    db.session.commit()
    auth.login(team.coach)
    page = client.get(_url(team)).get_data(as_text=True)
    assert 'data-testid="spof-count">2<' in page  # claim (only Ana) and phone (nobody)
    response = client.post(_url(team, "/levels"), headers=HTMX,
                           data={"user_id": team.ben.id, "skill": "rt:claim", "level": "independent"})
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert fragment.startswith('<div id="skills-matrix">') or 'id="skills-matrix"' in fragment[:200]
    assert "<html" not in fragment
    assert 'data-testid="spof-count">1<' in fragment
    change = db.session.scalar(select(SkillChange).where(SkillChange.user_id == team.ben.id))
    assert (change.from_level, change.to_level, change.actor_id) == ("none", "independent", team.coach.id)


@pytest.mark.parametrize("data", [
    {"user_id": "1e3", "skill": "rt:claim", "level": "teach"},
    {"skill": "rt:claim", "level": "teach"},
    {"user_id": "2", "skill": "rt:claim", "level": "wizard"},
    {"user_id": "2", "skill": "rt:" + "x" * 60, "level": "teach"},
    {"user_id": "2", "skill": "c:99999999999", "level": "teach"},
    {"user_id": "2", "skill": "c:9999999999", "level": "teach"},  # beyond PostgreSQL's INTEGER
    {"user_id": "2", "skill": "c:١٢", "level": "teach"},
])
def test_bad_level_forms_get_a_clear_4xx(client, auth, team, data):
    auth.login(team.coach)
    response = client.post(_url(team, "/levels"), data=data)
    assert 400 <= response.status_code < 500
    assert db.session.scalar(select(SkillChange.id)) is None


def test_member_proposes_own_level_and_coach_confirms(client, auth, team):
    auth.login(team.ana)
    assert client.post(_url(team, "/levels"), data={"user_id": team.ana.id, "skill": "rt:claim",
                                                    "level": "teach"}).status_code == 403
    response = client.post(_url(team, "/proposals"), data={"skill": "rt:claim", "level": "independent"},
                           headers=HTMX)
    assert response.status_code == 200 and "proposed: Independent" in response.get_data(as_text=True)
    proposal = db.session.scalar(select(SkillProposal))
    assert (proposal.user_id, proposal.status) == (team.ana.id, "pending")
    assert client.post(_url(team, f"/proposals/{proposal.id}"), data={"verdict": "confirm"}).status_code == 403
    auth.logout()

    auth.login(team.other_agent)  # not a member: cannot propose in this pod
    assert client.post(_url(team, "/proposals"), data={"skill": "rt:claim", "level": "teach"}).status_code == 403
    auth.logout()

    auth.login(team.coach)
    page = client.get(_url(team)).get_data(as_text=True)
    assert "Ana Agent proposes Independent in Claim" in page
    response = client.post(_url(team, f"/proposals/{proposal.id}"), data={"verdict": "confirm"})
    assert response.status_code == 302
    assert db.session.scalar(select(SkillLevel.level).where(SkillLevel.user_id == team.ana.id)) == "independent"
    again = client.post(_url(team, f"/proposals/{proposal.id}"), data={"verdict": "decline"})
    assert again.status_code == 409
    assert client.post(_url(team, "/proposals/999999"), data={"verdict": "confirm"}).status_code == 404


def test_coach_adds_and_retires_a_skill(client, auth, team):
    auth.login(team.coach)
    assert client.post(_url(team, "/custom"), data={"name": "Billing system"}).status_code == 302
    assert client.post(_url(team, "/custom"), data={"name": "billing system"}).status_code == 409
    assert client.post(_url(team, "/custom"), data={"name": ""}).status_code == 422
    skill_id = services._custom_skills(team.pod.id)[0].id
    page = client.get(_url(team)).get_data(as_text=True)
    assert "Billing system" in page
    assert client.post(_url(team, f"/custom/{skill_id}/retire")).status_code == 302
    assert client.post(_url(team, f"/custom/{skill_id}/retire")).status_code == 409


def test_index_lists_the_pods_one_may_read(client, auth, team):
    auth.login(team.ana)
    response = client.get("/skills/")
    assert response.status_code == 302 and response.headers["Location"].endswith(_url(team))
    auth.logout()
    auth.login(team.leader)
    page = client.get("/skills/").get_data(as_text=True)
    assert "Skills matrix of Care" in page and "Skills matrix of Sales" in page


def test_pod_page_links_to_the_matrix_for_those_who_may_read_it(client, auth, team):
    auth.login(team.ana)
    assert _url(team) in client.get(f"/pods/{team.pod.id}").get_data(as_text=True)
    auth.logout()
    auth.login(team.other_agent)
    assert _url(team) not in client.get(f"/pods/{team.pod.id}").get_data(as_text=True)


def test_standup_board_shows_skills_nobody_present_covers(client, auth, team):
    add_case(team.pod, request_type="warranty", channel="email")
    services.set_level(team.coach, team.pod, team.ana.id, "rt:warranty", "independent")
    services.set_level(team.coach, team.pod, team.ben.id, "ch:email", "independent")
    db.session.commit()
    board = standups.board_for_today(team.pod)
    db.session.add(StandupEntry(board_id=board.id, user_id=team.ana.id, today="Claims"))
    db.session.commit()
    auth.login(team.coach)
    page = client.get(f"/standups/boards/{board.id}").get_data(as_text=True)
    section = page[page.index('id="standup-skill-gaps"'):]
    section = section[:section.index("</section>")]
    assert "Email" in section and "Warranty" not in section


def test_matrix_query_count_does_not_grow_with_data(client, auth, team, make_user, count_queries):
    from app.org import services as org

    auth.login(team.coach)

    def measure() -> int:
        with count_queries() as counter:
            assert client.get(_url(team)).status_code == 200
        return counter.count

    add_case(team.pod, request_type="claim", assignee=team.ana)
    services.set_level(team.coach, team.pod, team.ana.id, "rt:claim", "independent")
    db.session.commit()
    few = measure()
    kinds = ("claim", "warranty", "complaint", "quote", "information")
    channels = ("phone", "email", "chat", "web")
    for i in range(6):
        member = make_user("agent", name=f"Extra {i}")
        org.add_member(None, team.pod, member, start=utcnow().date().replace(year=2025))
        db.session.flush()
        services.set_level(team.coach, team.pod, member.id, f"rt:{kinds[i % 5]}", "teach")
        services.propose_level(member, team.pod, f"ch:{channels[i % 4]}", "learning")
        services.add_skill(team.coach, team.pod, f"Tool {i}")
        for j in range(15):
            add_case(team.pod, request_type=kinds[j % 5], channel=channels[j % 4], assignee=member,
                     handed_off=j % 3 == 0)
    db.session.commit()
    many = measure()
    assert many == few, (few, many)
    assert few <= 20


def test_standup_board_query_count_stays_bounded_with_skills(client, auth, team, make_user, count_queries):
    board = standups.board_for_today(team.pod)
    db.session.commit()
    auth.login(team.coach)

    def measure() -> int:
        with count_queries() as counter:
            assert client.get(f"/standups/boards/{board.id}").status_code == 200
        return counter.count

    few = measure()
    for i in range(5):
        skill = services.add_skill(team.coach, team.pod, f"Tool {i}")
        services.set_level(team.coach, team.pod, team.ana.id, skill.key, "independent")
        add_case(team.pod, request_type=("claim", "quote")[i % 2], channel=("chat", "web")[i % 2])
    db.session.add(StandupEntry(board_id=board.id, user_id=team.ana.id, today="Claims"))
    db.session.commit()
    assert measure() <= few + 1  # the board's own entries may add one


# --- the API -----------------------------------------------------------------------------------------------------

def _get(client, user, pod_id):
    _token, secret = create_token(user, "skills test")
    db.session.commit()
    return client.get(f"/api/v1/pods/{pod_id}/skills", headers={"Authorization": f"Bearer {secret}"})


def test_api_returns_the_matrix_with_the_pages_permission(client, team):
    add_case(team.pod, request_type="claim", channel="chat", handed_off=True)
    services.set_level(team.coach, team.pod, team.ana.id, "rt:claim", "teach")
    db.session.commit()
    response = _get(client, team.ana, team.pod.id)
    assert response.status_code == 200
    body = response.get_json()
    claim = next(s for s in body["skills"] if s["key"] == "rt:claim")
    assert claim["kind"] == "request_type" and claim["levels"] == [{"member": team.ana.id, "level": "teach"}]
    assert claim["demand"] == {"value": 1, "numerator": 1, "denominator": None}
    assert claim["handoff_rate"]["numerator"] == 1 and claim["single_point_of_failure"] is True
    assert body["training_needs"] == ["ch:chat"]
    assert {m["id"] for m in body["members"]} == {team.ana.id, team.ben.id, team.cleo.id}
    assert _get(client, team.leader, team.pod.id).status_code == 200
    assert _get(client, team.other_agent, team.pod.id).status_code == 403
    assert _get(client, team.other_coach, team.pod.id).status_code == 403
    assert _get(client, team.ana, 999999).status_code == 404
    assert client.get(f"/api/v1/pods/{team.pod.id}/skills").status_code == 401


def test_quarterly_review_page_shows_skill_coverage_then_and_now(client, auth, team):
    from datetime import datetime

    from app.reviews import services as reviews

    services.set_level(team.coach, team.pod, team.ana.id, "rt:claim", "independent", now=datetime(2026, 3, 2, 9))
    services.set_level(team.coach, team.pod, team.ben.id, "rt:claim", "independent", now=datetime(2026, 5, 4, 9))
    review = reviews.open_review(team.coach, team.pod, 2026, 2, now=datetime(2026, 7, 1, 9))
    db.session.commit()
    auth.login(team.coach)
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    section = page[page.index('id="activity-skills"'):]
    section = section[:section.index("</section>")]
    assert "0 of 1 at the start, 1 of 1 at the end" in section
    assert "Single points of failure: 1 at the start, 0 at the end" in section
    assert "Level changes: 1 (0 proposed by members)" in section
