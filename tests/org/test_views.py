"""Pods, coverage matrix and admin pages: behaviour, permissions per role, bad input, query counts."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.org import services as org
from app.org.models import Coverage, Membership, User


@pytest.fixture
def world(make_user, make_pod, make_segment, stages):
    """A small organisation: one pod with coach and agent, a second pod, two segments."""
    people = {role: make_user(role) for role in ("agent", "coach", "leader", "admin")}
    outsider_coach = make_user("coach")
    pod = make_pod("Residential Care", coaches=[people["coach"]], members=[people["agent"]])
    other = make_pod("SMB Growth", coaches=[outsider_coach])
    segments = [make_segment("Residential"), make_segment("Small business")]
    return {"people": people, "pod": pod, "other": other, "segments": segments, "stages": stages,
            "outsider_coach": outsider_coach}


def _routes(world):
    pod, other = world["pod"], world["other"]
    seg, stage = world["segments"][0], world["stages"][0]
    agent = world["people"]["agent"]
    membership = db.session.scalar(select(Membership).where(Membership.user_id == agent.id))
    return [
        # (method, path, data, rule): rule is the minimum role, or "pod" for the pod's coach and leaders
        ("GET", "/", None, "agent"),
        ("GET", "/pods", None, "agent"),
        ("GET", f"/pods/{pod.id}", None, "agent"),
        ("GET", "/coverage", None, "agent"),
        ("GET", "/profile", None, "agent"),
        ("GET", "/pods/new", None, "leader"),
        ("GET", f"/pods/{pod.id}/edit", None, "pod"),
        ("GET", f"/pods/{other.id}/edit", None, "leader"),
        ("POST", f"/pods/{pod.id}/members/{membership.id}", {"profile": "specialist", "skills": "billing"}, "pod"),
        ("POST", f"/coverage/{seg.id}/{stage.id}", {"pod_id": pod.id, "op": "assign"}, "pod"),
        ("POST", f"/coverage/{seg.id}/{stage.id}", {"pod_id": pod.id, "op": "unassign"}, "pod"),
        ("POST", f"/coverage/{seg.id}/{stage.id}", {"pod_id": other.id, "op": "assign"}, "leader"),
        ("GET", "/admin/users", None, "admin"),
        ("GET", "/admin/users/new", None, "admin"),
        ("GET", f"/admin/users/{agent.id}/edit", None, "admin"),
        ("GET", "/admin/segments", None, "admin"),
        ("GET", "/admin/stages", None, "admin"),
        ("GET", "/admin/segments/new", None, "admin"),
        ("GET", f"/admin/stages/{stage.id}/edit", None, "admin"),
        ("GET", "/admin/settings", None, "admin"),
    ]


RANK = {"agent": 0, "coach": 1, "leader": 2, "admin": 3}


def _allowed(rule: str, role: str) -> bool:
    if rule == "pod":
        return role in ("coach", "leader", "admin")
    return RANK[role] >= RANK[rule]


@pytest.mark.parametrize("role", ["anonymous", "agent", "coach", "leader", "admin"])
def test_every_route_by_role(client, auth, world, role):
    if role != "anonymous":
        auth.login(world["people"][role])
    for method, path, data, rule in _routes(world):
        response = client.open(path, method=method, data=data)
        if role == "anonymous":
            assert response.status_code == 302 and "/login" in response.headers["Location"], path
        elif _allowed(rule, role):
            assert response.status_code in (200, 302), (role, method, path, response.status_code)
        else:
            assert response.status_code == 403, (role, method, path, response.status_code)


def test_coach_of_another_pod_cannot_edit_this_pod(client, auth, world):
    auth.login(world["outsider_coach"])
    assert client.get(f"/pods/{world['pod'].id}/edit").status_code == 403
    assert client.post(f"/pods/{world['pod'].id}/members", data={"user_id": 1}).status_code == 403


def test_leader_assigns_a_cell_in_place_with_htmx(client, auth, world):
    auth.login(world["people"]["leader"])
    seg, stage, pod = world["segments"][0], world["stages"][2], world["pod"]
    response = client.post(f"/coverage/{seg.id}/{stage.id}", data={"pod_id": pod.id, "op": "assign"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith(f'<td id="coverage-cell-{seg.id}-{stage.id}"')
    assert "Residential Care" in body and 'hx-swap-oob="true"' in body and "<html" not in body
    cell = org.coverage_cell(seg, stage)
    assert [p.name for p in cell.pods] == ["Residential Care"]


def test_coach_assigns_and_unassigns_their_own_pod_in_place(client, auth, world):
    auth.login(world["people"]["coach"])
    seg, stage, pod = world["segments"][1], world["stages"][3], world["pod"]
    response = client.post(f"/coverage/{seg.id}/{stage.id}", data={"pod_id": pod.id, "op": "assign"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith(f'<td id="coverage-cell-{seg.id}-{stage.id}"')
    assert 'id="coverage-summary" hx-swap-oob="true"' in body
    assert "Residential Care now covers Small business · Post-sale &amp; warranty." in body
    assert [p.name for p in org.coverage_cell(seg, stage).pods] == ["Residential Care"]
    row = db.session.scalar(select(Coverage))
    assert row.assigned_by_id == world["people"]["coach"].id
    response = client.post(f"/coverage/{seg.id}/{stage.id}", data={"pod_id": pod.id, "op": "unassign"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert org.coverage_cell(seg, stage).is_gap


def test_coach_cannot_assign_or_remove_another_pod(client, auth, world):
    seg, stage = world["segments"][0], world["stages"][1]
    org.assign_coverage(world["people"]["leader"], world["other"], seg, stage)
    db.session.commit()
    auth.login(world["people"]["coach"])
    for op in ("assign", "unassign"):
        response = client.post(f"/coverage/{seg.id}/{stage.id}", data={"pod_id": world["other"].id, "op": op},
                               headers={"HX-Request": "true"})
        assert response.status_code == 403, op
    other_cell = world["segments"][1], world["stages"][0]
    response = client.post(f"/coverage/{other_cell[0].id}/{other_cell[1].id}",
                           data={"pod_id": world["other"].id, "op": "assign"})
    assert response.status_code == 403
    assert [p.name for p in org.coverage_cell(seg, stage).pods] == ["SMB Growth"]
    assert db.session.scalar(select(func.count()).select_from(Coverage)) == 1


def test_coach_sees_controls_only_for_their_pod(client, auth, world):
    seg, stage = world["segments"][0], world["stages"][0]
    org.assign_coverage(world["people"]["leader"], world["other"], seg, stage)
    db.session.commit()
    auth.login(world["people"]["coach"])
    page = client.get("/coverage").get_data(as_text=True)
    pod, other = world["pod"], world["other"]
    assert f'<option value="{pod.id}">Residential Care</option>' in page
    assert f'<option value="{other.id}">' not in page
    assert f'name="pod_id" value="{other.id}"' not in page, "no remove button on another pod's chip"
    assert "You can assign the journeys of the pod you coach: Residential Care." in page
    org.assign_coverage(world["people"]["leader"], pod, seg, stage)
    db.session.commit()
    page = client.get("/coverage").get_data(as_text=True)
    assert f'name="pod_id" value="{pod.id}"' in page, "a remove button on their own pod's chip"


def test_leader_may_assign_any_pod(client, auth, world):
    auth.login(world["people"]["leader"])
    page = client.get("/coverage").get_data(as_text=True)
    assert "Residential Care</option>" in page and "SMB Growth</option>" in page
    assert "You can assign the journeys" not in page
    seg, stage = world["segments"][1], world["stages"][4]
    for pod in (world["pod"], world["other"]):
        response = client.post(f"/coverage/{seg.id}/{stage.id}", data={"pod_id": pod.id, "op": "assign"})
        assert response.status_code == 302
    assert org.coverage_cell(seg, stage).is_overlap


def test_coach_without_a_pod_sees_the_matrix_read_only(client, auth, world, make_user):
    lone_coach = make_user("coach")
    auth.login(lone_coach)
    page = client.get("/coverage").get_data(as_text=True)
    assert "cell-gap" in page and "Assign" not in page
    seg, stage = world["segments"][0], world["stages"][0]
    response = client.post(f"/coverage/{seg.id}/{stage.id}", data={"pod_id": world["pod"].id, "op": "assign"})
    assert response.status_code == 403


def test_agent_of_the_pod_cannot_assign_it(client, auth, world):
    auth.login(world["people"]["agent"])
    seg, stage = world["segments"][0], world["stages"][0]
    for op in ("assign", "unassign"):
        response = client.post(f"/coverage/{seg.id}/{stage.id}", data={"pod_id": world["pod"].id, "op": op})
        assert response.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Coverage)) == 0


def test_inactive_pod_segment_or_stage_cannot_be_assigned(client, auth, world):
    auth.login(world["people"]["leader"])
    seg, stage, pod = world["segments"][0], world["stages"][0], world["pod"]
    pod.active = False
    db.session.commit()
    assert client.post(f"/coverage/{seg.id}/{stage.id}", data={"pod_id": pod.id, "op": "assign"}).status_code == 404
    pod.active = True
    seg.active = False
    db.session.commit()
    assert client.post(f"/coverage/{seg.id}/{stage.id}", data={"pod_id": pod.id, "op": "assign"}).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Coverage)) == 0


def test_assigning_twice_does_not_duplicate_and_unassign_keeps_history(client, auth, world):
    auth.login(world["people"]["leader"])
    seg, stage, pod = world["segments"][0], world["stages"][0], world["pod"]
    for _ in range(2):
        client.post(f"/coverage/{seg.id}/{stage.id}", data={"pod_id": pod.id, "op": "assign"})
    assert db.session.scalar(select(func.count()).select_from(Coverage)) == 1
    client.post(f"/coverage/{seg.id}/{stage.id}", data={"pod_id": pod.id, "op": "unassign"})
    rows = list(db.session.scalars(select(Coverage)))
    assert len(rows) == 1 and rows[0].valid_to is not None
    assert org.coverage_cell(seg, stage).is_gap


def test_matrix_shows_gaps_and_overlaps(client, auth, world):
    seg, stage = world["segments"][0], world["stages"][0]
    leader = world["people"]["leader"]
    org.assign_coverage(leader, world["pod"], seg, stage)
    org.assign_coverage(leader, world["other"], seg, stage)
    db.session.commit()
    matrix = org.coverage_matrix()
    assert matrix.cell(seg.id, stage.id).is_overlap
    assert len(matrix.gaps) == 2 * 5 - 1
    auth.login(world["people"]["agent"])
    page = client.get("/coverage").get_data(as_text=True)
    assert "cell-overlap" in page and "cell-gap" in page
    assert "Assign" not in page, "agents see the matrix read-only"


@pytest.mark.parametrize("data", [
    {"pod_id": "abc", "op": "assign"},
    {"pod_id": "", "op": "assign"},
    {"pod_id": "1", "op": "explode"},
    {"op": "assign"},
    {"pod_id": "1" * 40, "op": "assign"},
    {"pod_id": "1\x00", "op": "assign"},
])
def test_coverage_bad_input_is_400(client, auth, world, data):
    auth.login(world["people"]["leader"])
    seg, stage = world["segments"][0], world["stages"][0]
    assert client.post(f"/coverage/{seg.id}/{stage.id}", data=data).status_code == 400


def test_coverage_unknown_ids_are_404(client, auth, world):
    auth.login(world["people"]["leader"])
    seg, stage = world["segments"][0], world["stages"][0]
    assert client.post(f"/coverage/{seg.id}/{stage.id}", data={"pod_id": "99999", "op": "assign"}).status_code == 404
    assert client.post(f"/coverage/9999/{stage.id}", data={"pod_id": "1", "op": "assign"}).status_code == 404


def test_htmx_errors_come_back_as_a_message_for_the_flash_area(client, auth, world):
    auth.login(world["people"]["agent"])
    seg, stage = world["segments"][0], world["stages"][0]
    response = client.post(f"/coverage/{seg.id}/{stage.id}", data={"pod_id": world["pod"].id, "op": "assign"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert response.headers["HX-Retarget"] == "#flash-area"
    assert "<html" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/pods/abc", "/pods/99999", "/pods/-1", "/admin/users/abc/edit", "/nowhere"])
def test_malformed_and_unknown_ids_are_404(client, auth, world, path):
    auth.login(world["people"]["admin"])
    response = client.get(path)
    assert response.status_code == 404
    assert "Not found" in response.get_data(as_text=True)


def test_wrong_method_is_405_in_the_layout(client, auth, world):
    auth.login(world["people"]["admin"])
    response = client.get(f"/coverage/{world['segments'][0].id}/{world['stages'][0].id}")
    assert response.status_code == 405
    assert "Podium" in response.get_data(as_text=True)


def test_oversized_body_is_413(client, auth, world, app):
    auth.login(world["people"]["admin"])
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/admin/segments/new", data={"name": big})
    assert response.status_code == 413


def test_coach_adds_and_ends_a_membership_history_kept(client, auth, world, make_user):
    from datetime import timedelta

    from app.timeutil import utcnow

    today = utcnow().date()
    newcomer = make_user("agent", name="Javier Ortega")
    auth.login(world["people"]["coach"])
    pod = world["pod"]
    response = client.post(f"/pods/{pod.id}/members", data={
        "user_id": newcomer.id, "start_date": (today - timedelta(days=3)).isoformat(), "profile": "specialist",
        "skills": "porting"})
    assert response.status_code == 302
    membership = db.session.scalar(select(Membership).where(Membership.user_id == newcomer.id))
    assert membership.profile == "specialist" and membership.skills == "porting"
    again = client.post(f"/pods/{pod.id}/members", data={
        "user_id": newcomer.id, "start_date": today.isoformat(), "profile": "generalist"})
    assert again.status_code in (302, 303, 409)
    assert db.session.scalar(select(func.count()).select_from(Membership).where(Membership.user_id == newcomer.id)) == 1
    bad_end = client.post(f"/pods/{pod.id}/members/{membership.id}/end",
                          data={"end_date": (today - timedelta(days=5)).isoformat()})
    assert bad_end.status_code == 422, "a membership cannot end before it starts"
    end = today - timedelta(days=1)
    client.post(f"/pods/{pod.id}/members/{membership.id}/end", data={"end_date": end.isoformat()})
    db.session.refresh(membership)
    assert membership.end_date == end
    page = client.get(f"/pods/{pod.id}").get_data(as_text=True)
    assert "Former members" in page and "Javier Ortega" in page


def test_leader_creates_a_pod_with_coach(client, auth, world):
    auth.login(world["people"]["leader"])
    coach = world["people"]["coach"]
    response = client.post("/pods/new", data={
        "name": "Enterprise Accounts", "mission": "Own enterprise journeys", "timezone": "Europe/Rome",
        "standup_time": "10:00", "working_days": ["1", "2", "3", "4", "5"], "coaches": [str(coach.id)]})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Enterprise Accounts" in page and coach.display_name in page


@pytest.mark.parametrize("data", [
    {"name": "", "timezone": "Europe/Rome", "standup_time": "10:00", "working_days": ["1"]},
    {"name": "Residential Care", "timezone": "Europe/Rome", "standup_time": "10:00", "working_days": ["1"]},
    {"name": "X", "timezone": "Nowhere/City", "standup_time": "10:00", "working_days": ["1"]},
    {"name": "X", "timezone": "Europe/Rome", "standup_time": "25:99", "working_days": ["1"]},
    {"name": "X", "timezone": "Europe/Rome", "standup_time": "10:00", "working_days": []},
    {"name": "X", "timezone": "Europe/Rome", "standup_time": "10:00", "working_days": ["9"]},
    {"name": "A\x00B", "timezone": "Europe/Rome", "standup_time": "10:00", "working_days": ["1"]},
    {"name": "y" * 10_000, "timezone": "Europe/Rome", "standup_time": "10:00", "working_days": ["1"]},
])
def test_pod_form_bad_input_is_a_clear_400(client, auth, world, data):
    auth.login(world["people"]["leader"])
    response = client.post("/pods/new", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "field-error" in page or "not allowed" in page  # NUL: refused before any view runs


def test_admin_creates_user_with_case_insensitive_unique_email(client, auth, world):
    auth.login(world["people"]["admin"])
    data = {"email": "Giulia.Russo@Example.com", "display_name": "Giulia Russo", "role": "coach", "locale": "it",
            "timezone": "Europe/Rome", "active": "y", "password": "long-enough-pass"}
    assert client.post("/admin/users/new", data=data).status_code == 302
    user = db.session.scalar(select(User).where(User.email == "giulia.russo@example.com"))
    assert user is not None and user.role == "coach" and user.locale == "it"
    again = client.post("/admin/users/new", data={**data, "email": "GIULIA.RUSSO@example.com"})
    assert again.status_code == 400
    assert "already uses this email" in again.get_data(as_text=True)


def test_admin_cannot_deactivate_or_demote_themselves(client, auth, world):
    admin = world["people"]["admin"]
    auth.login(admin)
    client.post(f"/admin/users/{admin.id}/deactivate")
    response = client.post(f"/admin/users/{admin.id}/edit", data={
        "email": admin.email, "display_name": admin.display_name, "role": "agent", "locale": "en",
        "timezone": "UTC", "active": "y"})
    assert response.status_code == 400
    db.session.refresh(admin)
    assert admin.active and admin.role == "admin"


def test_admin_edits_segments_and_stage_order(client, auth, world):
    auth.login(world["people"]["admin"])
    assert client.post("/admin/segments/new", data={"name": "Enterprise", "position": "3", "active": "y"}).status_code == 302
    duplicate = client.post("/admin/segments/new", data={"name": "enterprise", "position": "4", "active": "y"})
    assert duplicate.status_code == 400
    stages = world["stages"]
    client.post(f"/admin/stages/{stages[1].id}/move", data={"direction": "up"})
    assert [s.name for s in org.active_stages()][:2] == ["Sale & onboarding", "Pre-sale"]
    assert client.post(f"/admin/stages/{stages[1].id}/move", data={"direction": "sideways"}).status_code == 400


def test_default_stages_exist_on_a_new_database(stages):
    assert [s.name for s in stages] == [
        "Pre-sale", "Sale & onboarding", "In-life service", "Post-sale & warranty", "Account closure"]


def _grow(make_user, make_pod, make_segment, stages, pods: int, start: int):
    leader = make_user("leader")
    segment = make_segment()
    for n in range(pods):
        coach = make_user("coach")
        members = [make_user("agent") for _ in range(3)]
        pod = make_pod(f"Pod grown {start + n}", coaches=[coach], members=members)
        org.assign_coverage(leader, pod, segment, stages[n % len(stages)])
    db.session.commit()
    return leader


@pytest.mark.parametrize("path", ["/pods", "/coverage", "/"])
def test_page_query_count_does_not_grow_with_pods(client, auth, make_user, make_pod, make_segment, stages,
                                                  count_queries, path):
    leader = _grow(make_user, make_pod, make_segment, stages, pods=2, start=0)
    auth.login(leader)
    client.get(path)
    with count_queries() as small:
        assert client.get(path).status_code == 200
    _grow(make_user, make_pod, make_segment, stages, pods=10, start=100)
    with count_queries() as large:
        assert client.get(path).status_code == 200
    assert large.count == small.count, (small.statements, large.statements)
    # "My day" gathers one small section per feature (outcomes, autonomy, stand-up, retros, recognition).
    assert large.count <= (30 if path == "/" else 12)


def test_coverage_query_count_for_a_coach_does_not_grow_with_pods(client, auth, make_user, make_pod,
                                                                   make_segment, stages, count_queries):
    coach = make_user("coach")
    make_pod("Coached pod", coaches=[coach])
    _grow(make_user, make_pod, make_segment, stages, pods=2, start=0)
    auth.login(coach)
    client.get("/coverage")
    with count_queries() as small:
        assert client.get("/coverage").status_code == 200
    _grow(make_user, make_pod, make_segment, stages, pods=10, start=100)
    with count_queries() as large:
        assert client.get("/coverage").status_code == 200
    assert large.count == small.count, (small.statements, large.statements)
    assert large.count <= 12
