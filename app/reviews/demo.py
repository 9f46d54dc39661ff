"""Demo reviews: last quarter's signed off for every pod (with objectives for this quarter), this quarter's in
draft with a first objective for next quarter."""

from __future__ import annotations

from datetime import datetime, timedelta

from babel.numbers import format_percent
from sqlalchemy import select

from app.context import background_context
from app.demo.language import Said, say
from app.demo.org_data import LEADER_EMAIL
from app.extension_points import demo_step
from app.extensions import db
from app.org.models import Pod, User
from app.org.services import coaches_by_pod
from app.outcomes import metrics
from app.outcomes import targets as T
from app.reviews import services as svc
from app.timeutil import local_to_utc

# Written by the pod's coach, in the coach's language (app.demo.language). The first "wins" line follows the
# pod's own figures (first-contact resolution rose, or held), so the story matches the scorecard beside it.
FCR_ROSE = say("La resolución en el primer contacto pasó del %(before)s al %(after)s con la nueva guía de "
               "diagnóstico.",
               "La risoluzione al primo contatto è passata dal %(before)s al %(after)s con la nuova guida di "
               "diagnosi.",
               "First-contact resolution rose from %(before)s to %(after)s after the new troubleshooting guide.")
FCR_HELD = say("La resolución en el primer contacto se mantuvo en torno al %(after)s mientras crecía el volumen.",
               "La risoluzione al primo contatto è rimasta intorno al %(after)s mentre i volumi crescevano.",
               "First-contact resolution held at about %(after)s while volume grew.")
LAST_NARRATIVE = {
    "misses": say("La primera respuesta se resintió en las semanas de vacaciones, cuando coincidieron dos "
                  "ausencias.",
                  "La prima risposta è peggiorata nelle settimane di ferie, quando mancavano due persone insieme.",
                  "First reply slipped in the holiday weeks when two people were away at once."),
    "learnings": say("Poner a las personas más nuevas con un especialista en las escalaciones redujo las "
                     "reaperturas más que la formación adicional.",
                     "Affiancare i colleghi più nuovi a uno specialista sulle escalation ha ridotto le riaperture "
                     "più della formazione extra.",
                     "Pairing newer agents with a specialist on escalations cut reopens more than extra training "
                     "did."),
    "risks": say("El despliegue de fibra en nuevas zonas traerá un pico de consultas sobre instalaciones.",
                 "L'estensione della fibra a nuove zone porterà un picco di domande sulle installazioni.",
                 "The new fibre rollout will bring a spike of installation questions."),
    "asks": say("Un especialista más, compartido con el pod vecino, mientras dure el despliegue.",
                "Uno specialista in più, condiviso con il pod vicino, finché dura l'estensione della rete.",
                "One more specialist shared with the neighbouring pod during the rollout."),
}
CSAT_ROSE = say("El CSAT sube del %(before)s al %(after)s aunque atendemos más casos.",
                "Il CSAT sale dal %(before)s al %(after)s anche se gestiamo più casi.",
                "CSAT up from %(before)s to %(after)s while volume grew.")
CSAT_HELD = say("El CSAT se mantiene en torno al %(after)s aunque atendemos más casos.",
                "Il CSAT tiene intorno al %(after)s anche se gestiamo più casi.",
                "CSAT steady at about %(after)s while volume grew.")
MORE_VOLUME = say("Atendemos más casos que el trimestre pasado con el mismo equipo.",
                  "Gestiamo più casi del trimestre scorso con lo stesso team.",
                  "More cases than last quarter, handled by the same team.")
CURRENT_NARRATIVE = {
    "risks": say("El calendario de vacaciones de las últimas semanas del trimestre.",
                 "Il piano ferie delle ultime settimane del trimestre.",
                 "Holiday rota in the last weeks of the quarter."),
}
OBJECTIVE_FCR = say("Resolver más en el primer contacto", "Risolvere di più al primo contatto",
                    "Resolve more at first contact")
OBJECTIVE_HEARD = say("Que los clientes se sientan escuchados", "Clienti che si sentono ascoltati",
                      "Customers feel heard")
OBJECTIVE_REPLIES = say("Primeras respuestas más rápidas", "Prime risposte più rapide", "Faster first replies")
ROSE_BY = 0.02  # a rate that moved less than two points "held"


