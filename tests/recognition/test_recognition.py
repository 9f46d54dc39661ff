"""Recognition: evidence that belongs to the receiver, no self-recognition, the monthly allowance, visibility,
suggestions and alignment on known data, the wall's bounded cost, and bad input."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.notifications.models import Notification
from app.outcomes.models import Case
from app.permissions import can
from app.recognition import access, insights, services
from app.recognition.models import PointsLedger, Recognition
from app.recognition.services import Draft, EvidenceInput, RecognitionError
from app.retros.models import Retro, RetroAction
from app.timeutil import utcnow

NOW = datetime(2026, 11, 20, 10, 0)  # naive UTC


def make_case(pod, assignee, ref, *, created=None, resolved=None, csat=None, replies=1, reopens=0, stations=1,
              priority="normal", request_type="information"):
    created = created or NOW - timedelta(days=3)
    case = Case(source="zendesk", external_id=ref, status="solved", created_at=created,
                first_resolved_at=resolved if resolved is not None else created + timedelta(hours=5),
                pod_id=pod.id, assignee_id=assignee.id if assignee else None, csat_score=csat, replies=replies,
                reopens=reopens, assignee_stations=stations, group_stations=1, priority=priority,
                request_type=request_type)
    db.session.add(case)
    db.session.flush()
    return case


def make_action(pod, owner, *, status="done", metric="fcr", baseline=0.4, result=0.6, direction="up"):
    retro = Retro(pod_id=pod.id, title="October retro", template_key="start_stop_continue", columns=[],
                  phase="closed", created_at=NOW - timedelta(days=30))
    db.session.add(retro)
    db.session.flush()
    action = RetroAction(retro_id=retro.id, pod_id=pod.id, title="Call back every reopened case", owner_id=owner.id,
                         due_date=date(2026, 11, 1), principle="continuous_improvement", status=status,
                         metric_code=metric, scope_kind="pod", scope_id=pod.id, direction=direction,
                         baseline_value=baseline, result_value=result, closed_at=NOW - timedelta(days=2))
    db.session.add(action)
    db.session.flush()
    return action


def draft(team, **kw):
    base = dict(pod_id=team.pod.id, receiver_ids=[team.ben.id], message="Thanks for the save!",
                principle="customer_centric", evidence=EvidenceInput("case", case_ref="1001"))
    base.update(kw)
    return Draft(**base)


def test_a_case_of_the_receiver_is_accepted_and_the_receiver_notified(team):
    make_case(team.pod, team.ben, "1001", csat=5)
    recognition = services.give(team.ana, draft(team), now=NOW)
    db.session.commit()
    assert recognition.case_id is not None
    note = db.session.scalar(select(Notification).where(Notification.user_id == team.ben.id))
    assert note is not None and note.kind == "recognition_received"


def test_a_case_of_someone_else_is_refused(team):
    make_case(team.pod, team.cris, "1001")
    make_case(team.other_pod, team.other, "2002")
    with pytest.raises(RecognitionError, match="not one of theirs"):
        services.give(team.ana, draft(team), now=NOW)
    with pytest.raises(RecognitionError):
        services.give(team.ana, draft(team, evidence=EvidenceInput("case", case_ref="2002")), now=NOW)
    with pytest.raises(RecognitionError, match="No case"):
        services.give(team.ana, draft(team, evidence=EvidenceInput("case", case_ref="9999")), now=NOW)
    assert db.session.scalar(select(Recognition.id)) is None


def test_a_whole_pod_may_cite_any_case_of_the_pod_but_not_of_another(team):
    make_case(team.pod, team.cris, "1001")
    make_case(team.other_pod, team.other, "2002")
    services.give(team.coach, draft(team, receiver_ids=[], whole_pod=True), now=NOW)
    with pytest.raises(RecognitionError):
        services.give(team.coach, draft(team, receiver_ids=[], whole_pod=True,
                                        evidence=EvidenceInput("case", case_ref="2002")), now=NOW)
    members_notified = set(db.session.scalars(select(Notification.user_id)))
    assert members_notified == {team.ana.id, team.ben.id, team.cris.id}


def test_nobody_recognises_themselves(team):
    make_case(team.pod, team.ben, "1001")
    with pytest.raises(RecognitionError, match="yourself"):
        services.give(team.ben, draft(team), now=NOW)
    with pytest.raises(RecognitionError, match="yourself"):
        services.give(team.ben, draft(team, receiver_ids=[], whole_pod=True), now=NOW)


def test_receivers_must_be_members_of_the_pod_so_another_pods_metric_cannot_be_cited(team, make_user):
    for day in range(45):
        make_case(team.other_pod, team.other, f"o{day}", created=NOW - timedelta(days=day + 1), replies=1)
    with pytest.raises(RecognitionError, match="pods you belong to") as refused:
        services.give(team.ana, draft(team, pod_id=team.other_pod.id, receiver_ids=[team.ben.id],
                                      evidence=EvidenceInput("metric", metric_code="fcr", metric_subject="pod")),
                      now=NOW)
    assert refused.value.status == 403
    with pytest.raises(RecognitionError, match="current member"):  # a leader may give anywhere, to its members
        services.give(make_user("leader"), draft(team, pod_id=team.other_pod.id, receiver_ids=[team.ben.id],
                                      evidence=EvidenceInput("metric", metric_code="fcr", metric_subject="pod")),
                      now=NOW)


def test_a_metric_must_have_improved_and_is_computed_by_the_engine(team):
    # Ben: 10 cases 31-60 days ago, 3 solved at first contact; 10 cases in the last 30 days, 8 of them.
    for i in range(10):
        make_case(team.pod, team.ben, f"b{i}", created=NOW - timedelta(days=40, hours=i),
                  replies=1 if i < 3 else 4)
        make_case(team.pod, team.ben, f"n{i}", created=NOW - timedelta(days=10, hours=i),
                  replies=1 if i < 8 else 4)
    recognition = services.give(team.ana, draft(team, evidence=EvidenceInput("metric", metric_code="fcr")), now=NOW)
    assert recognition.baseline_value == pytest.approx(0.3)
    assert recognition.current_value == pytest.approx(0.8)
    assert recognition.metric_user_id == team.ben.id
    with pytest.raises(RecognitionError, match="did not improve"):
        services.give(team.ana, draft(team, evidence=EvidenceInput("metric", metric_code="reopen_rate")), now=NOW)
    with pytest.raises(RecognitionError, match="one person"):
        services.give(team.ana, draft(team, receiver_ids=[team.ben.id, team.cris.id],
                                      evidence=EvidenceInput("metric", metric_code="fcr")), now=NOW)


def test_an_action_must_be_done_and_owned_by_the_receiver(team):
    mine = make_action(team.pod, team.ben)
    theirs = make_action(team.pod, team.cris)
    open_one = make_action(team.pod, team.ben, status="open")
    services.give(team.ana, draft(team, evidence=EvidenceInput("action", action_id=mine.id)), now=NOW)
    with pytest.raises(RecognitionError, match="someone else"):
        services.give(team.ana, draft(team, evidence=EvidenceInput("action", action_id=theirs.id)), now=NOW)
    with pytest.raises(RecognitionError, match="done"):
        services.give(team.ana, draft(team, evidence=EvidenceInput("action", action_id=open_one.id)), now=NOW)


def test_the_allowance_follows_the_givers_month_in_their_time_zone_without_rollover(team):
    services.save_settings(team.coach, monthly_allowance=10)
    team.ana.timezone = "America/New_York"
    make_case(team.pod, team.ben, "1001")
    late_november = datetime(2026, 12, 1, 4, 30)  # 23:30 on 30 November in New York
    services.give(team.ana, draft(team, points=6), now=late_november)
    with pytest.raises(RecognitionError, match="4 points left"):
        services.give(team.ana, draft(team, points=6), now=late_november + timedelta(minutes=20))
    early_december = datetime(2026, 12, 1, 5, 30)  # 00:30 on 1 December in New York
    services.give(team.ana, draft(team, points=10), now=early_december)
    with pytest.raises(RecognitionError):
        services.give(team.ana, draft(team, points=1), now=early_december)
    months = dict(db.session.execute(select(PointsLedger.month, PointsLedger.spent)).all())
    assert months == {"2026-11": 6, "2026-12": 10}


def test_points_need_an_allowance(team):
    make_case(team.pod, team.ben, "1001")
    with pytest.raises(RecognitionError, match="does not use points"):
        services.give(team.ana, draft(team, points=5), now=NOW)


def test_pod_visibility_hides_a_recognition_from_other_pods(team, make_user):
    make_case(team.pod, team.ben, "1001")
    private = services.give(team.ana, draft(team), now=NOW)
    public = services.give(team.ana, draft(team, visibility="org"), now=NOW)
    leader = make_user("leader")
    db.session.commit()
    today = NOW.date()
    seen_by_other = {i.recognition.id for i in services.wall(team.other, on=today).items}
    assert seen_by_other == {public.id}
    assert {i.recognition.id for i in services.wall(team.cris, on=today).items} == {private.id, public.id}
    assert {i.recognition.id for i in services.wall(leader, on=today).items} == {private.id, public.id}
    assert not access.visible_to(team.other, private, today)
    assert not can(team.other, "recognition.view", private) and can(team.cris, "recognition.view", private)


def test_suggestions_from_known_data(team):
    now = utcnow()
    make_case(team.pod, team.ben, "5001", created=now - timedelta(days=2), csat=5, priority="high")
    make_case(team.pod, team.ben, "5002", created=now - timedelta(days=2), csat=5, replies=3, priority="high")
    make_case(team.pod, team.ben, "5003", created=now - timedelta(days=2), csat=4, priority="high")
    make_case(team.pod, team.ben, "5004", created=now - timedelta(days=2), csat=5, priority="low")
    for i in range(12):
        make_case(team.pod, team.cris, f"c-old{i}", created=now - timedelta(days=45, hours=i),
                  replies=1 if i < 3 else 4)
        make_case(team.pod, team.cris, f"c-new{i}", created=now - timedelta(days=12, hours=i),
                  replies=1 if i < 10 else 4)
    action = make_action(team.pod, team.ana)
    make_action(team.pod, team.ana, result=0.3)  # did not work: not suggested
    db.session.commit()
    found = insights.suggestions(team.pod)
    keys = [s.key for s in found]
    case_5001 = db.session.scalar(select(Case.id).where(Case.external_id == "5001"))
    assert f"case:{case_5001}" in keys
    assert len([k for k in keys if k.startswith("case:")]) == 1, "only complex, first-contact, top-CSAT cases"
    metric = next(s for s in found if s.kind == "metric")
    assert metric.receiver.id == team.cris.id and metric.metric_code == "fcr"
    assert [s.action.id for s in found if s.kind == "action"] == [action.id]

    services.give(team.coach, draft(team, receiver_ids=[team.ben.id], evidence=EvidenceInput("case", case_ref="5001"),
                                    suggestion_key=f"case:{case_5001}"))
    assert f"case:{case_5001}" not in [s.key for s in insights.suggestions(team.pod)], "a used suggestion goes away"


def test_alignment_on_known_data(team):
    good = make_case(team.pod, team.ben, "1001", csat=5)
    make_case(team.pod, team.cris, "1002", csat=2)
    services.give(team.coach, draft(team, receiver_ids=[team.ben.id], evidence=EvidenceInput("case", case_ref="1001")),
                  now=NOW)
    services.give(team.coach, draft(team, receiver_ids=[team.cris.id], principle="end_to_end",
                                    evidence=EvidenceInput("case", case_ref="1002")), now=NOW)
    # Ana: strong outcomes (12 resolved, all at first contact, CSAT 5) and nobody recognised her.
    for i in range(12):
        make_case(team.pod, team.ana, f"a{i}", created=NOW - timedelta(days=5, hours=i), csat=5)
    db.session.commit()
    data = insights.alignment(team.pod, date(2026, 11, 1), date(2026, 11, 30))
    assert data.total == 2 and data.good == 1 and data.good_share == 0.5
    assert data.by_principle == {"customer_centric": 1, "end_to_end": 1}
    assert [person.id for person, _figures in data.unrecognised] == [team.ana.id]
    assert good.id


# --- pages -------------------------------------------------------------------------------------------------

def test_pages_by_role(client, auth, team, make_user):
    admin, leader = make_user("admin"), make_user("leader")
    pages = {
        "/recognition/": {"anon": 302, team.ana: 200, team.coach: 200, leader: 200},
        f"/recognition/pods/{team.pod.id}": {"anon": 302, team.ana: 200, team.other: 200, leader: 200},
        f"/recognition/new?pod={team.pod.id}": {"anon": 302, team.ana: 200},
        f"/recognition/pods/{team.pod.id}/alignment": {"anon": 302, team.ana: 403, team.other: 403,
                                                        team.coach: 200, leader: 200},
        "/recognition/settings": {"anon": 302, team.coach: 403, leader: 403, admin: 200},
    }
    for url, expected in pages.items():
        for who, status in expected.items():
            auth.logout()
            if who != "anon":
                auth.login(who)
            assert client.get(url).status_code == status, (url, who)


def test_giving_through_the_form_and_seeing_it_on_the_wall(client, auth, team):
    make_case(team.pod, team.ben, "1001", created=utcnow() - timedelta(days=2), csat=5)
    db.session.commit()
    auth.login(team.ana)
    response = client.post(f"/recognition/new?pod={team.pod.id}", data={
        "receivers": [team.ben.id], "message": "You turned an angry customer around",
        "principle": "customer_centric", "evidence": "case", "case_ref": "1001", "visibility": "pod",
        "subject": "agent", "points": "0"})
    assert response.status_code == 302
    auth.logout()
    auth.login(team.ben)
    page = client.get(f"/recognition/pods/{team.pod.id}").get_data(as_text=True)
    assert "You turned an angry customer around" in page and "Case 1001" in page and "5/5" in page


@pytest.mark.parametrize("changes, message", [
    ({"principle": "kindness"}, None),
    ({"message": ""}, None),
    ({"message": "x" * 10_000}, None),
    ({"message": "bad\x00text"}, None),
    ({"case_ref": "does-not-exist"}, "No case"),
    ({"receivers": []}, "Choose who"),
    ({"points": "-3"}, None),
])
def test_bad_input_is_refused_with_a_message(client, auth, team, changes, message):
    make_case(team.pod, team.ben, "1001")
    db.session.commit()
    auth.login(team.ana)
    data = {"receivers": [team.ben.id], "message": "Thanks", "principle": "customer_centric", "evidence": "case",
            "case_ref": "1001", "visibility": "pod", "subject": "agent", "points": "0"}
    data.update(changes)
    response = client.post(f"/recognition/new?pod={team.pod.id}", data=data)
    nul = any("\x00" in str(value) for value in changes.values())
    assert response.status_code == (400 if nul else 422)  # NUL: refused before any view
    if message:
        assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(Recognition.id)) is None


def test_bad_urls_and_parameters(client, auth, team):
    auth.login(team.coach)
    assert client.get("/recognition/new?pod=abc").status_code == 400
    assert client.get("/recognition/new?pod=99999").status_code == 404
    assert client.get("/recognition/?principle=nope").status_code == 400
    assert client.get("/recognition/?page=-1").status_code == 400
    assert client.get(f"/recognition/pods/{team.pod.id}/alignment?from=2026-13-01").status_code == 400
    assert client.get(f"/recognition/pods/{team.pod.id}/alignment?from=2026-11-02&to=2026-11-01").status_code == 400
    assert client.get("/recognition/123456").status_code == 404


def test_reactions_toggle_and_need_visibility(client, auth, team):
    make_case(team.pod, team.ben, "1001")
    recognition = services.give(team.ana, draft(team), now=NOW)
    db.session.commit()
    auth.login(team.cris)
    url = f"/recognition/{recognition.id}/react"
    response = client.post(url, data={"kind": "clap"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and 'aria-pressed="true"' in response.get_data(as_text=True)
    response = client.post(url, data={"kind": "clap"}, headers={"HX-Request": "true"})
    assert 'aria-pressed="true"' not in response.get_data(as_text=True)
    assert client.post(url, data={"kind": "money"}).status_code == 400
    auth.logout()
    auth.login(team.other)
    assert client.post(url, data={"kind": "clap"}).status_code == 403


def test_the_wall_costs_the_same_queries_however_many_recognitions(client, auth, team, count_queries):
    for i in range(3):
        make_case(team.pod, team.ben, f"w{i}", csat=5)
    action = make_action(team.pod, team.ben)

    def add(n):
        for i in range(n):
            services.give(team.ana, draft(team, evidence=EvidenceInput("case", case_ref=f"w{i % 3}")), now=NOW)
            services.give(team.ana, draft(team, evidence=EvidenceInput("action", action_id=action.id)), now=NOW)
        db.session.commit()

    auth.login(team.cris)
    add(2)
    with count_queries() as few:
        assert client.get("/recognition/").status_code == 200
    add(12)
    with count_queries() as many:
        assert client.get("/recognition/").status_code == 200
    assert many.count == few.count
