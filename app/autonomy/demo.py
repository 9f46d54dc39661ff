"""Demo autonomy: limits at every level, three months of decisions on real demo cases, approvals and rejections,
a queue waiting for the demo coach, and limit fitness suggestions for the demo leader.

Decisions go through the same service agents use, in time order, so every one is checked against the limit
version in force at that moment (caps and all)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from app.autonomy import services as svc
from app.autonomy.models import ActionType, Decision, DecisionStatus
from app.autonomy.services import LimitInput
from app.context import background_context
from app.demo.language import say
from app.demo.org_data import COACH_EMAIL, ENTERPRISE, LEADER_EMAIL
from app.extension_points import demo_step
from app.extensions import db
from app.notifications.models import Notification
from app.org.models import Pod, Segment, User
from app.org.services import current_members_by_pod
from app.outcomes.models import Case

SEED = 606
DAYS = 92
RAISE_AGENT = "Paula Jiménez"
DEMO_POD = "Residential Care"

# (per case, period, cap, per customer, approver) per action code; money in cents.
ORG_LIMITS = {
    "refund": (3000, "month", 30000, 6000, "coach"),
    "goodwill_credit": (2000, "month", 15000, None, "coach"),
    "fee_waiver": (2500, "month", 20000, None, "coach"),
    "replacement": (1, "week", 4, None, "coach"),
    "payment_extension": (14, None, None, None, "coach"),
    "plan_change": (1, None, None, None, "coach"),
    "contract_exception": (0, None, None, None, "leader"),
}
COACH_LIMITS = {
    "refund": (25000, None, None, None, "leader"), "goodwill_credit": (15000, None, None, None, "leader"),
    "fee_waiver": (15000, None, None, None, "leader"), "replacement": (3, None, None, None, "leader"),
    "payment_extension": (60, None, None, None, "leader"), "plan_change": (2, None, None, None, "leader"),
    "contract_exception": (1, None, None, None, "leader"),
}
# How often an agent does each action per working day, and a typical amount range.
ACTIONS = {
    "refund": (0.16, 800, 6500), "goodwill_credit": (0.10, 500, 2600), "fee_waiver": (0.08, 300, 3000),
    "replacement": (0.04, 1, 1), "payment_extension": (0.05, 5, 18), "plan_change": (0.03, 1, 1),
    "contract_exception": (0.01, 1, 1),
}
# Why an agent asks, in the agent's language (app/demo/language.py).
RATIONALES = {
    "refund": (
        say("Cobro duplicado en la última factura.", "Addebito doppio nell'ultima fattura.",
            "Double charge on the last invoice."),
        say("Servicio caído tres días; reembolso proporcional.", "Servizio fuori uso per tre giorni; rimborso "
            "proporzionale.", "Service down for three days; pro-rata refund."),
        say("Bono de roaming cobrado después de la baja.", "Pacchetto roaming addebitato dopo la disdetta.",
            "Roaming bundle charged after cancellation."),
        say("El técnico no se presentó a la instalación.", "Il tecnico non si è presentato all'installazione.",
            "Installation visit missed by the technician."),
    ),
    "goodwill_credit": (
        say("Larga espera al teléfono la semana pasada.", "Lunga attesa al telefono la settimana scorsa.",
            "Long wait on the phone last week."),
        say("Segunda avería este mes.", "Secondo guasto questo mese.", "Second fault this month."),
        say("La llamada prometida nunca llegó.", "La richiamata promessa non è mai arrivata.",
            "Promised call-back never happened."),
    ),
    "fee_waiver": (
        say("Recargo por demora tras un error de su banco.", "Mora dopo un errore della sua banca.",
            "Late fee after a bank error on their side."),
        say("Cuota de reconexión: el corte fue error nuestro.", "Costo di riattivazione: il distacco è stato un "
            "nostro errore.", "Reconnection fee: the cut was our mistake."),
    ),
    "replacement": (
        say("Router averiado al llegar.", "Router guasto all'arrivo.", "Router dead on arrival."),
        say("El descodificador se reinicia desde la actualización.", "Il decoder si riavvia dopo "
            "l'aggiornamento.", "Decoder keeps rebooting after the update."),
    ),
    "payment_extension": (
        say("Dificultad temporal; paga puntual todos los meses.", "Difficoltà temporanea; paga puntuale ogni mese.",
            "Temporary hardship; pays every month on time."),
        say("Espera primero un reembolso nuestro.", "Aspetta prima un nostro rimborso.",
            "Waiting for a refund from us first."),
    ),
    "plan_change": (
        say("Pasa a una tarifa más barata a mitad de contrato sin penalización.", "Passa a un piano più economico "
            "a metà contratto senza penale.", "Move to a cheaper plan mid-contract without penalty."),
    ),
    "contract_exception": (
        say("Baja anticipada sin penalización: se muda al extranjero.", "Recesso anticipato senza penale: si "
            "trasferisce all'estero.", "Early termination without penalty: moving abroad."),
    ),
}
# What leaders and coaches write when they set, propose or decide (each in the writer's language).
LIMIT_REASONS = {
    "org": say("Límites iniciales acordados en el taller de autonomía.", "Limiti iniziali concordati al workshop "
               "sull'autonomia.", "Starting limits agreed at the autonomy workshop."),
    "coach": say("Los coaches aprueban hasta estos importes.", "I coach approvano fino a questi importi.",
                 "Coaches approve up to these amounts."),
    "enterprise": say("Cuentas de empresa: gestos mayores, con el líder al tanto.", "Clienti enterprise: gesti più "
                      "grandi, con il leader coinvolto.", "Enterprise accounts: bigger gestures, leader in the loop."),
    "refund": say("Los reembolsos de menos de 50 € se aprobaron el 97 % de las veces.", "I rimborsi sotto i 50 € "
                  "sono stati approvati il 97 % delle volte.", "Refunds under 50 € were approved 97 % of the time."),
    "billing": say("Los especialistas en facturación gestionan la mayoría de los reembolsos.", "Gli specialisti "
                   "della fatturazione gestiscono la maggior parte dei rimborsi.",
                   "Billing specialists handle most refunds."),
    "smb": say("Las cuotas de los clientes de empresa son mayores.", "I canoni dei clienti business sono più alti.",
               "Business customers' fees are larger."),
    "complaints": say("Especialista en reclamaciones.", "Specialista dei reclami.", "Complaints specialist."),
}
PROPOSAL_REASONS = {
    "payment_extension": say(
        "Los clientes que esperan un reembolso piden tres semanas; con dos semanas el caso vuelve a mí.",
        "I clienti che aspettano un rimborso chiedono tre settimane; con due il caso torna da me.",
        "Customers waiting for a refund ask for three weeks; two weeks keeps coming back to me."),
    "fee_waiver": say(
        "Recargos por demora en facturas en disputa: el pod los condona tras comprobarlos, casi siempre.",
        "More su fatture contestate: il pod le storna dopo averle verificate, quasi sempre.",
        "Late-payment fees on disputed invoices: the pod waives them after checking, almost always."),
}
ACCEPTED_COMMENT = say("De acuerdo; lo revisamos al acabar el trimestre.", "D'accordo; lo rivediamo a fine "
                       "trimestre.", "Agreed; review after the quarter.")
REJECTIONS = (
    say("Ofrece un abono de cortesía en su lugar.", "Offri invece un accredito di cortesia.",
        "Offer a goodwill credit instead."),
    say("No fue culpa nuestra: explica el cargo al cliente.", "Non è colpa nostra: spiega l'addebito al cliente.",
        "Not our fault: explain the charge to the customer."),
    say("Demasiado para este caso; la mitad es justo.", "Troppo per questo caso; la metà è giusta.",
        "Too high for this case; half is fair."),
)
APPROVED = say("De acuerdo.", "Va bene.", "OK.")


@demo_step(50, "autonomy")
def load_autonomy_demo(now: datetime) -> None:
    with background_context():
        _load(now)


def _user(name_or_email: str) -> User:
    column = User.email if "@" in name_or_email else User.display_name
    return db.session.scalar(select(User).where(column == name_or_email))


def _values(spec) -> LimitInput:
    per_case, period, cap, customer, approver = spec
    return LimitInput(per_case, period, cap, customer, approver)


def _load(now: datetime) -> None:
    rng = random.Random(SEED)
    types = {a.code: a for a in svc.ensure_action_types()}
    leader = _user(LEADER_EMAIL)
    pods = {p.name: p for p in db.session.scalars(select(Pod))}
    enterprise = db.session.scalar(select(Segment).where(Segment.name == ENTERPRISE))
    start = now - timedelta(days=DAYS)

    def limit(code, spec, reason, when, **scope):
        level = "agent" if "agent_id" in scope else "pod" if "pod_id" in scope else "role" if "role" in scope \
            else "org"
        return svc.set_limit(leader, types[code], level=level, values=_values(spec), reason=reason, now=when,
                             **scope)

    first = start - timedelta(days=30)
    for code, spec in ORG_LIMITS.items():
        limit(code, spec, LIMIT_REASONS["org"].by(leader), first)
    for code, spec in COACH_LIMITS.items():
        limit(code, spec, LIMIT_REASONS["coach"].by(leader), first, role="coach")
    limit("goodwill_credit", (6000, "month", 30000, None, "leader"), LIMIT_REASONS["enterprise"].by(leader),
          first, segment_id=enterprise.id)
    limit("refund", (5000, "month", 40000, 6000, "coach"), LIMIT_REASONS["refund"].by(leader),
          start + timedelta(days=35))
    if DEMO_POD in pods:
        limit("refund", (7500, "month", 60000, 10000, "coach"), LIMIT_REASONS["billing"].by(leader),
              first + timedelta(days=10), pod_id=pods[DEMO_POD].id)
    if "SMB Care" in pods:
        limit("fee_waiver", (6000, "month", 40000, None, "coach"), LIMIT_REASONS["smb"].by(leader),
              first + timedelta(days=12), pod_id=pods["SMB Care"].id)
    trusted = _user("Cristina López")
    if trusted is not None:
        limit("goodwill_credit", (4000, "month", 25000, None, "coach"), LIMIT_REASONS["complaints"].by(leader),
              start + timedelta(days=20), agent_id=trusted.id)
    db.session.flush()

    # Plan decisions on the agents' own cases, then log them in time order.
    cases = db.session.execute(
        select(Case.external_id, Case.customer_ref, Case.assignee_id, Case.created_at)
        .where(Case.created_at >= start, Case.created_at < now - timedelta(hours=2), Case.assignee_id.is_not(None))
        .order_by(Case.id)).all()
    by_agent: dict[int, list] = {}
    for row in cases:
        by_agent.setdefault(row.assignee_id, []).append(row)
    agents = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(by_agent), User.role == "agent"))}
    raise_agent = _user(RAISE_AGENT)
    plan = []
    for agent_id, agent_cases in by_agent.items():
        if agent_id not in agents:
            continue
        working_days = max(len(agent_cases) // 6, 1)
        for code, (rate, low, high) in ACTIONS.items():
            for _n in range(int(working_days * rate)):
                case = rng.choice(agent_cases)
                amount = rng.randint(low, high)
                if types[code].unit == "money":
                    amount = amount // 50 * 50 or 500
                plan.append((case.created_at + timedelta(minutes=rng.randint(5, 240)), agent_id, code, amount, case))
    if raise_agent is not None and raise_agent.id in by_agent:  # frequent, well-judged refunds above the limit
        for _n in range(14):
            case = rng.choice(by_agent[raise_agent.id])
            plan.append((case.created_at + timedelta(minutes=30), raise_agent.id, "refund",
                         rng.choice((8000, 9000, 9500, 11000, 12000)), case))
    plan = [p for p in plan if p[0] < now - timedelta(hours=4)]
    plan.sort(key=lambda p: p[0])
    coach = _user(COACH_EMAIL)
    for when, agent_id, code, amount, case in plan:
        agent = agents[agent_id]
        action = types[code]
        try:
            decision = svc.log_decision(
                agent, action, amount=amount, currency=action.currency, case_ref=case.external_id,
                customer=case.customer_ref or "", rationale=rng.choice(RATIONALES[code]).by(agent), now=when)
        except svc.AutonomyError:
            continue
        if decision.status != DecisionStatus.PENDING.value:
            continue
        _resolve(rng, decision, leader, when, favour=agent_id == (raise_agent.id if raise_agent else None))
    _waiting_for_coach(rng, now, types, coach, pods.get(DEMO_POD))
    db.session.flush()
    # Old notifications from the history would bury today's: keep only the last two days'.
    db.session.execute(delete(Notification).where(Notification.kind.like("autonomy_%"),
                                                  Notification.created_at < now - timedelta(days=2)))
    svc.scan_fitness(now)
    _coach_proposals(now, types, coach, pods.get(DEMO_POD))
    db.session.flush()


def _coach_proposals(now: datetime, types: dict[str, ActionType], coach: User | None, pod: Pod | None) -> None:
    """The demo coach's own limit proposals: one a leader accepted last month, one still waiting."""
    if coach is None or pod is None or pod.id not in svc.coached_pod_ids(coach):
        return
    leader = _user(LEADER_EMAIL)
    accepted = svc.propose_change(
        coach, types["payment_extension"], level="pod", pod_id=pod.id, values=_values((21, "month", 90, None,
                                                                                      "coach")),
        reason=PROPOSAL_REASONS["payment_extension"].by(coach),
        now=now - timedelta(days=30))
    if leader is not None:
        svc.accept_proposal(leader, accepted, comment=ACCEPTED_COMMENT.by(leader),
                            now=now - timedelta(days=29))
    svc.propose_change(
        coach, types["fee_waiver"], level="pod", pod_id=pod.id, values=_values((4000, "month", 30000, None,
                                                                               "coach")),
        reason=PROPOSAL_REASONS["fee_waiver"].by(coach),
        now=now - timedelta(days=2))


