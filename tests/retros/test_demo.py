"""Demo retros: three closed retros per pod and one in progress for the demo coach, written by their authors."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from app.demo.org_data import COACH_EMAIL, create_organisation
from app.extension_points import DEMO_STEPS
from app.extensions import db
from app.org.models import Pod, User
from app.retros import demo as retros_demo
from app.retros.models import Retro, RetroAction, RetroCard

NOW = datetime(2026, 11, 25, 9, 30)


def test_demo_step_is_registered():
    assert any(step.name == "retros" and step.order == 40 for step in DEMO_STEPS)


def test_demo_retros_are_written_by_their_authors(client, auth):
    create_organisation(NOW)  # people and pods only: retros need no cases
    db.session.flush()
    retros_demo.load_retros_demo(NOW)
    db.session.commit()

    pods = {pod.name: pod for pod in db.session.scalars(select(Pod))}
    per_pod = dict(db.session.execute(select(Retro.pod_id, func.count()).where(Retro.phase == "closed")
                                      .group_by(Retro.pod_id)).all())
    assert all(per_pod.get(pod.id) == retros_demo.CLOSED_PER_POD for pod in pods.values())
    coach = db.session.scalar(select(User).where(User.email == COACH_EMAIL))
    live = db.session.scalar(select(Retro).where(Retro.phase == "reflect"))
    assert live is not None and coach in live.pod.coaches
    assert db.session.scalar(select(func.count()).select_from(RetroAction)) >= 2 * 3 * len(pods)

    # The card on first-contact resolution carries the FCR metric, in its author's words (anonymous retros
    # forget their authors once closed).
    fcr_cards = list(db.session.scalars(select(RetroCard).where(RetroCard.metric_code == "fcr")))
    assert fcr_cards and {card.text for card in fcr_cards} <= set(retros_demo.FIRST_CONTACT_CARD.values())
    assert all(card.text == retros_demo.FIRST_CONTACT_CARD.by(card.author) for card in fcr_cards if card.author)

    # A Rome pod's retro reads in Italian, a Madrid pod's in Spanish.
    titles = {name: set(db.session.scalars(select(Retro.title).where(Retro.pod_id == pods[name].id)))
              for name in ("SMB Growth", "Residential Care")}
    assert titles["SMB Growth"] <= {said["it"] for said in (plan[1] for plan in retros_demo.RETROS)}
    assert titles["Residential Care"] <= {said["es"] for said in
                                          [plan[1] for plan in retros_demo.RETROS] + [retros_demo.IN_PROGRESS[1]]}

    auth.login(COACH_EMAIL, "podium-demo")
    page = client.get(f"/retros/{live.id}").get_data(as_text=True)
    assert "Retro: este mes" in page
