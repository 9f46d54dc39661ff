"""Demo skills matrices: every pod's request types and channels plus a few skills its coach added, named in the
pod's language; levels set by the coach months ago and raised since (some on the member's proposal), a few
proposals waiting, and deliberate gaps: a skill only one person covers and handed-off demand nobody covers."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import case, func, or_, select

from app.demo.language import say
from app.extension_points import demo_step
from app.extensions import db
from app.org.models import Pod, User, pod_coaches
from app.outcomes.models import Case
from app.skills import services
from app.skills.models import SkillLevel, SkillProposal

BILLING_SYSTEM = say("Sistema de facturación", "Sistema di fatturazione", "Billing system")
# Skills a coach adds beyond request types and channels, per pod (by its position in the demo), in each language.
CUSTOM_SKILLS = (
    (BILLING_SYSTEM, say("Portabilidad de número", "Portabilità del numero", "Number porting")),
    (BILLING_SYSTEM, say("Diagnóstico de router y fibra", "Diagnosi di router e fibra", "Router and fibre diagnostics")),
    (say("Ofertas de retención", "Offerte di retention", "Retention offers"),
     say("Bajas y portabilidad saliente", "Disdette e portabilità in uscita", "Cancellations and port-outs")),
    (say("Centralita en la nube", "Centralino cloud", "Cloud switchboard"),
     say("Facturas con IVA", "Fatture con IVA", "VAT invoices")),
    (BILLING_SYSTEM, say("Telefonía IP", "Telefonia IP", "IP telephony")),
    (say("Contratos con SLA", "Contratti con SLA", "SLA contracts"),
     say("Líneas dedicadas y SD-WAN", "Linee dedicate e SD-WAN", "Leased lines and SD-WAN")),
)
LEVEL_WEIGHTS = (("none", 20), ("learning", 25), ("independent", 45), ("teach", 10))
SET_DAYS_AGO = 150  # the coach first filled in the matrix


def _pick(rng: random.Random) -> str:
    return rng.choices([level for level, _w in LEVEL_WEIGHTS], [w for _l, w in LEVEL_WEIGHTS])[0]


@demo_step(60, "skills")
def load_skills_demo(now: datetime) -> None:
    rng = random.Random(15)
    pods = list(db.session.scalars(select(Pod).where(Pod.active).order_by(Pod.id)))
    for position, pod in enumerate(pods):
        _pod_matrix(pod, CUSTOM_SKILLS[position % len(CUSTOM_SKILLS)], now, rng)
    db.session.flush()


def _top(pod: Pod, column, since: datetime) -> list[tuple[str, int]]:
    """(code, handed-off cases) of the pod's recent cases by ``column``, most asked first."""
    handed = func.sum(case((or_(Case.assignee_stations > 1, Case.group_stations > 1), 1), else_=0))
    rows = db.session.execute(
        select(column, func.count(), handed)
        .where(Case.pod_id == pod.id, Case.created_at >= since, column.is_not(None))
        .group_by(column).order_by(func.count().desc(), column))
    return [(code, int(handed_off or 0)) for code, _count, handed_off in rows]


def _pod_matrix(pod: Pod, customs: tuple, now: datetime, rng: random.Random) -> None:
    today = services.local_today(pod, now)
    coach = db.session.scalar(select(User).join(pod_coaches, pod_coaches.c.user_id == User.id)
                              .where(pod_coaches.c.pod_id == pod.id).order_by(User.display_name).limit(1))
    members = list(db.session.scalars(pod.members_on(today)))
    if coach is None or len(members) < 3:
        return
    since = now - timedelta(days=services.DEMAND_DAYS)
    first = now - timedelta(days=SET_DAYS_AGO)
    types = _top(pod, Case.request_type, since)
    channels = _top(pod, Case.channel, since)
    keys = [f"rt:{code}" for code, _handed in types] + [f"ch:{code}" for code, _handed in channels]
    for said in customs:
        skill = services.add_skill(coach, pod, said.by(coach), now=first - timedelta(days=1))
        keys.append(skill.key)
    # Deliberate gaps: the least asked request type has a single independent member; of the channels after the two
    # busiest, the one handed off most has nobody independent (a training need).
    single = f"rt:{types[-1][0]}" if types else None
    quieter = sorted(channels[2:], key=lambda item: -item[1])
    uncovered = f"ch:{quieter[0][0]}" if quieter else None
    people = rng.sample(members, len(members))
    for key in keys:
        finals = [_pick(rng) for _member in people]
        if key == single:
            finals = ["independent"] + [rng.choice(("none", "learning")) for _member in people[1:]]
        elif key == uncovered:
            finals = [rng.choice(("none", "learning")) for _member in people]
        else:  # everything else has the two independent members a pod needs
            for index in range(len(finals)):
                if sum(1 for level in finals if level in ("independent", "teach")) >= 2:
                    break
                finals[index] = "independent" if finals[index] != "teach" else "teach"
        for member, final in zip(people, finals, strict=True):
            if final == "none":
                continue
            grew = final in ("independent", "teach") and rng.random() < 0.35
            start_level = "learning" if grew else final
            at = first + timedelta(hours=rng.randint(0, 72))
            services._write_level(coach, pod.id, member.id, key, start_level, at)
            if grew:  # raised during the last quarter: half on the member's own proposal
                when = now - timedelta(days=rng.randint(10, 80), hours=rng.randint(0, 8))
                if rng.random() < 0.5:
                    proposal = SkillProposal(pod_id=pod.id, user_id=member.id, skill_key=key, level=final,
                                             proposed_at=when - timedelta(days=2))
                    db.session.add(proposal)
                    db.session.flush()
                    proposal.status, proposal.decided_by_id, proposal.decided_at = "confirmed", coach.id, when
                    services._write_level(coach, pod.id, member.id, key, final, when, proposal.id)
                else:
                    services._write_level(coach, pod.id, member.id, key, final, when)
        people = people[1:] + people[:1]
    # Proposals waiting for the coach: two members think they have grown.
    for member in people[1:3]:
        key = rng.choice([k for k in keys if k != uncovered])
        current = next((lvl for uid, k, lvl in _levels(pod.id) if uid == member.id and k == key), "none")
        wanted = {"none": "learning", "learning": "independent", "independent": "teach"}.get(current)
        if wanted:
            db.session.add(SkillProposal(pod_id=pod.id, user_id=member.id, skill_key=key, level=wanted,
                                         proposed_at=now - timedelta(days=rng.randint(1, 5))))
    db.session.flush()


def _levels(pod_id: int) -> list[tuple[int, str, str]]:
    return [tuple(row) for row in db.session.execute(
        select(SkillLevel.user_id, SkillLevel.skill_key, SkillLevel.level).where(SkillLevel.pod_id == pod_id))]