def _resolve(rng: random.Random, decision: Decision, leader: User, when: datetime, favour: bool) -> None:
    approvers = svc.eligible_coaches(decision) if decision.approver_level == "coach" else []
    approver = approvers[0] if approvers else leader
    decided = when + timedelta(minutes=rng.randint(20, 600))
    approve = rng.random() < (0.97 if favour else 0.8)
    comment = "" if approve else rng.choice(REJECTIONS).by(approver)
    if favour and not approve:
        approve = True
    try:
        svc.resolve_decision(approver, decision, approve=approve, comment=comment or APPROVED.by(approver),
                             now=decided)
    except svc.AutonomyError:
        pass


def _waiting_for_coach(rng: random.Random, now: datetime, types: dict[str, ActionType], coach: User | None,
                       pod: Pod | None) -> None:
    """A few fresh requests from the demo pod, waiting in the demo coach's queue."""
    if coach is None or pod is None:
        return
    members = [m.user for m in current_members_by_pod([pod.id], now.date())[pod.id]
               if m.user.role == "agent" and m.user.id != coach.id]
    cases = db.session.execute(
        select(Case.external_id, Case.customer_ref).where(Case.pod_id == pod.id).order_by(Case.created_at.desc())
        .limit(20)).all()
    if not members or not cases:
        return
    asks = (("refund", 12000, 35), ("goodwill_credit", 4500, 80), ("payment_extension", 30, 140),
            ("replacement", 2, 15))
    for (code, amount, minutes), agent in zip(asks, rng.sample(members, min(len(members), len(asks))),
                                              strict=False):
        case = rng.choice(cases)
        svc.log_decision(agent, types[code], amount=amount, currency=types[code].currency,
                         case_ref=case.external_id, customer=case.customer_ref or "",
                         rationale=rng.choice(RATIONALES[code]).by(agent), now=now - timedelta(minutes=minutes))
