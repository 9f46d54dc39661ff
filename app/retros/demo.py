"""Demo retros: three closed retros per pod (every four weeks) with grouped cards, votes, notes and actions,
earlier actions reviewed (done ones with their measured effect from the metric engine), and one retro in
progress in the demo coach's pod.

Everything goes through the same services people use, so every phase rule, budget and baseline holds."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import insert, select

from app.context import background_context
from app.demo.language import Said, say
from app.demo.org_data import COACH_EMAIL
from app.extension_points import demo_step
from app.extensions import db
from app.org.models import Pod, User, pod_coaches
from app.retros import services as svc
from app.retros.board import people_of
from app.retros.models import Phase, Retro, RetroCard, RetroVote, RetroVoteTally

SEED = 404
RETRO_EVERY_DAYS = 28
CLOSED_PER_POD = 3

# Every text is written in its author's language (app.demo.language): the card's author, the coach for a title,
# the person who groups for a theme, the person who proposes an action.
# Template, title, cards per column, the two themes grouped (name, card indexes), actions (title, principle,
# metric, topic card index). A card's metric is the one it speaks of ("fcr" for first contact).
RETROS = (
    ("start_stop_continue", say("Retro: facturación y primer contacto", "Retro: fatturazione e primo contatto",
                                "Retro: billing and first contact"), {
        "start": [say("Revisar las dos últimas facturas antes de contestar una duda de facturación",
                      "Controllare le ultime due fatture prima di rispondere a una domanda sulla bolletta",
                      "Check the last two invoices before answering a billing question"),
                  say("Llamar el mismo día a los clientes a los que se les reabre el caso",
                      "Richiamare in giornata i clienti a cui si riapre il caso",
                      "Call back customers whose case was reopened the same day"),
                  say("Compartir cada semana en el stand-up una buena plantilla de respuesta",
                      "Condividere ogni settimana allo stand-up una buona risposta predefinita",
                      "Share one good macro a week at stand-up")],
        "stop": [say("Pasar reclamaciones de factura a back office sin dejar notas",
                     "Passare le contestazioni di fattura al back office senza lasciare note",
                     "Transferring billing disputes to back office without notes"),
                 say("Cerrar casos antes de que el cliente confirme que ya funciona",
                     "Chiudere i casi prima che il cliente confermi che funziona",
                     "Closing cases before the customer confirms the fix"),
                 say("Derivar casos de facturación que podríamos resolver nosotros",
                     "Passare ad altri casi di fatturazione che potremmo risolvere noi",
                     "Handing off billing cases we could solve ourselves")],
        "continue": [say("Poner a cada persona nueva con un compañero durante su primera semana",
                         "Affiancare ogni nuovo arrivato a un collega nella prima settimana",
                         "Pairing new joiners with a buddy for their first week"),
                     say("Hacer la prueba de línea durante la primera llamada",
                         "Fare il test di linea durante la prima chiamata",
                         "Line tests during the first call")],
    }, ((say("Casos de facturación que derivamos", "Casi di fatturazione che passiamo ad altri",
             "Billing cases we hand off"), (3, 5)),
        (say("Cerrar demasiado pronto", "Chiudere troppo presto", "Closing too early"), (1, 4))), (
        (say("Resolver en el pod las reclamaciones de factura en lugar de derivarlas",
             "Risolvere nel pod le contestazioni di fattura invece di passarle ad altri",
             "Resolve billing disputes in the pod instead of handing them off"), "end_to_end", "handoff_rate", 3),
        (say("Pedir al cliente que confirme la solución antes de cerrar",
             "Chiedere al cliente di confermare la soluzione prima di chiudere",
             "Ask the customer to confirm the fix before closing"), "customer_centric", "reopen_rate", 4),
    )),
    ("well_didnt_ideas", say("Retro: tras el cambio de tarifas", "Retro: dopo il cambio dei prezzi",
                             "Retro: after the pricing change"), {
        "went_well": [say("Las preguntas frecuentes de las nuevas tarifas estaban listas desde el primer día",
                          "Le FAQ sui nuovi prezzi erano pronte dal primo giorno",
                          "The FAQ on the new prices was ready on day one"),
                      say("Resolvimos la mayoría de dudas de precio en el primer contacto",
                          "Abbiamo risolto quasi tutte le domande sui prezzi al primo contatto",
                          "We answered most price questions at the first contact")],
        "didnt": [say("Los lunes por la mañana los clientes esperaron demasiado la primera respuesta",
                      "Il lunedì mattina i clienti hanno aspettato troppo la prima risposta",
                      "Customers waited too long for a first reply on Monday mornings"),
                  say("Dimos tres respuestas distintas sobre el descuento de fidelización",
                      "Abbiamo dato tre risposte diverse sullo sconto fedeltà",
                      "Three different answers about the loyalty discount"),
                  say("El lunes se nos acumula la cola del fin de semana",
                      "Il lunedì si accumula l'arretrato del fine settimana",
                      "Monday backlog piled up after the weekend")],
        "ideas": [say("Escalonar los descansos los lunes por la mañana",
                      "Scaglionare le pause il lunedì mattina",
                      "Stagger breaks on Monday mornings"),
                  say("Una única respuesta sobre el descuento de fidelización en la biblioteca de plantillas",
                      "Un'unica risposta sullo sconto fedeltà nella libreria delle risposte predefinite",
                      "One shared answer for the loyalty discount in the macro library"),
                  say("Publicar las condiciones del descuento en el centro de ayuda",
                      "Pubblicare le condizioni dello sconto nel centro assistenza",
                      "Publish the discount rules in the help centre")],
    }, ((say("Los lunes por la mañana", "Il lunedì mattina", "Monday mornings"), (2, 4, 5)),
        (say("Una sola respuesta sobre descuentos", "Una sola risposta sugli sconti", "One answer on discounts"),
         (3, 6))), (
        (say("Escalonar los descansos los lunes por la mañana", "Scaglionare le pause il lunedì mattina",
             "Stagger breaks on Monday mornings"), "customer_centric", "first_reply_p50", 2),
        (say("Escribir una plantilla de respuesta para el descuento de fidelización",
             "Scrivere una risposta predefinita per lo sconto fedeltà",
             "Write one macro for the loyalty discount"), "continuous_improvement", None, 3),
    )),
    ("mad_sad_glad", say("Retro: herramientas y autonomía", "Retro: strumenti e autonomia",
                         "Retro: tools and autonomy"), {
        "mad": [say("Esperar aprobación para abonos de cortesía pequeños",
                    "Aspettare l'approvazione per piccoli bonus di cortesia",
                    "Waiting for approval on small goodwill credits"),
                say("El CRM nos cierra la sesión en las llamadas largas",
                    "Il CRM ci disconnette durante le chiamate lunghe",
                    "The CRM logs us out during long calls")],
        "sad": [say("Perdimos dos buenas valoraciones por reembolsos que tardaron demasiado",
                    "Abbiamo perso due buone recensioni per rimborsi troppo lenti",
                    "We lost two good reviews to slow refunds"),
                say("Las escalaciones vuelven sin respuesta",
                    "Le escalation tornano indietro senza risposta",
                    "Escalations bounce back without an answer")],
        "glad": [say("Con el nuevo límite de reembolso resolvemos nosotros la mayoría de casos",
                     "Con il nuovo limite di rimborso chiudiamo noi quasi tutti i casi",
                     "The new refund limit lets us settle most cases ourselves"),
                 say("Los clientes agradecen que les devolvamos la llamada",
                     "I clienti ci ringraziano quando li richiamiamo",
                     "Customers thank us for calling back"),
                 say("Menos escalaciones desde que llevamos la garantía de principio a fin",
                     "Meno escalation da quando gestiamo la garanzia dall'inizio alla fine",
                     "Fewer escalations since we own warranty cases end to end")],
    }, ((say("Esperando a otros", "In attesa di altri", "Waiting on others"), (0, 4)),
        (say("Hacernos cargo de los reembolsos", "Farci carico dei rimborsi", "Owning refunds"), (2, 3))), (
        (say("Acordar un abono de cortesía que podamos dar sin aprobación",
             "Concordare un bonus di cortesia che possiamo dare senza approvazione",
             "Agree a goodwill credit we can give without approval"), "autonomy", "escalation_rate", 0),
        (say("Seguir en el stand-up los reembolsos lentos hasta que se paguen",
             "Seguire allo stand-up i rimborsi lenti finché non vengono pagati",
             "Track slow refunds at stand-up until they are paid"), "end_to_end", "csat", 2),
    )),
)
IN_PROGRESS = ("four_ls", say("Retro: este mes", "Retro: questo mese", "Retro: this month"), {
    "liked": [say("Resolver averías de router en remoto en una sola llamada",
                  "Risolvere i guasti del router da remoto in una sola chiamata",
                  "Solving router faults remotely in one call")],
    "learned": [say("Casi todos los retrasos en portabilidades vienen de un dato del titular que falta",
                    "Quasi tutti i ritardi nelle portabilità dipendono da un codice di migrazione mancante",
                    "Most porting delays come from missing account-holder details")],
    "lacked": [say("Un responsable claro para las llamadas pendientes del fin de semana",
                   "Un responsabile chiaro per i richiami del fine settimana",
                   "A clear owner for weekend callbacks")],
    "longed_for": [say("Una vista compartida de los reembolsos abiertos",
                       "Una vista condivisa dei rimborsi aperti",
                       "A shared view of open refunds")],
})
NOTES = (say("Acordamos probarlo dos semanas y mirar las cifras en la próxima retro.",
             "Abbiamo deciso di provarlo per due settimane e guardare i numeri alla prossima retro.",
             "We agreed to try it for two weeks and check the figures at the next retro."),
         say("Casi todo el equipo se ha encontrado con esto más de una vez este mes.",
             "Quasi tutto il team si è trovato in questa situazione più di una volta questo mese.",
             "Most of the team has run into this more than once this month."),
         say("Lo llevaremos al back office de facturación en la próxima reunión.",
             "Lo porteremo al back office della fatturazione alla prossima riunione.",
             "We will take it to the billing back office at their next meeting."))
# The card that speaks of first-contact resolution carries the FCR metric.
FIRST_CONTACT_CARD = RETROS[1][2]["went_well"][1]
REVIEW_PATTERN = ("done", "done", "not_done", "dropped")
# Every pod's own template, named in each language (the English name is the fallback for any other).
POD_TEMPLATE = (say("Por canal: teléfono, chat y correo", "Per canale: telefono, chat ed e-mail",
                    "By channel: phone, chat and email"),
                (say("Teléfono", "Telefono", "Phone"), say("Chat", "Chat", "Chat"),
                 say("Correo electrónico", "E-mail", "Email"), say("Lo que une a los tres", "Ciò che li accomuna",
                                                                   "What all three share")))


@demo_step(40, "retros")
def load_retros_demo(now: datetime) -> None:
    rng = random.Random(SEED)
    with background_context():
        pods = list(db.session.scalars(select(Pod).where(Pod.active).order_by(Pod.id)))
        coaches = _coaches([p.id for p in pods])
        demo_coach = db.session.scalar(select(User).where(User.email == COACH_EMAIL))
        live_pod = next((p for p in pods if demo_coach and demo_coach in coaches.get(p.id, [])), None)
        for index, pod in enumerate(pods):
            coach = (coaches.get(pod.id) or [None])[0]
            people = people_of(pod.id, now.date())
            members = [p for p in people if p not in coaches.get(pod.id, [])]
            if coach is None or len(members) < 3:
                continue
            _pod_template(coach, pod, now - timedelta(days=RETRO_EVERY_DAYS * CLOSED_PER_POD + 7))
            for n in range(CLOSED_PER_POD):
                when = now - timedelta(days=RETRO_EVERY_DAYS * (CLOSED_PER_POD - n), hours=-rng.randint(0, 5))
                _closed_retro(pod, coach, people, members, RETROS[(n + index) % len(RETROS)], n, when, rng)
            if pod is live_pod:
                _retro_in_progress(pod, coach, people, members, now - timedelta(minutes=40), rng)
    db.session.flush()


def _pod_template(coach: User, pod: Pod, when: datetime) -> None:
    name, columns = POD_TEMPLATE
    svc.save_template(coach, pod, name=name["en"], columns_text="\n".join(c["en"] for c in columns), now=when,
                      names={lang: name[lang] for lang in ("es", "it")},
                      columns_in={lang: "\n".join(c[lang] for c in columns) for lang in ("es", "it")})


def _coaches(pod_ids: list[int]) -> dict[int, list[User]]:
    result: dict[int, list[User]] = {}
    for pod_id, user in db.session.execute(
            select(pod_coaches.c.pod_id, User).join(User, User.id == pod_coaches.c.user_id)
            .where(pod_coaches.c.pod_id.in_(pod_ids)).order_by(User.display_name)):
        result.setdefault(pod_id, []).append(user)
    return result


def _advance(coach: User, retro: Retro, when: datetime) -> None:
    svc.advance_phase(coach, retro, retro.phase, now=when)


def _review(retro: Retro, members: list[User], when: datetime, offset: int) -> None:
    for i, action in enumerate(svc.actions_to_review(retro)):
        svc.review_action(members[i % len(members)], retro, action,
                          REVIEW_PATTERN[(i + offset) % len(REVIEW_PATTERN)], now=when)


def _write_cards(retro: Retro, members: list[User], columns: dict[str, list[Said]], when: datetime,
                 rng: random.Random) -> list[RetroCard]:
    cards = []
    for column_key, texts in columns.items():
        for text in texts:
            author = rng.choice(members)
            metric = "fcr" if text is FIRST_CONTACT_CARD else None
            cards.append(svc.add_card(author, retro, column_key=column_key, text=text.by(author), metric_code=metric,
                                      now=when + timedelta(minutes=len(cards))))
    return cards


def _closed_retro(pod: Pod, coach: User, people: list[User], members: list[User], plan, n: int,
                  when: datetime, rng: random.Random) -> None:
    template, title, columns, themes, action_plans = plan
    facilitator = svc.suggested_facilitator(pod, people) or coach
    retro = svc.create_retro(coach, pod, title=title.by(coach), template_key=template, facilitator=facilitator,
                             anonymous=n != 1, now=when)
    step = timedelta(minutes=8)
    _advance(coach, retro, when + step)  # review
    _review(retro, members, when + step, n)
    _advance(coach, retro, when + 2 * step)  # reflect
    cards = _write_cards(retro, members, columns, when + 2 * step, rng)
    _advance(coach, retro, when + 3 * step)  # group
    grouper = members[0]
    topic_of = {}
    for name, theme in themes:
        first, *rest = [cards[i] for i in theme]
        for card in rest:
            group = svc.move_card(grouper, retro, card, f"card-{first.id}")
        svc.rename_group(grouper, retro, group, title=name.by(grouper))
        topic_of.update({i: f"group-{group.id}" for i in theme})
    _advance(coach, retro, when + 4 * step)  # vote
    topics = [f"group-{cards[t[0]].group_id}" for _name, t in themes] + [
        f"card-{c.id}" for c in cards if c.group_id is None]
    _votes(retro, members, topics, rng)
    _advance(coach, retro, when + 5 * step)  # discuss
    for i, topic in enumerate(topics[:2]):
        author = rng.choice(members)
        svc.add_note(author, retro, topic=topic, text=NOTES[(i + n) % len(NOTES)].by(author), now=when + 5 * step)
    for i, (action_title, principle, metric, card_index) in enumerate(action_plans):
        topic = topic_of.get(card_index, f"card-{cards[card_index].id}")
        proposer = members[(i + n) % len(members)]
        svc.create_action(proposer, retro, title=action_title.by(proposer),
                          owner=members[(2 * i + n + 1) % len(members)],
                          due_date=(when + timedelta(days=14 + 7 * i)).date(), principle=principle,
                          topic=topic, metric_code=metric, scope_kind="pod" if metric else None,
                          now=when + 6 * step)
    _advance(coach, retro, when + 7 * step)  # closed


def _votes(retro: Retro, voters: list[User], topics: list[str], rng: random.Random) -> None:
    """Each person's dots, within the retro's budget and per-item cap, written as the counter rows votes use
    (in bulk: dot by dot through the service would make the demo slow)."""
    votes, tallies = [], []
    for voter in voters:
        dots: dict[str, int] = {}
        for _dot in range(min(rng.randint(2, 4), retro.votes_per_person)):
            item = topics[0] if rng.random() < 0.35 else rng.choice(topics)
            if dots.get(item, 0) < retro.max_votes_per_item:
                dots[item] = dots.get(item, 0) + 1
        for item, count in dots.items():
            kind, _sep, raw = item.partition("-")
            votes.append({"retro_id": retro.id, "user_id": voter.id, "card_id": None, "group_id": None,
                          f"{kind}_id": int(raw), "count": count})
        tallies.append({"retro_id": retro.id, "user_id": voter.id, "used": sum(dots.values())})
    db.session.execute(insert(RetroVote), votes)
    db.session.execute(insert(RetroVoteTally), tallies)


def _retro_in_progress(pod: Pod, coach: User, people: list[User], members: list[User], when: datetime,
                       rng: random.Random) -> None:
    template, title, columns = IN_PROGRESS
    facilitator = svc.suggested_facilitator(pod, people) or coach
    retro = svc.create_retro(coach, pod, title=title.by(coach), template_key=template, facilitator=facilitator,
                             now=when)
    _advance(coach, retro, when + timedelta(minutes=5))  # review
    _review(retro, members, when + timedelta(minutes=6), 0)
    _advance(coach, retro, when + timedelta(minutes=15))  # reflect
    others = [m for m in members if m.email != "agent@example.com"]
    _write_cards(retro, others, columns, when + timedelta(minutes=16), rng)
    svc.set_timer(coach, retro, Phase.REFLECT.value, 10, now=when + timedelta(minutes=38))

