"""Demo recognition: a believable history across the demo pods, reactions, and suggestions left waiting."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select

from app.context import background_context
from app.extension_points import demo_step
from app.extensions import db
from app.org.models import Pod, Role, User, pod_coaches
from app.outcomes.models import Case
from app.recognition import access, evidence, services
from app.recognition.models import REACTIONS, RecognitionReaction

CASE_MESSAGES = {
    "es": ["Gracias por resolverlo a la primera: el cliente lo dijo todo con su valoración.",
           "Te hiciste cargo del caso de principio a fin sin pasarlo a nadie. ¡Así se hace!",
           "Una reclamación complicada cerrada en una sola llamada. Chapó."],
    "it": ["Grazie per averlo risolto al primo contatto: il cliente ti ha dato il massimo dei voti.",
           "Hai seguito il caso dall'inizio alla fine senza passarlo a nessuno. Bravissima!",
           "Un reclamo difficile chiuso con una sola chiamata. Complimenti."],
    "en": ["Solved at the first contact and the customer loved it. Thank you!",
           "You owned this one end to end without a single handoff.",
           "A tricky complaint closed in one call. Brilliant work."],
}
METRIC_MESSAGES = {
    "es": "Tu mejora este mes se nota en los clientes. ¡Enhorabuena!",
    "it": "Il tuo miglioramento di questo mese si vede nei clienti. Complimenti!",
    "en": "Your improvement this month shows in our customers' experience. Congratulations!",
}
ACTION_MESSAGES = {
    "es": "Propusiste esta acción en la retro y ha funcionado: gracias por empujarla.",
    "it": "Hai proposto questa azione nella retro e ha funzionato: grazie per averla portata avanti.",
    "en": "You proposed this action in the retro and it worked: thanks for driving it.",
}


@demo_step(70, "recognition")
def load_recognition_demo(now: datetime) -> None:
    rng = random.Random(7)
    services.save_settings(_admin(), monthly_allowance=50, now=now)
    with background_context():
        for pod in db.session.scalars(select(Pod).where(Pod.active).order_by(Pod.id)):
            _pod_history(pod, now, rng)
    db.session.flush()


def _admin():
    return db.session.scalar(select(User).where(User.role == Role.ADMIN.value).order_by(User.id).limit(1))


def _pod_history(pod: Pod, now: datetime, rng: random.Random) -> None:
    today = now.date()
    members = sorted(access.current_member_ids(pod.id, today))
    if len(members) < 3:
        return
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(members)))}
    coach_id = db.session.scalar(select(pod_coaches.c.user_id).where(pod_coaches.c.pod_id == pod.id).limit(1))
    coach = db.session.get(User, coach_id) if coach_id else None
    # Older top cases (15-90 days ago) get recognised; the last two weeks are left for suggestions.
    cases = db.session.execute(
        select(Case.external_id, Case.assignee_id, Case.first_resolved_at)
        .where(Case.pod_id == pod.id, Case.assignee_id.in_(members), Case.csat_score == 5,
               Case.first_resolved_at.between(now - timedelta(days=90), now - timedelta(days=15)))
        .order_by(Case.first_resolved_at).limit(400)
    ).all()
    picks = rng.sample(cases, min(len(cases), 5 + pod.id % 3))
    created = []
    for ref, assignee_id, resolved in sorted(picks, key=lambda row: row[2]):
        candidates = [p for p in members if p != assignee_id]
        giver = coach if coach is not None and rng.random() < 0.4 else people[rng.choice(candidates)]
        when = resolved + timedelta(hours=rng.randint(2, 40))
        draft = services.Draft(
            pod_id=pod.id, receiver_ids=[assignee_id], principle=rng.choice(["customer_centric", "end_to_end"]),
            message=rng.choice(CASE_MESSAGES.get(giver.locale, CASE_MESSAGES["en"])),
            evidence=services.EvidenceInput("case", case_ref=ref), points=rng.choice([0, 5, 10]),
            visibility="org" if rng.random() < 0.3 else "pod")
        try:
            created.append(services.give(giver, draft, now=when))
        except services.RecognitionError:
            continue
    # A metric improvement, when the data has one for a member (the engine decides, nothing is typed in).
    for code in ("fcr", "csat", "handoff_rate"):
        for member_id in members:
            draft = services.Draft(
                pod_id=pod.id, receiver_ids=[member_id], principle="continuous_improvement",
                message=METRIC_MESSAGES.get(coach.locale if coach else "en", METRIC_MESSAGES["en"]),
                evidence=services.EvidenceInput("metric", metric_code=code),
                visibility="pod")
            giver = coach or people[next(m for m in members if m != member_id)]
            try:
                created.append(services.give(giver, draft, now=now - timedelta(days=3)))
                break
            except services.RecognitionError:
                continue
        else:
            continue
        break
    # A retro action that worked, recognised by the coach.
    action = next(iter(evidence.done_actions(pod.id, owner_ids=members, newest_first=False, limit=1)), None)
    if action is not None and coach is not None and action.worked:
        try:
            created.append(services.give(coach, services.Draft(
                pod_id=pod.id, receiver_ids=[action.owner_id], principle="continuous_improvement",
                message=ACTION_MESSAGES.get(coach.locale, ACTION_MESSAGES["en"]),
                evidence=services.EvidenceInput("action", action_id=action.id), visibility="org"),
                now=(action.closed_at or now) + timedelta(days=1)))
        except services.RecognitionError:
            pass
    for recognition in created:
        for member_id in rng.sample(members, min(len(members), rng.randint(1, 4))):
            db.session.add(RecognitionReaction(recognition_id=recognition.id, user_id=member_id,
                                               kind=rng.choice(REACTIONS), created_at=recognition.created_at))
    db.session.flush()
