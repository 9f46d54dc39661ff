"""Every rule of the skills matrix, and the figures beside it.

Writes take the acting user and ``now``, flush and never commit. A level changes only by a conditional UPDATE on
its row's version (or an INSERT guarded by the unique (pod, user, skill)), and the history row is written in the
same transaction with the level it really replaced: concurrent changes serialise, and history always chains
(each change's "from" is the previous change's "to").

Figures come from the one metric engine (``app.outcomes.metrics.compute_by``) grouped by request type, by channel
and by (agent, request type): a fixed number of aggregate queries however many cases, skills or members.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.errors import ServiceError
from app.extensions import begin_write, db, inserted
from app.forms import parse_int
from app.org.models import Membership, Pod, User
from app.outcomes.labels import CHANNEL_LABELS, REQUEST_TYPE_LABELS
from app.outcomes.metrics import Figure, Scope, compute_by
from app.outcomes.models import CHANNELS, REQUEST_TYPES
from app.skills.models import COVERING, LEVELS, Level, PodSkill, ProposalStatus, SkillChange, SkillLevel, SkillProposal
from app.timeutil import local_day_bounds, to_local, utcnow

DEMAND_DAYS = 90
SKILL_CODES = ("volume", "resolved", "fcr", "handoff_rate")
# A member's FCR for a request type counts towards "mentor" only with at least this many resolved cases.
MENTOR_MIN_RESOLVED = 10
MAX_SKILL_NAME = 80
HISTORY_SHOWN = 15
STANDUP_GAPS_SHOWN = 8
KINDS = {"rt": REQUEST_TYPES, "ch": CHANNELS}


class SkillError(ServiceError):
    """A refused change to a skills matrix."""


# --- skill keys ------------------------------------------------------------------------------------------------

def fold(name: str) -> str:
    """A skill name compared without case, accents or repeated spaces."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode() or name
    return " ".join(plain.lower().split())[:MAX_SKILL_NAME]


def kind_of(key: str) -> str:
    return key.partition(":")[0]


def key_label(key: str, custom: dict[int, str]) -> str:
    kind, _sep, code = key.partition(":")
    if kind == "rt":
        return str(REQUEST_TYPE_LABELS.get(code, code))
    if kind == "ch":
        return str(CHANNEL_LABELS.get(code, code))
    return custom.get(int(code), key) if code.isdigit() else key


KIND_LABELS = {"rt": _l("Request type"), "ch": _l("Channel"), "c": _l("Added by the coach")}


def valid_key(pod: Pod, key: str, *, active_only: bool = True) -> str:
    """The key if it names a skill of this pod, else a 422."""
    kind, _sep, code = (key or "").partition(":")
    if kind in KINDS and code in KINDS[kind]:
        return key
    skill_id = parse_int(code, minimum=1) if kind == "c" and code.isascii() and code.isdigit() else None
    if skill_id is not None:  # bounded to what both databases store: a huge id is a 422, never a 500
        stmt = select(PodSkill.id).where(PodSkill.id == skill_id, PodSkill.pod_id == pod.id)
        if active_only:
            stmt = stmt.where(PodSkill.retired_at.is_(None))
        if db.session.scalar(stmt) is not None:
            return key
    raise SkillError(_l("Choose a skill of this pod."), 422)


def valid_level(level: str) -> str:
    if level not in LEVELS:
        raise SkillError(_l("Choose a level: none, learning, independent or can teach."), 422)
    return level


def _require_member(pod: Pod, user_id: int, today: date) -> None:
    found = db.session.scalar(select(Membership.id).where(Membership.pod_id == pod.id, Membership.user_id == user_id,
                                                          Membership.current(today)).limit(1))
    if found is None:
        raise SkillError(_l("Only a current member of the pod has levels in its skills."), 422)


def local_today(pod: Pod, now: datetime) -> date:
    return to_local(now, pod.timezone).date()


# --- the write guard -------------------------------------------------------------------------------------------


