"""The demo organisation: a telco serving Spain and Italy with six end-to-end pods."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.org import services as org
from app.org.models import DEFAULT_STAGES, LifecycleStage, Role, Segment, User

ORG_NAME = "Telco Iberia-Italia"
ORG_TIMEZONE = "Europe/Madrid"
MADRID = "Europe/Madrid"
ROME = "Europe/Rome"
DEFAULT_PASSWORD = "podium-demo"

ADMIN_EMAIL = "admin@example.com"
LEADER_EMAIL = "leader@example.com"
COACH_EMAIL = "coach@example.com"
AGENT_EMAIL = "agent@example.com"

COVERAGE_DAYS_AGO = 213
PODS_CREATED_DAYS_AGO = 540

RESIDENTIAL = "Residential"
SMALL_BUSINESS = "Small business"
ENTERPRISE = "Enterprise"
PRE_SALE, ONBOARDING, IN_LIFE, WARRANTY, CLOSURE = (name for name, _description in DEFAULT_STAGES)

SEGMENTS: tuple[tuple[str, str], ...] = (
    (RESIDENTIAL, "Hogares con fibra, móvil y televisión en casa."),
    (SMALL_BUSINESS, "Comercios, despachos y empresas de hasta 50 líneas."),
    (ENTERPRISE, "Cuentas corporativas con un acuerdo de nivel de servicio firmado."),
)


@dataclass(frozen=True)
class Person:
    name: str
    locale: str
    timezone: str
    role: str = Role.AGENT.value
    email: str | None = None

    @property
    def address(self) -> str:
        return self.email or f"{_ascii(self.name).replace(' ', '.')}@example.com"


@dataclass(frozen=True)
class Member:
    name: str
    joined_days_ago: int
    profile: str = "generalist"
    skills: str = ""
    left_days_ago: int | None = None


@dataclass(frozen=True)
class PodPlan:
    name: str
    mission: str
    timezone: str
    standup: time
    working_days: str
    coaches: tuple[str, ...]
    cells: tuple[tuple[str, str], ...]
    members: tuple[Member, ...] = field(default_factory=tuple)


PEOPLE: tuple[Person, ...] = (
    Person("Ana Martín", "es", MADRID, Role.ADMIN.value, ADMIN_EMAIL),
    Person("Javier Ortega", "es", MADRID, Role.LEADER.value, LEADER_EMAIL),
    Person("Francesca Romano", "it", ROME, Role.LEADER.value),
    Person("Lucía Fernández", "es", MADRID, Role.COACH.value, COACH_EMAIL),
    Person("Carmen Vidal", "es", MADRID, Role.COACH.value),
    Person("Alessandro Ferri", "it", ROME, Role.COACH.value),
    Person("Giulia Russo", "it", ROME, Role.COACH.value),
    Person("Diego Serrano", "es", MADRID, Role.COACH.value),
    Person("Marco Bianchi", "it", ROME, Role.COACH.value),
    Person("Emma Clarke", "en", ROME, Role.COACH.value),
    Person("Pablo Navarro", "es", MADRID),
    Person("Marta Gil", "es", MADRID),
    Person("Sergio Romero", "es", MADRID),
    Person("Elena Castro", "es", MADRID),
    Person("Raúl Herrera", "es", MADRID),
    Person("Nuria Pascual", "es", MADRID),
    Person("Iván Molina", "es", MADRID),
    Person("Sofía Delgado", "es", MADRID, Role.AGENT.value, AGENT_EMAIL),
    Person("Alberto Ruiz", "es", MADRID),
    Person("Paula Jiménez", "es", MADRID),
    Person("Miguel Sanz", "es", MADRID),
    Person("Laura Moreno", "es", MADRID),
    Person("Andrés Vega", "es", MADRID),
    Person("Cristina López", "es", MADRID),
    Person("Jorge Medina", "es", MADRID),
    Person("Irene Cano", "es", MADRID),
    Person("Chiara Esposito", "it", ROME),
    Person("Luca Marino", "it", ROME),
    Person("Federica Greco", "it", ROME),
    Person("Davide Conti", "it", ROME),
    Person("Sara Gallo", "it", ROME),
    Person("Matteo Costa", "it", ROME),
    Person("Valentina Ricci", "it", ROME),
    Person("Simone Lombardi", "it", ROME),
    Person("Martina Moretti", "it", ROME),
    Person("Andrea Barbieri", "it", ROME),
    Person("Elisa Fontana", "it", ROME),
    Person("Álvaro Prieto", "es", MADRID),
    Person("Beatriz Núñez", "es", MADRID),
    Person("Carlos Ibáñez", "es", MADRID),
    Person("Rocío Márquez", "es", MADRID),
    Person("Hugo Santos", "es", MADRID),
    Person("Alicia Domínguez", "es", MADRID),
    Person("Tomás Rubio", "es", MADRID),
    Person("Oliver Hughes", "en", ROME),
    Person("Hannah Price", "en", ROME),
    Person("James Whitaker", "en", ROME),
    Person("Francesco De Luca", "it", ROME),
    Person("Giorgia Mancini", "it", ROME),
    Person("Lorenzo Rinaldi", "it", ROME),
)

PODS: tuple[PodPlan, ...] = (
    PodPlan(
        "Residential Onboarding",
        "Convertir la primera pregunta de un hogar en una línea que funciona: presupuestos, contratos, "
        "portabilidad e instalación, con un mismo equipo desde la primera llamada hasta la primera factura.",
        MADRID, time(9, 15), "12345", ("Carmen Vidal",),
        ((RESIDENTIAL, PRE_SALE), (RESIDENTIAL, ONBOARDING)),
        (
            Member("Pablo Navarro", 610, "generalist", "presupuestos, contratos"),
            Member("Marta Gil", 480, "specialist", "facturación, portabilidad"),
            Member("Sergio Romero", 420, "specialist", "instalaciones de fibra, visitas técnicas"),
            Member("Elena Castro", 390, "generalist", "tarifas móviles, activación de SIM"),
            Member("Raúl Herrera", 560, "generalist", "paquetes de TV, convergentes", left_days_ago=92),
            Member("Nuria Pascual", 300, "generalist", "presupuestos, domiciliaciones"),
            Member("Iván Molina", 250, "specialist", "portabilidad, eSIM"),
        ),
    ),
    PodPlan(
        "Residential Care",
        "Que cada hogar siga conectado y pague lo justo: averías, facturas, reparaciones y garantía, "
        "resueltas en el primer contacto siempre que podamos.",
        MADRID, time(9, 30), "123456", ("Lucía Fernández",),
        ((RESIDENTIAL, IN_LIFE), (RESIDENTIAL, WARRANTY)),
        (
            Member("Sofía Delgado", 420, "generalist", "facturación, incidencias de router"),
            Member("Alberto Ruiz", 700, "specialist", "averías de fibra, pruebas de línea"),
            Member("Paula Jiménez", 520, "generalist", "facturas, reembolsos"),
            Member("Miguel Sanz", 460, "specialist", "devoluciones en garantía, cambios de equipo"),
            Member("Laura Moreno", 380, "generalist", "roaming, bonos de datos"),
            Member("Andrés Vega", 340, "specialist", "descodificadores, apps de streaming"),
            Member("Cristina López", 290, "generalist", "gestión de quejas, abonos de cortesía"),
            Member("Jorge Medina", 230, "generalist", "facturación, aplazamientos de pago"),
            Member("Raúl Herrera", 91, "generalist", "paquetes de TV, convergentes"),
            Member("Irene Cano", 36, "generalist", "facturación"),
        ),
    ),
    PodPlan(
        "Residential Retention & Closure",
        "Ascoltare le famiglie che vogliono andarsene, trattenere chi possiamo con un'offerta onesta e "
        "rendere ogni disdetta e portabilità in uscita pulita, rapida e definitiva.",
        ROME, time(10, 0), "12345", ("Alessandro Ferri",),
        ((RESIDENTIAL, WARRANTY), (RESIDENTIAL, CLOSURE)),
        (
            Member("Chiara Esposito", 650, "specialist", "offerte di retention, contratti"),
            Member("Luca Marino", 500, "generalist", "disdette, fatture di chiusura"),
            Member("Federica Greco", 440, "specialist", "portabilità in uscita, resi degli apparati"),
            Member("Davide Conti", 360, "generalist", "reclami in garanzia, riparazioni"),
            Member("Sara Gallo", 310, "generalist", "gestione reclami, rimborsi"),
            Member("Matteo Costa", 260, "generalist", "spagnolo, offerte di retention"),
        ),
    ),
    PodPlan(
        "SMB Growth",
        "Aiutare le piccole imprese a scegliere, acquistare e attivare connettività e servizi cloud in pochi "
        "giorni, non in settimane.",
        ROME, time(9, 30), "12345", ("Giulia Russo",),
        ((SMALL_BUSINESS, PRE_SALE), (SMALL_BUSINESS, ONBOARDING)),
        (
            Member("Valentina Ricci", 590, "specialist", "centralino cloud, Microsoft 365"),
            Member("Simone Lombardi", 470, "generalist", "preventivi, contratti multilinea", left_days_ago=71),
            Member("Martina Moretti", 400, "generalist", "contratti, attivazioni"),
            Member("Andrea Barbieri", 330, "specialist", "installazioni fibra, IP statici"),
            Member("Elisa Fontana", 280, "generalist", "fatture con IVA, chiamate di benvenuto"),
        ),
    ),
    PodPlan(
        "SMB Care",
        "Que ninguna pyme se quede parada: averías, facturas, reparación de equipos, cambios de contrato y "
        "bajas, gestionados de principio a fin por un solo equipo.",
        MADRID, time(10, 0), "12345", ("Diego Serrano",),
        ((SMALL_BUSINESS, IN_LIFE), (SMALL_BUSINESS, WARRANTY), (SMALL_BUSINESS, CLOSURE)),
        (
            Member("Álvaro Prieto", 640, "generalist", "facturación, facturas con IVA"),
            Member("Beatriz Núñez", 510, "specialist", "sustitución de routers, garantía"),
            Member("Carlos Ibáñez", 450, "specialist", "centralita virtual, telefonía IP"),
            Member("Rocío Márquez", 370, "generalist", "cambios de contrato, portabilidad"),
            Member("Hugo Santos", 320, "generalist", "flotas móviles, eSIM"),
            Member("Alicia Domínguez", 270, "generalist", "planes de pago, recobro"),
            Member("Tomás Rubio", 210, "specialist", "agenda de técnicos de campo"),
        ),
    ),
    PodPlan(
        "Enterprise Accounts",
        "Un solo team per ogni cliente enterprise, dal contratto al servizio, dalle riparazioni al rinnovo, "
        "misurato sullo SLA del cliente.",
        ROME, time(9, 15), "12345", ("Emma Clarke", "Marco Bianchi"),
        ((ENTERPRISE, ONBOARDING), (ENTERPRISE, IN_LIFE), (ENTERPRISE, WARRANTY), (ENTERPRISE, CLOSURE)),
        (
            Member("Oliver Hughes", 720, "specialist", "SLA contracts, escalations"),
            Member("Hannah Price", 530, "generalist", "English, Italian, account reviews"),
            Member("James Whitaker", 450, "specialist", "leased lines, SD-WAN"),
            Member("Francesco De Luca", 390, "generalist", "fatture, note di credito"),
            Member("Giorgia Mancini", 340, "specialist", "data center, cloud connect"),
            Member("Lorenzo Rinaldi", 300, "generalist", "flotte mobili, rinnovi"),
            Member("Simone Lombardi", 70, "generalist", "preventivi, contratti multilinea"),
        ),
    ),
)

GAP_CELL = (ENTERPRISE, PRE_SALE)
OVERLAP_CELL = (RESIDENTIAL, WARRANTY)


def _ascii(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


def demo_password_hash() -> str:
    """Hash the demo password once: scrypt is deliberately slow, and every demo account shares it."""
    probe = User()
    probe.set_password(current_app.config.get("DEMO_PASSWORD") or DEFAULT_PASSWORD)
    return probe.password_hash


def create_organisation(now: datetime) -> dict[str, User]:
    """Create people, segments, stages, pods, memberships and coverage; return users by display name."""
    today = now.date()
    organisation = org.get_organisation()
    organisation.name = ORG_NAME
    organisation.timezone = ORG_TIMEZONE

    password_hash = demo_password_hash()
    users: dict[str, User] = {}
    for person in PEOPLE:
        user = org.create_user(None, email=person.address, display_name=person.name, role=person.role,
                               locale=person.locale, timezone=person.timezone)
        user.password_hash = password_hash
        user.created_at = now - timedelta(days=PODS_CREATED_DAYS_AGO)
        users[person.name] = user
    admin = users[PEOPLE[0].name]
    leader = next(users[p.name] for p in PEOPLE if p.email == LEADER_EMAIL)

    segments = {name: _segment(admin, name, description, position)
                for position, (name, description) in enumerate(SEGMENTS, start=1)}
    stages = _stages(admin)

    since = now - timedelta(days=COVERAGE_DAYS_AGO)
    for plan in PODS:
        pod = org.save_pod(admin, None, name=plan.name, mission=plan.mission, timezone=plan.timezone,
                           standup_time=plan.standup, working_days=plan.working_days)
        pod.created_at = now - timedelta(days=PODS_CREATED_DAYS_AGO)
        org.set_pod_coaches(admin, pod, [users[name] for name in plan.coaches])
        for member in plan.members:
            membership = org.add_member(admin, pod, users[member.name],
                                        start=today - timedelta(days=member.joined_days_ago),
                                        profile=member.profile, skills=member.skills)
            if member.left_days_ago is not None:
                org.end_membership(admin, membership, end=today - timedelta(days=member.left_days_ago))
        for segment_name, stage_name in plan.cells:
            org.assign_coverage(leader, pod, segments[segment_name], stages[stage_name], now=since)
    db.session.flush()
    return users


def _segment(actor: User, name: str, description: str, position: int) -> Segment:
    existing = db.session.scalar(select(Segment).where(func.lower(Segment.name) == name.lower()))
    return org.save_segment(actor, existing, name=name, description=description, position=position)


def _stages(actor: User) -> dict[str, LifecycleStage]:
    org.ensure_default_stages()
    found = {stage.name: stage for stage in db.session.scalars(select(LifecycleStage))}
    for position, (name, description) in enumerate(DEFAULT_STAGES, start=1):
        if name not in found:
            found[name] = org.save_stage(actor, None, name=name, description=description, position=position)
    return found

