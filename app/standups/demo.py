"""Demo stand-ups: three weeks of boards per pod with entries, moods, attendance and blockers that carried over."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from functools import lru_cache

from flask_babel import force_locale
from sqlalchemy import select

from app.context import background_context
from app.demo.language import say
from app.demo.org_data import AGENT_EMAIL
from app.extension_points import demo_step
from app.extensions import db
from app.notifications.services import notify
from app.org import services as org
from app.org.models import Pod
from app.outcomes.labels import CHANNEL_LABELS, REQUEST_TYPE_LABELS
from app.standups import services
from app.standups.models import Attendance, Blocker, BoardBlocker, StandupBoard, StandupEntry
from app.timeutil import local_to_utc

WEEKS = 3

# Each text in the language of the person who writes it (app.demo.language): %(n)d a count, %(mate)s a
# teammate's first name, %(type)s and %(channel)s a request type's and a channel's label in the author's language.
YESTERDAY = (
    say("Cerré %(n)d casos de facturación y devolví dos llamadas que tenía pendientes.",
        "Ho chiuso %(n)d casi di fatturazione e richiamato due clienti che aspettavano.",
        "Closed %(n)d billing cases and returned two calls I had pending."),
    say("Terminé las reclamaciones de garantía que quedaban de la semana pasada; dos routers ya van de camino.",
        "Ho chiuso i reclami in garanzia rimasti dalla settimana scorsa; due router sono già in spedizione.",
        "Finished the warranty claims left over from last week; two replacement routers are on their way."),
    say("Ayudé a %(mate)s con una portabilidad rechazada porque el NIF no coincidía; resuelta en la misma llamada.",
        "Ho aiutato %(mate)s con una portabilità bloccata da un codice di migrazione errato; risolta nella stessa "
        "chiamata.",
        "Helped %(mate)s with a number port rejected over a mismatched ID; sorted in the same call."),
    say("Revisé los casos con el SLA en riesgo y llamé a %(n)d clientes antes de que venciera el plazo.",
        "Ho ripassato i casi con lo SLA a rischio e chiamato %(n)d clienti prima della scadenza.",
        "Went through the cases with SLA at risk and called %(n)d customers before the deadline."),
    say("Atendí la cola de chat toda la mañana y abrí dos incidencias nuevas a sistemas.",
        "Ho seguito la coda chat tutta la mattina e aperto due nuove segnalazioni all'IT.",
        "Covered the chat queue all morning and logged two new issues with IT."),
    say("Repasé %(n)d casos de tipo «%(type)s» del canal «%(channel)s»: casi todos por la penalización de "
        "permanencia.",
        "Ho rivisto %(n)d casi di tipo «%(type)s» dal canale «%(channel)s»: quasi tutti per la penale di recesso.",
        "Went through %(n)d “%(type)s” cases from the “%(channel)s” channel: nearly all about the early-exit fee."),
    say("Dejé cerradas con los técnicos %(n)d citas de instalación de fibra para esta semana.",
        "Ho confermato con i tecnici %(n)d appuntamenti di installazione fibra per questa settimana.",
        "Confirmed %(n)d fibre installation appointments with the field technicians for this week."),
)
TODAY = (
    say("Cola de correo y seguimiento de los casos reabiertos.",
        "Coda email e verifica dei casi riaperti.",
        "Email queue and following up on reopened cases."),
    say("Formación sobre el nuevo proceso de reembolsos a las 11.",
        "Formazione sul nuovo processo di rimborso alle 11.",
        "Training on the new refund process at 11."),
    say("Llamar a los clientes que nos pusieron un CSAT bajo esta semana.",
        "Richiamare i clienti che ci hanno dato un CSAT basso questa settimana.",
        "Calling back the customers who gave us a low CSAT this week."),
    say("Cubro el teléfono por la tarde.",
        "Copro il telefono nel pomeriggio.",
        "Covering the phones this afternoon."),
    say("Cerrar antes de mediodía los casos abiertos hace más de tres días.",
        "Chiudere entro mezzogiorno i casi aperti da più di tre giorni.",
        "Close the cases older than three days before noon."),
    say("Revisar las facturas con el IVA mal calculado y emitir los abonos.",
        "Controllare le fatture con l'IVA sbagliata ed emettere le note di credito.",
        "Check the invoices with the wrong VAT and issue the credit notes."),
    say("Seguir las portabilidades que vencen hoy.",
        "Seguire le portabilità in scadenza oggi.",
        "Chase the number ports due today."),
)
BLOCKERS = (
    say("El CRM no deja emitir abonos de más de 50 €; hay seis clientes esperando.",
        "Il CRM non permette note di credito oltre 50 €; sei clienti sono in attesa.",
        "The CRM refuses credit notes above €50; six customers are waiting."),
    say("Sin acceso al portal del operador donante para tramitar portabilidades.",
        "Nessun accesso al portale dell'operatore donatore per gestire le portabilità.",
        "No access to the donor carrier's portal to process number ports."),
    say("Los técnicos no confirman las citas de instalación de fibra en Getafe.",
        "I tecnici non confermano gli appuntamenti di installazione fibra a Fiumicino.",
        "Field technicians are not confirming fibre installation appointments."),
    say("La plantilla de factura calcula mal el IVA cuando se cambia de tarifa a mitad de mes.",
        "Il modello di fattura calcola male l'IVA quando si cambia tariffa a metà mese.",
        "The invoice template gets VAT wrong when a plan changes mid-month."),
    say("No quedan routers de sustitución en el almacén para los cambios en garantía.",
        "In magazzino non ci sono più router sostitutivi per i cambi in garanzia.",
        "No replacement routers left in the warehouse for warranty swaps."),
)
# The request types and channels the "%(type)s" / "%(channel)s" entry speaks of, shown by their labels.
ENTRY_REQUEST_TYPES = ("complaint", "claim")
ENTRY_CHANNELS = ("phone", "email", "chat", "web")


@lru_cache(maxsize=8)
def _labels(locale: str) -> tuple[dict[str, str], dict[str, str]]:
    """Request type and channel labels as the app shows them in `locale`."""
    with force_locale(locale):
        return ({code: str(REQUEST_TYPE_LABELS[code]) for code in ENTRY_REQUEST_TYPES},
                {code: str(CHANNEL_LABELS[code]) for code in ENTRY_CHANNELS})


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
    plan = [(2, 1), (5, 3), (9, 2), (len(days) - 6, None), (len(days) - 2, None)]
    made = []
    for n, (index, lasts) in enumerate(plan):
        raised_day = days[index]
        raiser = people[rng.randrange(len(people))]
        raised_at = local_to_utc(datetime.combine(raised_day, pod.standup_time), pod.timezone) - timedelta(minutes=20)
        blocker = Blocker(pod_id=pod.id, description=BLOCKERS[n % len(BLOCKERS)].by(raiser), raised_by_id=raiser.id,
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
    mate = rng.choice([p for p in people if p.id != person.id] or people).display_name.split()[0]
    posted = at - timedelta(minutes=rng.randrange(5, 90))
    types, channels = _labels(person.locale or "en")
    values = {"n": rng.randrange(3, 14), "mate": mate, "type": types[rng.choice(ENTRY_REQUEST_TYPES)],
              "channel": channels[rng.choice(ENTRY_CHANNELS)]}
    return StandupEntry(board_id=board.id, user_id=person.id, yesterday=rng.choice(YESTERDAY).by(person) % values,
                        today=rng.choice(TODAY).by(person), mood=rng.choice([None, 3, 4, 4, 5, 2, 3, 4]),
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
    early = [p for p in people if p.email != AGENT_EMAIL][: max(1, len(people) // 2)]
    for person in early:
        db.session.add(_entry(board, person, people, now, rng))
    for blocker, _resolved_day in blockers:
        if blocker.status != "resolved":
            db.session.add(BoardBlocker(board_id=board.id, blocker_id=blocker.id))