def _write_level(actor: User | None, pod_id: int, user_id: int, key: str, level: str, now: datetime,
                 proposal_id: int | None = None) -> SkillChange | None:
    """Change one level and record the change; None when the level already was ``level``."""
    begin_write()
    for _attempt in range(5):
        row = db.session.execute(
            select(SkillLevel.id, SkillLevel.level, SkillLevel.version)
            .where(SkillLevel.pod_id == pod_id, SkillLevel.user_id == user_id, SkillLevel.skill_key == key)
        ).first()
        if row is None:
            if level == Level.NONE.value:
                return None
            try:
                with db.session.begin_nested():
                    db.session.execute(insert(SkillLevel).values(
                        pod_id=pod_id, user_id=user_id, skill_key=key, level=level, version=1,
                        set_by_id=actor.id if actor else None, set_at=now))
            except IntegrityError:
                continue  # someone set it first: read theirs and change it from there
            before = Level.NONE.value
        else:
            if row.level == level:
                return None
            result = db.session.execute(
                update(SkillLevel).where(SkillLevel.id == row.id, SkillLevel.version == row.version)
                .values(level=level, version=row.version + 1, set_by_id=actor.id if actor else None, set_at=now)
                .execution_options(synchronize_session=False))
            if result.rowcount != 1:
                continue  # changed meanwhile: the next read sees the level this change now replaces
            before = row.level
        change = SkillChange(pod_id=pod_id, user_id=user_id, skill_key=key, from_level=before, to_level=level,
                             actor_id=actor.id if actor else None, proposal_id=proposal_id, at=now)
        db.session.add(change)
        db.session.flush()
        return change
    raise SkillError(_l("Someone changed this level at the same moment. Reload and try again."), 409)


# --- writes ----------------------------------------------------------------------------------------------------

def set_level(actor: User, pod: Pod, user_id: int, key: str, level: str, now: datetime | None = None
              ) -> SkillChange | None:
    """The coach sets a current member's level of one of the pod's skills (the route checked ``skills.set``)."""
    now = now or utcnow()
    key = valid_key(pod, key)
    level = valid_level(level)
    _require_member(pod, user_id, local_today(pod, now))
    return _write_level(actor, pod.id, user_id, key, level, now)


def propose_level(actor: User, pod: Pod, key: str, level: str, now: datetime | None = None) -> SkillProposal:
    """A member proposes their own level; a pending proposal of the same skill is replaced (withdrawn)."""
    now = now or utcnow()
    key = valid_key(pod, key)
    level = valid_level(level)
    _require_member(pod, actor.id, local_today(pod, now))
    current = db.session.scalar(select(SkillLevel.level).where(
        SkillLevel.pod_id == pod.id, SkillLevel.user_id == actor.id, SkillLevel.skill_key == key)) or "none"
    if current == level:
        raise SkillError(_l("That is already your level; propose a different one."), 422)
    begin_write()
    for _attempt in range(5):
        db.session.execute(
            update(SkillProposal).where(SkillProposal.pod_id == pod.id, SkillProposal.user_id == actor.id,
                                        SkillProposal.skill_key == key,
                                        SkillProposal.status == ProposalStatus.PENDING.value)
            .values(status=ProposalStatus.WITHDRAWN.value, decided_by_id=actor.id, decided_at=now)
            .execution_options(synchronize_session=False))
        proposal = SkillProposal(pod_id=pod.id, user_id=actor.id, skill_key=key, level=level, proposed_at=now)
        if inserted(proposal):
            return proposal
        # Not inserted: a proposal sent at the same moment won the pending slot; withdraw it and try again.
    raise SkillError(_l("Someone changed this level at the same moment. Reload and try again."), 409)


