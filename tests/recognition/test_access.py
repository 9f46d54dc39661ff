"""Issue 13 #8: the recognition form of a pod is only for the people who may recognise there, and a suggestion
pre-fills a message only about someone the person may recognise and only when the data supports it."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.recognition import insights
from app.recognition.models import Recognition
from app.timeutil import utcnow
from tests.recognition.test_recognition import make_action, make_case


@pytest.fixture
def cris_improved(team):
    """Cris's first-contact resolution went from 3 of 12 to 10 of 12: a metric suggestion the data supports."""
    now = utcnow()
    for i in range(12):
        make_case(team.pod, team.cris, f"c-old{i}", created=now - timedelta(days=45, hours=i),
                  replies=1 if i < 3 else 4)
        make_case(team.pod, team.cris, f"c-new{i}", created=now - timedelta(days=12, hours=i),
                  replies=1 if i < 10 else 4)
    db.session.commit()
    suggestion = next(s for s in insights.suggestions(team.pod) if s.kind == "metric")
    assert suggestion.receiver.id == team.cris.id
    return suggestion.key


def test_another_pods_form_is_refused_and_lists_nothing_of_it(client, auth, team):
    action = make_action(team.pod, team.ben)
    action.title = "Secret plan of Residential Care"
    db.session.commit()
    auth.login(team.other)
    response = client.get(f"/recognition/new?pod={team.pod.id}")
    assert response.status_code == 403
    assert "Secret plan" not in response.get_data(as_text=True)
    posted = client.post(f"/recognition/new?pod={team.pod.id}", data={
        "receivers": [team.ben.id], "message": "Nice", "principle": "customer_centric", "evidence": "action",
        "action": str(action.id), "visibility": "pod", "subject": "agent", "points": "0"})
    assert posted.status_code == 403
    assert db.session.scalar(select(Recognition.id)) is None


def test_own_pods_form_lists_its_done_actions(client, auth, team):
    action = make_action(team.pod, team.ben)
    db.session.commit()
    auth.login(team.ana)
    response = client.get(f"/recognition/new?pod={team.pod.id}")
    assert response.status_code == 200 and action.title in response.get_data(as_text=True)


def test_a_guessed_metric_suggestion_of_another_pod_prefills_nothing(client, auth, team, cris_improved):
    auth.login(team.other)
    response = client.get(f"/recognition/new?pod={team.pod.id}&suggestion={cris_improved}")
    assert response.status_code == 403
    assert "improved clearly" not in response.get_data(as_text=True)


def test_a_suggestion_about_oneself_prefills_nothing(client, auth, team, cris_improved):
    auth.login(team.cris)
    response = client.get(f"/recognition/new?pod={team.pod.id}&suggestion={cris_improved}&to={team.cris.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "improved clearly" not in page
    assert f'value="{team.cris.id}" checked' not in page


def test_a_suggestion_the_data_does_not_support_prefills_nothing(client, auth, team, cris_improved):
    auth.login(team.coach)
    forged = f"metric:{team.ben.id}:csat:{cris_improved.rsplit(':', 1)[1]}"
    response = client.get(f"/recognition/new?pod={team.pod.id}&suggestion={forged}")
    assert response.status_code == 200 and "improved clearly" not in response.get_data(as_text=True)


def test_a_real_suggestion_prefills_the_message_for_the_coach(client, auth, team, cris_improved):
    auth.login(team.coach)
    response = client.get(f"/recognition/new?pod={team.pod.id}&suggestion={cris_improved}&to={team.cris.id}")
    assert response.status_code == 200 and "Great progress, Cris" in response.get_data(as_text=True)


def test_prefill_only_offers_people_of_the_pod(client, auth, team):
    auth.login(team.ana)
    response = client.get(f"/recognition/new?pod={team.pod.id}&to={team.other.id}")
    assert response.status_code == 200 and "Olga Other" not in response.get_data(as_text=True)
