"""The demo organisation: a telco serving Spain and Italy with six end-to-end pods.

Who and what it is (people, segments, pods, members, coverage) is data, in ``organisation.toml`` beside this
file; this module reads and checks it, and creates it through the organisation's services."""

from __future__ import annotations

import tomllib
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.org import services as org
from app.org.models import DEFAULT_STAGES, LifecycleStage, Role, Segment, User

DEFAULT_PASSWORD = "podium-demo"

# The people the README, the tests and the other demo steps name; organisation.toml must give them these e-mails.
ADMIN_EMAIL = "admin@example.com"
LEADER_EMAIL = "leader@example.com"
COACH_EMAIL = "coach@example.com"
AGENT_EMAIL = "agent@example.com"

COVERAGE_DAYS_AGO = 213
PODS_CREATED_DAYS_AGO = 540

# The segment and stage names other demo steps use to place their cases; organisation.toml must declare them.
RESIDENTIAL = "Residential"
SMALL_BUSINESS = "Small business"
ENTERPRISE = "Enterprise"
PRE_SALE, ONBOARDING, IN_LIFE, WARRANTY, CLOSURE = (name for name, _description in DEFAULT_STAGES)


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


def _read_plan(text: str) -> dict:
    """The demo organisation from organisation.toml, every cross-reference checked: a typo there fails at import
    with the name it could not find, not half-way through ``flask demo load``."""
    data = tomllib.loads(text)
    people = tuple(Person(**person) for person in data["people"])
    names = {person.name for person in people}
    segments = tuple((segment["name"], segment["description"]) for segment in data["segments"])
    stages = {name for name, _description in DEFAULT_STAGES}
    cells_known = {(segment, stage) for segment, _description in segments for stage in stages}
    pods = tuple(
        PodPlan(
            name=pod["name"], mission=pod["mission"], timezone=pod["timezone"],
            standup=time.fromisoformat(pod["standup"]), working_days=pod["working_days"],
            coaches=tuple(pod["coaches"]), cells=tuple(tuple(cell) for cell in pod["cells"]),
            members=tuple(Member(**member) for member in pod["members"]),
        )
        for pod in data["pods"]
    )
    org = data
    gap, overlap = tuple(org["gap_cell"]), tuple(org["overlap_cell"])
    for pod in pods:
        unknown = ({*pod.coaches, *(m.name for m in pod.members)} - names) or (set(pod.cells) - cells_known)
        if unknown:
            raise ValueError(f"organisation.toml: pod {pod.name!r} names {sorted(unknown)!r}, declared nowhere")
    if not {gap, overlap} <= cells_known:
        raise ValueError("organisation.toml: the gap and overlap cells must name a declared segment and stage")
    missing = {ADMIN_EMAIL, LEADER_EMAIL, COACH_EMAIL, AGENT_EMAIL} - {person.email for person in people}
    if missing or not {RESIDENTIAL, SMALL_BUSINESS, ENTERPRISE} <= {name for name, _description in segments}:
        raise ValueError(f"organisation.toml: the people and segments other demo steps name are missing {missing}")
    return {"name": org["name"], "timezone": org["timezone"], "segments": segments, "people": people,
            "pods": pods, "gap": gap, "overlap": overlap}


_PLAN = _read_plan((Path(__file__).parent / "organisation.toml").read_text(encoding="utf-8"))
ORG_NAME: str = _PLAN["name"]
ORG_TIMEZONE: str = _PLAN["timezone"]
SEGMENTS: tuple[tuple[str, str], ...] = _PLAN["segments"]
PEOPLE: tuple[Person, ...] = _PLAN["people"]
PODS: tuple[PodPlan, ...] = _PLAN["pods"]
GAP_CELL: tuple[str, str] = _PLAN["gap"]
OVERLAP_CELL: tuple[str, str] = _PLAN["overlap"]


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

