"""Demo stand-ups: weeks of frozen boards with entries and moods, blockers carried over and escalated."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from app.demo.org_data import AGENT_EMAIL, COACH_EMAIL, create_organisation
from app.extension_points import DEMO_STEPS
from app.extensions import db
from app.notifications.models import Notification
from app.org.models import Pod, User
from app.standups.demo import load_standups_demo
from app.standups.models import Blocker, BoardBlocker, StandupBoard, StandupEntry

NOW = datetime(2026, 11, 25, 7, 30)  # Wednesday, 08:30 in Madrid


def test_demo_step_is_registered():
    assert any(step.name == "standups" and step.order == 30 for step in DEMO_STEPS)


def test_demo_shows_standups(client, auth):
    create_organisation(NOW)  # the people and pods only: the stand-up step needs no cases
    db.session.flush()
    load_standups_demo(NOW)
    db.session.commit()
    boards = db.session.scalar(select(func.count()).select_from(StandupBoard))
    assert boards >= 5 * 14
    statuses = dict(db.session.execute(select(Blocker.status, func.count()).group_by(Blocker.status)).all())
    assert statuses["resolved"] and statuses["escalated"] and statuses["open"]
    carried = db.session.scalar(select(func.count()).select_from(BoardBlocker)
                                .join(Blocker, Blocker.id == BoardBlocker.blocker_id)
                                .where(Blocker.board_id != BoardBlocker.board_id))
    assert carried > 10
    assert db.session.scalar(select(func.count()).select_from(StandupEntry).where(StandupEntry.mood.is_not(None)))
    assert db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.kind == "standup_blocker_escalated"))

    coach = db.session.scalar(select(User).where(User.email == COACH_EMAIL))
    pod = db.session.scalar(select(Pod).where(Pod.coaches.any(User.id == coach.id)))
    today = db.session.scalar(select(StandupBoard).where(StandupBoard.pod_id == pod.id,
                                                         StandupBoard.day == NOW.date()))
    assert today is not None and today.status == "open"
    auth.login(AGENT_EMAIL, "podium-demo")
    page = client.get(f"/standups/boards/{today.id}").get_data(as_text=True)
    assert "blocker-escalated" in page
    history = client.get(f"/standups/pods/{pod.id}/history?month=2026-11")
    assert history.status_code == 200 and "board-link" in history.get_data(as_text=True)