def _rate(value: float | None, locale: str) -> str:
    return format_percent(value or 0, locale=locale)


def _trend_line(rose: Said, held: Said, fell: Said, code: str, pod: Pod, before: tuple[int, int],
                after: tuple[int, int], author: User) -> str:
    """The line for how `code` went from quarter `before` to quarter `after`, in the author's words: `rose`,
    `held` (both with the two figures) or, when it fell or has no figure, `fell` (which claims no trend)."""
    scope = metrics.Scope(pod_id=pod.id)
    was = metrics.compute(*T.quarter_bounds(*before), scope, (code,), pod.timezone)[code].value
    now = metrics.compute(*T.quarter_bounds(*after), scope, (code,), pod.timezone)[code].value
    locale = author.locale or "en"
    values = {"before": _rate(was, locale), "after": _rate(now, locale)}
    if now is None or (was is not None and was - now >= ROSE_BY):
        return fell.by(author)
    if was is not None and now - was >= ROSE_BY:
        return rose.by(author) % values
    return held.by(author) % values


def _stretch(code: str, baseline: float | None) -> float | None:
    if baseline is None:
        return None
    definition = metrics.METRICS[code]
    if definition.unit == "rate":
        better = baseline + 0.03 if definition.direction == "higher" else baseline * 0.85
        return round(min(0.99, max(0.0, better)), 3)
    return round(max(0.0, baseline * 0.9), 1)


def _objective(actor: User, review, title: Said, codes: tuple[str, ...], confidence: int, now: datetime) -> None:
    objective = svc.add_objective(actor, review, title.by(actor))
    year, quarter = review.year, review.quarter
    baselines = metrics.compute(*T.quarter_bounds(year, quarter), metrics.Scope(pod_id=review.pod_id), codes,
                                review.pod.timezone)
    for code in codes:
        target = _stretch(code, baselines[code].value)
        if target is not None:
            svc.add_key_result(actor, objective, code, target, confidence, now, baselines=baselines)


@demo_step(80, "quarterly reviews")
def load_reviews_demo(now: datetime) -> None:
    with background_context():
        _load(now)


def _load(now: datetime) -> None:
    leader = db.session.scalar(select(User).where(User.email == LEADER_EMAIL))
    if leader is None:
        return
    pods = list(db.session.scalars(select(Pod).where(Pod.active).order_by(Pod.id)))
    coaches = coaches_by_pod([pod.id for pod in pods])
    for pod in pods:
        coach = coaches[pod.id][0] if coaches[pod.id] else leader
        current = svc.current_quarter(pod, now)
        last = T.shift_quarter(*current, -1)
        quarter_start = local_to_utc(datetime.combine(T.quarter_bounds(*current)[0], datetime.min.time()),
                                     pod.timezone)
        opened = quarter_start - timedelta(days=10)
        signed = min(now, quarter_start + timedelta(days=6, hours=10))

        review = svc.open_review(coach, pod, *last, now=opened)
        narrative = {"wins": _trend_line(FCR_ROSE, FCR_HELD, MORE_VOLUME, "fcr", pod, T.shift_quarter(*last, -1), last,
                                         coach)}
        narrative.update({section: said.by(coach) for section, said in LAST_NARRATIVE.items()})
        for index, (section, text) in enumerate(narrative.items()):
            svc.save_narrative(coach, review, section, text, now=opened + timedelta(hours=index))
        _objective(coach, review, OBJECTIVE_FCR, ("fcr", "reopen_rate"), 7, opened)
        _objective(coach, review, OBJECTIVE_HEARD, ("csat",), 6, opened)
        svc.submit(coach, review)
        svc.sign_off(leader, review, now=signed)

        draft = svc.open_review(coach, pod, *current, now=min(now, signed + timedelta(days=60)))
        narrative = {"wins": _trend_line(CSAT_ROSE, CSAT_HELD, MORE_VOLUME, "csat", pod, last, current, coach)}
        narrative.update({section: said.by(coach) for section, said in CURRENT_NARRATIVE.items()})
        for section, text in narrative.items():
            svc.save_narrative(coach, draft, section, text, now=now)
        _objective(coach, draft, OBJECTIVE_REPLIES, ("first_reply_p50", "sla_attainment"), 5, now)
    db.session.commit()