def decide_proposal(actor: User, pod: Pod, proposal_id: int, confirm: bool, now: datetime | None = None
                    ) -> SkillProposal:
    """The coach confirms (the level changes, recorded with the proposal) or declines a pending proposal."""
    now = now or utcnow()
    proposal = db.session.scalar(select(SkillProposal).where(SkillProposal.id == proposal_id,
                                                             SkillProposal.pod_id == pod.id))
    if proposal is None:
        raise SkillError(_l("This proposal does not exist in this pod."), 404)
    begin_write()
    status = ProposalStatus.CONFIRMED.value if confirm else ProposalStatus.DECLINED.value
    result = db.session.execute(
        update(SkillProposal).where(SkillProposal.id == proposal.id,
                                    SkillProposal.status == ProposalStatus.PENDING.value)
        .values(status=status, decided_by_id=actor.id, decided_at=now).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.refresh(proposal)
        raise SkillError(_l("This proposal was already decided or withdrawn; the page now shows the current state."),
                         409, stale=True)
    if confirm:
        if proposal.skill_key.startswith("c:"):
            valid_key(pod, proposal.skill_key)  # a skill retired since cannot be confirmed
        _require_member(pod, proposal.user_id, local_today(pod, now))
        _write_level(actor, pod.id, proposal.user_id, proposal.skill_key, proposal.level, now, proposal.id)
    db.session.refresh(proposal)
    return proposal


def add_skill(actor: User, pod: Pod, name: str, now: datetime | None = None) -> PodSkill:
    now = now or utcnow()
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_SKILL_NAME:
        raise SkillError(_l("Name the skill in 1 to %(n)s characters.", n=MAX_SKILL_NAME), 422)
    key = fold(name)
    clash = {fold(str(label)) for label in (*REQUEST_TYPE_LABELS.values(), *CHANNEL_LABELS.values())}
    if key in clash or key in {fold(code.replace("_", " ")) for code in (*REQUEST_TYPES, *CHANNELS)}:
        raise SkillError(_l("“%(name)s” is already a skill of every pod (a request type or channel).", name=name),
                         422)
    skill = PodSkill(pod_id=pod.id, name=name, name_key=key, created_by_id=actor.id if actor else None,
                     created_at=now)
    if not inserted(skill):
        raise SkillError(_l("This pod already has the skill “%(name)s”.", name=name), 409)
    return skill


def retire_skill(actor: User, pod: Pod, skill_id: int, now: datetime | None = None) -> PodSkill:
    """Take a coach-added skill off the matrix; its levels and history stay for the record."""
    now = now or utcnow()
    skill = db.session.scalar(select(PodSkill).where(PodSkill.id == skill_id, PodSkill.pod_id == pod.id))
    if skill is None:
        raise SkillError(_l("This skill does not exist in this pod."), 404)
    result = db.session.execute(update(PodSkill).where(PodSkill.id == skill.id, PodSkill.retired_at.is_(None))
                                .values(retired_at=now).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise SkillError(_l("This skill was already removed."), 409, stale=True)
    db.session.execute(
        update(SkillProposal).where(SkillProposal.pod_id == pod.id, SkillProposal.skill_key == skill.key,
                                    SkillProposal.status == ProposalStatus.PENDING.value)
        .values(status=ProposalStatus.WITHDRAWN.value, decided_by_id=actor.id if actor else None, decided_at=now)
        .execution_options(synchronize_session=False))
    db.session.refresh(skill)
    return skill


# --- reading the matrix ------------------------------------------------------------------------------------------

@dataclass
class SkillRow:
    key: str
    label: str
    kind: str
    levels: dict[int, str] = field(default_factory=dict)
    demand: Figure | None = None
    resolved: Figure | None = None
    fcr: Figure | None = None
    handoff_rate: Figure | None = None
    proposals: dict[int, SkillProposal] = field(default_factory=dict)
    mentor_ids: list[int] = field(default_factory=list)
    best_fcr_id: int | None = None

    @property
    def covering_ids(self) -> list[int]:
        return [uid for uid, level in self.levels.items() if level in COVERING]

    @property
    def teacher_ids(self) -> list[int]:
        return [uid for uid, level in self.levels.items() if level == Level.TEACH.value]

    @property
    def single_point(self) -> bool:
        """Fewer than two members resolve it on their own."""
        return len(self.covering_ids) < 2

    @property
    def volume(self) -> int:
        return int(self.demand.value or 0) if self.demand else 0

    @property
    def handed_off(self) -> int:
        return int(self.handoff_rate.numerator or 0) if self.handoff_rate else 0

    @property
    def custom_id(self) -> int | None:
        return int(self.key[2:]) if self.kind == "c" else None


@dataclass
class Matrix:
    pod: Pod
    today: date
    start: date
    members: list[User]
    skills: list[SkillRow]
    pending: list[SkillProposal]
    history: list[SkillChange]
    custom_names: dict[int, str]

    @property
    def single_points(self) -> list[SkillRow]:
        return [row for row in self.skills if row.single_point]

    @property
    def training_needs(self) -> list[SkillRow]:
        """Demand handed off with nobody independent in the pod, most handed off first."""
        rows = [row for row in self.skills if row.kind != "c" and not row.covering_ids and row.handed_off > 0]
        return sorted(rows, key=lambda row: (-row.handed_off, -row.volume, row.label))

    @property
    def mentors(self) -> list[SkillRow]:
        return [row for row in self.skills if row.mentor_ids]

    def member(self, user_id: int) -> User | None:
        return next((m for m in self.members if m.id == user_id), None)

    def label(self, key: str) -> str:
        return key_label(key, self.custom_names)


def _custom_skills(pod_id: int) -> list[PodSkill]:
    return list(db.session.scalars(select(PodSkill).where(PodSkill.pod_id == pod_id).order_by(PodSkill.name)))


def matrix(pod: Pod, now: datetime | None = None) -> Matrix:
    """The pod's skills, its members' levels, demand and in-pod resolution over the last 90 days, gaps, mentors,
    pending proposals and recent changes: a fixed number of queries whatever the number of cases, people or skills."""
    now = now or utcnow()
    today = local_today(pod, now)
    start = today - timedelta(days=DEMAND_DAYS - 1)
    members = list(db.session.scalars(pod.members_on(today)))
    member_ids = {m.id for m in members}
    scope = Scope(pod_id=pod.id)
    by_type = compute_by("request_type", start, today, scope, SKILL_CODES, tz=pod.timezone)
    by_channel = compute_by("channel", start, today, scope, SKILL_CODES, tz=pod.timezone)
    by_agent_type = compute_by("agent_request_type", start, today, scope, ("fcr",), tz=pod.timezone)
    customs = _custom_skills(pod.id)
    custom_names = {skill.id: skill.name for skill in customs}
    levels: dict[str, dict[int, str]] = defaultdict(dict)
    if member_ids:
        for user_id, key, level in db.session.execute(
                select(SkillLevel.user_id, SkillLevel.skill_key, SkillLevel.level)
                .where(SkillLevel.pod_id == pod.id, SkillLevel.user_id.in_(member_ids),
                       SkillLevel.level != Level.NONE.value)):
            levels[key][user_id] = level
    pending = [p for p in db.session.scalars(
        select(SkillProposal).where(SkillProposal.pod_id == pod.id,
                                    SkillProposal.status == ProposalStatus.PENDING.value)
        .options(joinedload(SkillProposal.user)).order_by(SkillProposal.proposed_at, SkillProposal.id))
        if p.user_id in member_ids]
    proposed: dict[str, dict[int, SkillProposal]] = defaultdict(dict)
    for proposal in pending:
        proposed[proposal.skill_key][proposal.user_id] = proposal

    rows: list[SkillRow] = []
    for kind, grouped in (("rt", by_type), ("ch", by_channel)):
        kind_rows = []
        for code in KINDS[kind]:
            key = f"{kind}:{code}"
            figures = grouped.get(code)
            if figures is None and key not in levels and key not in proposed:
                continue
            row = SkillRow(key, key_label(key, custom_names), kind, levels.get(key, {}))
            if figures is not None:
                row.demand, row.resolved = figures["volume"], figures["resolved"]
                row.fcr, row.handoff_rate = figures["fcr"], figures["handoff_rate"]
            kind_rows.append(row)
        rows.extend(sorted(kind_rows, key=lambda r: (-r.volume, r.label)))
    for skill in customs:
        if skill.retired_at is None:
            rows.append(SkillRow(skill.key, skill.name, "c", levels.get(skill.key, {})))

    best: dict[str, tuple[float, int, int]] = {}
    for (agent_id, code), figures in by_agent_type.items():
        fcr = figures["fcr"]
        if agent_id not in member_ids or fcr.value is None or (fcr.denominator or 0) < MENTOR_MIN_RESOLVED:
            continue
        candidate = (fcr.value, int(fcr.denominator or 0), -agent_id)
        if code not in best or candidate > best[code]:
            best[code] = candidate
    for row in rows:
        row.proposals = proposed.get(row.key, {})
        mentors = list(row.teacher_ids)
        if row.kind == "rt" and row.key[3:] in best:
            row.best_fcr_id = -best[row.key[3:]][2]
            if row.best_fcr_id not in mentors:
                mentors.append(row.best_fcr_id)
        row.mentor_ids = mentors

    history = list(db.session.scalars(
        select(SkillChange).where(SkillChange.pod_id == pod.id)
        .options(joinedload(SkillChange.user), joinedload(SkillChange.actor))
        .order_by(SkillChange.at.desc(), SkillChange.id.desc()).limit(HISTORY_SHOWN)))
    return Matrix(pod, today, start, members, rows, pending, history, custom_names)


# --- the stand-up and the quarter -------------------------------------------------------------------------------

@dataclass
class StandupGaps:
    present: int
    gaps: list[tuple[str, int]]  # (skill label, cases in the last 90 days), most asked first
    more: int


def standup_gaps(pod: Pod, day: date, present_ids: set[int]) -> StandupGaps:
    """The pod's skills that none of the people present (independent or can teach) covers; by demand."""
    start = day - timedelta(days=DEMAND_DAYS - 1)
    scope = Scope(pod_id=pod.id)
    demand: dict[str, int] = {}
    for kind, dimension in (("rt", "request_type"), ("ch", "channel")):
        for code, figures in compute_by(dimension, start, day, scope, ("volume",), tz=pod.timezone).items():
            if code in KINDS[kind] and figures["volume"].value:
                demand[f"{kind}:{code}"] = int(figures["volume"].value)
    customs = {s.id: s.name for s in _custom_skills(pod.id) if s.retired_at is None}
    for skill_id in customs:
        demand.setdefault(f"c:{skill_id}", 0)
    covered = set()
    if present_ids:
        covered = set(db.session.scalars(
            select(SkillLevel.skill_key).where(SkillLevel.pod_id == pod.id, SkillLevel.user_id.in_(present_ids),
                                               SkillLevel.level.in_(COVERING)).distinct()))
    gaps = sorted(((key_label(key, customs), volume) for key, volume in demand.items() if key not in covered),
                  key=lambda item: (-item[1], item[0]))
    return StandupGaps(len(present_ids), gaps[:STANDUP_GAPS_SHOWN], max(0, len(gaps) - STANDUP_GAPS_SHOWN))


def coverage_at(pod: Pod, day: date, *, end_of_day: bool = False) -> dict:
    """How well the pod's skills were covered at the start (or the end) of local day ``day``, from history: skills
    tracked, covered by two or more members, by one, by nobody; and the member-skill pairs at independent or above.
    Members are those of the pod on ``day``."""
    first, after = local_day_bounds(day, day, pod.timezone)
    moment = after if end_of_day else first
    latest = (select(func.max(SkillChange.id)).where(SkillChange.pod_id == pod.id, SkillChange.at < moment)
              .group_by(SkillChange.user_id, SkillChange.skill_key))
    members = set(db.session.scalars(select(Membership.user_id).where(Membership.pod_id == pod.id,
                                                                      Membership.current(day))))
    covering: dict[str, int] = defaultdict(int)
    tracked: set[str] = set()
    for user_id, key, level in db.session.execute(
            select(SkillChange.user_id, SkillChange.skill_key, SkillChange.to_level)
            .where(SkillChange.id.in_(latest))):
        if level == Level.NONE.value or user_id not in members:
            continue
        tracked.add(key)
        if level in COVERING:
            covering[key] += 1
    for skill_id, created, retired in db.session.execute(
            select(PodSkill.id, PodSkill.created_at, PodSkill.retired_at).where(PodSkill.pod_id == pod.id)):
        key = f"c:{skill_id}"
        if created < moment and (retired is None or retired >= moment):
            tracked.add(key)
        else:
            tracked.discard(key)
    return {
        "day": day.isoformat(),
        "skills": len(tracked),
        "covered": sum(1 for key in tracked if covering[key] >= 2),
        "single_point": sum(1 for key in tracked if covering[key] == 1),
        "uncovered": sum(1 for key in tracked if covering[key] == 0),
        "independent_pairs": sum(covering[key] for key in tracked),
    }


def quarter_coverage(pod: Pod, start: date, end: date, now: datetime | None = None) -> dict:
    """Coverage at the start of the quarter and at its end (or today, while it runs), and the changes between."""
    now = now or utcnow()
    last = min(end, local_today(pod, now))
    first_moment, last_moment = local_day_bounds(start, max(start, last), pod.timezone)
    changes, confirmed = db.session.execute(
        select(func.count(SkillChange.id), func.count(SkillChange.proposal_id))
        .where(SkillChange.pod_id == pod.id, SkillChange.at >= first_moment, SkillChange.at < last_moment)).one()
    return {"then": coverage_at(pod, start), "now": coverage_at(pod, max(start, last), end_of_day=True),
            "changes": int(changes or 0), "from_proposals": int(confirmed or 0)}


def level_choices() -> list[tuple[str, str]]:
    return [(level, str(label)) for level, label in Level.labels().items()]
