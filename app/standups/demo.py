"""Demo stand-ups: three weeks of boards per pod with entries, moods, attendance and blockers that carried over."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sqlalchemy import select

from app.context import background_context
from app.extension_points import demo_step
from app.extensions import db
from app.notifications.services import notify
from app.org import services as org
from app.org.models import Pod
from app.standups import services
from app.standups.models import Attendance, Blocker, BoardBlocker, StandupBoard, StandupEntry
from app.timeutil import local_to_utc

WEEKS = 3

YESTERDAY = {
    "es": ["Cerré %(n)d casos de facturación y devolví dos llamadas pendientes.",
           "Terminé las reclamaciones de garantía que quedaban de la semana pasada.",
           "Ayudé a %(mate)s con una portabilidad complicada; resuelta a la primera.",
           "Revisé los casos con SLA en riesgo y contacté a %(n)d clientes.",
           "Atendí la cola de chat toda la mañana y documenté dos incidencias nuevas."],
    "it": ["Ho chiuso %(n)d casi di fatturazione e richiamato due clienti in attesa.",
           "Ho finito i reclami in garanzia rimasti dalla settimana scorsa.",
           "Ho aiutato %(mate)s con una portabilità complicata, risolta al primo contatto.",
           "Ho rivisto i casi con SLA a rischio e contattato %(n)d clienti.",
           "Ho seguito la coda chat tutta la mattina e documentato due nuovi problemi."],
    "en": ["Closed %(n)d billing cases and returned two pending calls.",
           "Finished the warranty claims left over from last week.",
           "Helped %(mate)s with a tricky port-out; solved at the first contact.",
           "Went through the cases with SLA at risk and called %(n)d customers.",
           "Covered the chat queue all morning and wrote up two new issues."],
}
TODAY = {
    "es": ["Cola de correo y seguimiento de los casos reabiertos.", "Formación sobre el nuevo proceso de reembolsos.",
           "Llamadas de seguimiento a clientes con CSAT bajo.", "Cubro el teléfono por la tarde.",
           "Cerrar los casos de más de 3 días antes del mediodía."],
    "it": ["Coda email e verifica dei casi riaperti.", "Formazione sul nuovo processo di rimborso.",
           "Richiamare i clienti con CSAT basso.", "Copro il telefono nel pomeriggio.",
           "Chiudere i casi aperti da più di 3 giorni entro mezzogiorno."],
    "en": ["Email queue and following up on reopened cases.", "Training on the new refund process.",
           "Follow-up calls to customers with low CSAT.", "Covering the phones this afternoon.",
           "Close the cases older than 3 days before noon."],
}
BLOCKERS = {
    "es": ["El CRM no deja emitir abonos de más de 50 €.", "Sin acceso al portal del operador para portabilidades.",
           "Los técnicos no confirman citas para fibra en Getafe.", "La plantilla de factura muestra el IVA mal.",
           "Falta stock de routers de sustitución."],
    "it": ["Il CRM non permette note di credito oltre 50 €.", "Nessun accesso al portale dell'operatore per le portabilità.",
           "I tecnici non confermano gli appuntamenti per la fibra a Monza.", "Il modello di fattura mostra l'IVA sbagliata.",
           "Mancano router sostitutivi in magazzino."],
    "en": ["The CRM refuses credit notes above €50.", "No access to the carrier portal for port-outs.",
           "Technicians are not confirming fibre appointments.", "The invoice template shows VAT wrongly.",
           "Replacement routers are out of stock."],
}


@demo_step(30, "standups")
def load_standups_demo(now: datetime) -> None:
    rng = random.Random(30)
    pods = list(db.session.scalars(select(Pod).where(Pod.active).order_by(Pod.id)))
    with background_context():
        for pod in pods:
            _pod_history(pod, now, rng)
    db.session.flush()


def _working_days(pod: Pod, today: date) -> list[date]:
    days, day = [], today - timedelta(days=WEEKS * 7)
    while day < today:
        if pod.is_working_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def _pod_history(pod: Pod, now: datetime, rng: random.Random) -> None:
    today = services.local_today(pod, now)
    memberships = org.current_members_by_pod([pod.id], today).get(pod.id, [])
    people = [m.user for m in memberships if m.user.active]
    if not people:
        return
    starts = {m.user_id: m.start_date for m in memberships}
    days = _working_days(pod, today)
    blockers = _blockers(pod, days, people, rng)
    for day in days:
        present = [p for p in people if starts[p.id] <= day]
        at = local_to_utc(datetime.combine(day, pod.standup_time), pod.timezone)
        board = StandupBoard(pod_id=pod.id, day=day, status="closed", version=1, created_by="demo",
                             created_at=at - timedelta(minutes=30), expected_count=len(present),
                             walk_started_at=at, speaker_order=[p.id for p in present],
                             speaker_index=len(present), speaker_started_at=at, closed_at=at + timedelta(minutes=14),
                             reminded_at=at - timedelta(minutes=15))
        db.session.add(board)
        db.session.flush()
        for person in present:
            posted = rng.random() < 0.85
            if posted:
                db.session.add(_entry(board, person, people, at, rng))
            db.session.add(Attendance(board_id=board.id, user_id=person.id,
                                      status="present" if posted or rng.random() < 0.3 else "skipped",
                                      recorded_at=at))
        for blocker, resolved_day in blockers:
            if blocker.raised_day <= day and (resolved_day is None or resolved_day >= day):
                status = "open"
                if resolved_day == day:
                    status = "resolved"
                elif blocker.escalated_at is not None and blocker.escalated_at < at + timedelta(minutes=14):
                    status = "escalated"
                db.session.add(BoardBlocker(board_id=board.id, blocker_id=blocker.id, status_at_close=status))
                if blocker.raised_day == day:
                    blocker.board_id = board.id
    _today(pod, today, now, people, blockers, rng)


def _blockers(pod: Pod, days: list[date], people, rng: random.Random) -> list[tuple[Blocker, date | None]]:
    """Five blockers over the weeks: most resolved in a day or three, one escalated, one still open today."""
    if len(days) < 8:
        return []
    texts = BLOCKERS.get(people[0].locale, BLOCKERS["en"])
    plan = [(2, 1), (5, 3), (9, 2), (len(days) - 6, None), (len(days) - 2, None)]
    made = []
    for n, (index, lasts) in enumerate(plan):
        raised_day = days[index]
        raiser = people[rng.randrange(len(people))]
        raised_at = local_to_utc(datetime.combine(raised_day, pod.standup_time), pod.timezone) - timedelta(minutes=20)
        blocker = Blocker(pod_id=pod.id, description=texts[n % len(texts)], raised_by_id=raiser.id,
                          owner_id=raiser.id, case_ref=f"Z-{40000 + rng.randrange(9999)}" if n % 2 == 0 else "",
                          status="open", raised_at=raised_at, raised_day=raised_day)
        resolved_day = None
        if lasts is not None and index + lasts < len(days):
            resolved_day = days[index + lasts]
            blocker.status = "resolved"
            blocker.resolved_at = local_to_utc(datetime.combine(resolved_day, pod.standup_time), pod.timezone) \
                + timedelta(hours=3)
            blocker.resolved_by_id = raiser.id
        if n == 3:  # open for more than three working days: escalated by the job
            escalate_day = days[min(index + 4, len(days) - 1)]
            blocker.status = "escalated"
            blocker.escalated_at = local_to_utc(datetime.combine(escalate_day, pod.standup_time), pod.timezone)
        db.session.add(blocker)
        made.append((blocker, resolved_day))
    db.session.flush()
    for blocker, _resolved in made:
        if blocker.status == "escalated":
            notify(services._escalation_recipients(pod.id), "standup_blocker_escalated",
                   url=f"/standups/pods/{pod.id}", now=blocker.escalated_at, email=False,
                   params={"pod": pod.name, "description": blocker.description[:120]})
    return made


def _entry(board: StandupBoard, person, people, at: datetime, rng: random.Random) -> StandupEntry:
    locale = person.locale if person.locale in YESTERDAY else "en"
    mate = rng.choice([p for p in people if p.id != person.id] or people).display_name.split()[0]
    posted = at - timedelta(minutes=rng.randrange(5, 90))
    return StandupEntry(board_id=board.id, user_id=person.id,
                        yesterday=rng.choice(YESTERDAY[locale]) % {"n": rng.randrange(3, 14), "mate": mate},
                        today=rng.choice(TODAY[locale]), mood=rng.choice([None, 3, 4, 4, 5, 2, 3, 4]),
                        created_at=posted, updated_at=posted)


def _today(pod: Pod, today: date, now: datetime, people, blockers, rng: random.Random) -> None:
    """Today's board is open with a few updates in, so the demo accounts can post and walk it live."""
    if not pod.is_working_day(today):
        return
    board = StandupBoard(pod_id=pod.id, day=today, status="open", version=1, created_by="demo",
                         created_at=now - timedelta(minutes=40), expected_count=len(people), speaker_order=[],
                         speaker_index=0)
    db.session.add(board)
    db.session.flush()
    from app.demo.org_data import AGENT_EMAIL

    early = [p for p in people if p.email != AGENT_EMAIL][: max(1, len(people) // 2)]
    for person in early:
        db.session.add(_entry(board, person, people, now, rng))
    for blocker, _resolved_day in blockers:
        if blocker.status != "resolved":
            db.session.add(BoardBlocker(board_id=board.id, blocker_id=blocker.id))
