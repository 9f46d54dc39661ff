"""Every write to the organisation model: users, segments, stages, pods, memberships, coverage."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.errors import ServiceError
from app.extension_points import user_deactivated
from app.extensions import db, inserted
from app.forms import LATEST_DATE
from app.org.models import (
    DEFAULT_STAGES,
    Coverage,
    LifecycleStage,
    Membership,
    MembershipAction,
    MembershipChange,
    Organisation,
    Pod,
    Role,
    Segment,
    User,
    pod_coaches,
)
from app.timeutil import utcnow


def _messages() -> dict[str, tuple[object, int]]:
    return {
        "email_taken": (_l("Another account already uses this email."), 409),
        "cannot_demote_self": (_l("You cannot deactivate yourself or remove your own admin role."), 422),
        "name_taken": (_l("This name is already used."), 409),
        "working_days": (_l("Choose at least one working day."), 422),
        "coach_role": (_l("Only people with the coach role or above can coach a pod."), 422),
        "already_member": (_l("This person is already a member of the pod."), 409),
        "already_ended": (_l("This membership has already ended."), 409),
        "end_before_start": (_l("A membership cannot end before it starts."), 422),
        "leader_for_role": (_l("Only a leader can add a leader or an admin to a pod."), 403),
        "leader_for_move": (_l("This person is a member of another pod; ask a leader to move them."), 403),
        "leader_for_past": (_l("Dates more than %(days)s days in the past need a leader.", days=GRACE_DAYS), 403),
        "inactive_user": (_l("This account is deactivated."), 422),
    }


class OrgError(ServiceError):
    """A rule of the organisation model was broken: ``code`` names it, the message and status follow from it."""

    def __init__(self, code: str, status: int | None = None) -> None:
        message, default_status = _messages().get(code, (_l("This change is not possible."), 422))
        super().__init__(message, status or default_status, code=code)


# A coach may date a membership change back this many days (a late entry for last week); further back, or
# moving someone out of another pod, or enrolling a leader or an admin, needs a leader.
GRACE_DAYS = 7


# --- organisation ---------------------------------------------------------------------------------


def get_organisation() -> Organisation:
    org = db.session.get(Organisation, 1)
    if org is None:
        org = Organisation(id=1, name="Podium", timezone="Europe/Madrid", fiscal_year_start_month=1)
        db.session.add(org)
        db.session.flush()
    return org


def ensure_default_stages() -> None:
    """Give a new database the five lifecycle stages of the operating model."""
    if db.session.scalar(select(func.count()).select_from(LifecycleStage)):
        return
    for position, (name, description) in enumerate(DEFAULT_STAGES, start=1):
        db.session.add(LifecycleStage(name=name, description=description, position=position))
    db.session.flush()


# --- users ----------------------------------------------------------------------------------------


def create_user(
    actor: User | None,
    *,
    email: str,
    display_name: str,
    role: str = Role.AGENT.value,
    locale: str | None = None,
    timezone: str = "Europe/Madrid",
    password: str | None = None,
) -> User:
    """Create an account; the email is unique whatever its case."""
    email = User.normalize_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise OrgError("email_taken")
    user = User(
        email=email,
        display_name=display_name.strip(),
        role=Role(role).value,
        locale=locale,
        timezone=timezone,
        active=True,
        session_version=1,
    )
    if password:
        user.set_password(password)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise OrgError("email_taken") from exc
    return user


def update_user(actor: User, user: User, *, email: str, display_name: str, role: str, locale: str | None,
                timezone: str, active: bool) -> User:
    """Edit an account; deactivating it ends its sessions at once."""
    email = User.normalize_email(email)
    clash = db.session.scalar(select(User.id).where(User.email == email, User.id != user.id))
    if clash is not None:
        raise OrgError("email_taken")
    if user.id == actor.id and (not active or Role(role) != Role.ADMIN):
        raise OrgError("cannot_demote_self")
    was_active = user.active
    user.email = email
    user.display_name = display_name.strip()
    user.role = Role(role).value
    user.locale = locale
    user.timezone = timezone
    user.active = active
    if was_active and not active:
        _deactivated(actor, user)
    db.session.flush()
    return user


def deactivate_user(actor: User, user: User) -> None:
    """Stop a person from signing in; their history stays, their sessions end."""
    if user.id == actor.id:
        raise OrgError("cannot_demote_self")
    if user.active:
        user.active = False
        _deactivated(actor, user)
        db.session.flush()


def _deactivated(actor: User | None, user: User) -> None:
    """End the person's sessions and whatever features granted them (API tokens): reactivation restores none."""
    user.session_version += 1
    user_deactivated(actor, user, utcnow())


def reactivate_user(actor: User, user: User) -> None:
    user.active = True
    db.session.flush()


# --- segments and stages --------------------------------------------------------------------------


def save_segment(actor: User, segment: Segment | None, *, name: str, description: str, position: int,
                 active: bool = True) -> Segment:
    return _save_ordered(Segment, segment, name=name, description=description, position=position, active=active)


def save_stage(actor: User, stage: LifecycleStage | None, *, name: str, description: str, position: int,
               active: bool = True) -> LifecycleStage:
    return _save_ordered(LifecycleStage, stage, name=name, description=description, position=position,
                         active=active)


def _refuse_name_clash(model, obj, name: str) -> None:
    """Names of segments, stages and pods are unique whatever their case."""
    clash = db.session.scalar(select(model.id).where(func.lower(model.name) == name.lower()))
    if clash is not None and (obj is None or clash != obj.id):
        raise OrgError("name_taken")


def _save_ordered(model, obj, *, name, description, position, active):
    name = name.strip()
    _refuse_name_clash(model, obj, name)
    return _store(model, obj, name=name, description=description.strip(), position=position, active=active)


def _store(model, obj, **values):
    """Create (``obj`` None) or update a row with ``values``; flushes."""
    if obj is None:
        obj = model()
        db.session.add(obj)
    for key, value in values.items():
        setattr(obj, key, value)
    db.session.flush()
    return obj


def move_ordered(actor: User, obj, direction: int) -> None:
    """Swap an item with its neighbour above (-1) or below (+1) in the display order."""
    model = type(obj)
    items = list(db.session.scalars(select(model).order_by(model.position, model.id)))
    for index, item in enumerate(items, start=1):
        item.position = index
    i = items.index(obj)
    j = i + direction
    if 0 <= j < len(items):
        items[i].position, items[j].position = items[j].position, items[i].position
    db.session.flush()


# --- pods -----------------------------------------------------------------------------------------


def save_pod(actor: User, pod: Pod | None, *, name: str, mission: str, timezone: str, standup_time: time,
             working_days: list[int] | str) -> Pod:
    name = name.strip()
    _refuse_name_clash(Pod, pod, name)
    days = "".join(str(d) for d in sorted({int(d) for d in working_days}))
    if not days or any(ch not in "1234567" for ch in days):
        raise OrgError("working_days")
    return _store(Pod, pod, name=name, mission=mission.strip(), timezone=timezone, standup_time=standup_time,
                  working_days=days)


def set_pod_coaches(actor: User, pod: Pod, coaches: list[User]) -> None:
    for coach in coaches:
        if not coach.has_role(Role.COACH):
            raise OrgError("coach_role")
    pod.coaches = list(coaches)
    db.session.flush()


def _restricted(actor: User | None) -> bool:
    """A coach (not a leader) acting in the app; None is the system (CLI, demo, imports)."""
    return actor is not None and not actor.has_role(Role.LEADER)


def _earliest_for(actor: User | None, today: date) -> date | None:
    return today - timedelta(days=GRACE_DAYS) if _restricted(actor) else None


def member_elsewhere(user: User, pod: Pod, today: date) -> bool:
    """Is ``user`` a member of another pod today or from a later day on?"""
    return db.session.scalar(
        select(Membership.id).where(Membership.user_id == user.id, Membership.pod_id != pod.id,
                                    Membership.overlapping(today, LATEST_DATE)).limit(1)
    ) is not None


def _audit(actor: User | None, membership: Membership, action: MembershipAction) -> None:
    db.session.add(MembershipChange(
        pod_id=membership.pod_id, member_id=membership.user_id, membership_id=membership.id,
        actor_id=actor.id if actor is not None else None, action=action.value,
        start_date=membership.start_date, end_date=membership.end_date, at=utcnow(),
    ))
    db.session.flush()


def add_member(actor: User | None, pod: Pod, user: User, *, start: date, profile: str = "generalist",
               skills: str = "", today: date | None = None) -> Membership:
    """Start a membership; a person already in the pod keeps their open membership. A coach adds only people
    who are in no other pod, are not leaders or admins, from at most GRACE_DAYS ago."""
    today = today or utcnow().date()
    if actor is not None and not user.active:
        raise OrgError("inactive_user")
    if _restricted(actor):
        if user.has_role(Role.LEADER):
            raise OrgError("leader_for_role")
        if start < _earliest_for(actor, today):
            raise OrgError("leader_for_past")
        if member_elsewhere(user, pod, today):
            raise OrgError("leader_for_move")
    open_one = db.session.scalar(
        select(Membership).where(Membership.pod_id == pod.id, Membership.user_id == user.id,
                                 Membership.open())
    )
    if open_one is not None:
        raise OrgError("already_member")
    membership = Membership(pod=pod, user=user, start_date=start, profile=profile, skills=skills.strip())
    db.session.add(membership)
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise OrgError("already_member") from exc
    _audit(actor, membership, MembershipAction.ADDED)
    return membership


def update_membership(actor: User | None, membership: Membership, *, profile: str, skills: str) -> None:
    membership.profile = profile
    membership.skills = skills.strip()
    db.session.flush()
    _audit(actor, membership, MembershipAction.EDITED)


def end_membership(actor: User | None, membership: Membership, *, end: date, today: date | None = None) -> None:
    """Close a membership; the history of who was in the pod and when is kept. A coach dates it at most
    GRACE_DAYS back."""
    today = today or utcnow().date()
    if membership.end_date is not None:
        raise OrgError("already_ended")
    if end < membership.start_date:
        raise OrgError("end_before_start")
    earliest = _earliest_for(actor, today)
    if earliest is not None and end < earliest:
        raise OrgError("leader_for_past")
    membership.end_date = end
    db.session.flush()
    _audit(actor, membership, MembershipAction.ENDED)


def membership_changes(pod: Pod, limit: int = 100) -> list[MembershipChange]:
    """The latest membership changes of a pod with who made them, newest first, in one query."""
    return list(db.session.scalars(
        select(MembershipChange).where(MembershipChange.pod_id == pod.id)
        .options(joinedload(MembershipChange.member), joinedload(MembershipChange.actor))
        .order_by(MembershipChange.at.desc(), MembershipChange.id.desc()).limit(limit)
    ))


def enrollable_people(actor: User, pod: Pod, today: date) -> list[User]:
    """Active people ``actor`` may add to ``pod`` now (everyone for leaders), not already in it."""
    in_pod = select(Membership.user_id).where(Membership.pod_id == pod.id, Membership.open())
    stmt = select(User).where(User.active, User.id.not_in(in_pod)).order_by(User.display_name)
    if _restricted(actor):
        elsewhere = select(Membership.user_id).where(Membership.pod_id != pod.id,
                                                     Membership.overlapping(today, LATEST_DATE))
        stmt = stmt.where(User.role.in_([Role.AGENT.value, Role.COACH.value]), User.id.not_in(elsewhere))
    return list(db.session.scalars(stmt))


# --- coverage -------------------------------------------------------------------------------------


@dataclass
class CoverageCell:
    segment: Segment
    stage: LifecycleStage
    pods: list[Pod] = field(default_factory=list)

    @property
    def is_gap(self) -> bool:
        return not self.pods

    @property
    def is_overlap(self) -> bool:
        return len(self.pods) > 1


@dataclass
class CoverageMatrix:
    segments: list[Segment]
    stages: list[LifecycleStage]
    cells: dict[tuple[int, int], CoverageCell]

    def cell(self, segment_id: int, stage_id: int) -> CoverageCell:
        return self.cells[(segment_id, stage_id)]

    @property
    def gaps(self) -> list[CoverageCell]:
        return [c for c in self.cells.values() if c.is_gap]

    @property
    def overlaps(self) -> list[CoverageCell]:
        return [c for c in self.cells.values() if c.is_overlap]


def active_segments() -> list[Segment]:
    return list(db.session.scalars(select(Segment).where(Segment.active).order_by(Segment.position, Segment.name)))


def active_stages() -> list[LifecycleStage]:
    return list(
        db.session.scalars(
            select(LifecycleStage).where(LifecycleStage.active).order_by(LifecycleStage.position, LifecycleStage.id)
        )
    )


def coverage_matrix() -> CoverageMatrix:
    """Segments × stages with the pods that own each cell now, in three queries whatever the size."""
    segments = active_segments()
    stages = active_stages()
    cells = {(s.id, t.id): CoverageCell(s, t) for s in segments for t in stages}
    rows = db.session.execute(
        select(Coverage.segment_id, Coverage.stage_id, Pod)
        .join(Pod, Pod.id == Coverage.pod_id)
        .where(Coverage.valid_to.is_(None), Pod.active)
        .order_by(Pod.name)
    )
    for segment_id, stage_id, pod in rows:
        if (segment_id, stage_id) in cells:
            cells[(segment_id, stage_id)].pods.append(pod)
    return CoverageMatrix(segments, stages, cells)


def coverage_cell(segment: Segment, stage: LifecycleStage) -> CoverageCell:
    pods = list(
        db.session.scalars(
            select(Pod)
            .join(Coverage, Coverage.pod_id == Pod.id)
            .where(Coverage.segment_id == segment.id, Coverage.stage_id == stage.id, Coverage.valid_to.is_(None),
                   Pod.active)
            .order_by(Pod.name)
        )
    )
    return CoverageCell(segment, stage, pods)


def _open_coverage(pod: Pod, segment: Segment, stage: LifecycleStage) -> Coverage | None:
    return db.session.scalar(
        select(Coverage).where(Coverage.pod_id == pod.id, Coverage.segment_id == segment.id,
                               Coverage.stage_id == stage.id, Coverage.valid_to.is_(None))
    )


def assign_coverage(actor: User, pod: Pod, segment: Segment, stage: LifecycleStage,
                    now: datetime | None = None) -> bool:
    """Make the pod an owner of the cell from now on; True when it was not already."""
    now = now or utcnow()
    existing = _open_coverage(pod, segment, stage)
    if existing is not None:
        return False
    return inserted(Coverage(pod_id=pod.id, segment_id=segment.id, stage_id=stage.id, valid_from=now,
                             assigned_by_id=actor.id))


def unassign_coverage(actor: User, pod: Pod, segment: Segment, stage: LifecycleStage,
                      now: datetime | None = None) -> bool:
    """End the pod's ownership of the cell; the history keeps when it owned it."""
    now = now or utcnow()
    existing = _open_coverage(pod, segment, stage)
    if existing is None:
        return False
    existing.valid_to = now
    db.session.flush()
    return True


# --- reading helpers used by pages ----------------------------------------------------------------


def _by_pod(pairs) -> dict[int, list]:
    """(pod id, item) pairs grouped by pod id, order kept; an absent pod gives an empty list."""
    result: dict[int, list] = defaultdict(list)
    for pod_id, item in pairs:
        result[pod_id].append(item)
    return result


def current_members_by_pod(pod_ids: list[int], on: date) -> dict[int, list[Membership]]:
    """Current memberships of several pods with their users, in one query."""
    if not pod_ids:
        return _by_pod(())
    rows = db.session.scalars(
        select(Membership).options(joinedload(Membership.user)).join(User, User.id == Membership.user_id)
        .where(Membership.pod_id.in_(pod_ids), Membership.current(on)).order_by(User.display_name)
    )
    return _by_pod((membership.pod_id, membership) for membership in rows)


def coaches_by_pod(pod_ids: list[int]) -> dict[int, list[User]]:
    if not pod_ids:
        return _by_pod(())
    return _by_pod(db.session.execute(
        select(pod_coaches.c.pod_id, User).join(User, User.id == pod_coaches.c.user_id)
        .where(pod_coaches.c.pod_id.in_(pod_ids)).order_by(User.display_name)
    ))


def coverage_by_pod(pod_ids: list[int]) -> dict[int, list[Coverage]]:
    if not pod_ids:
        return _by_pod(())
    rows = db.session.scalars(
        select(Coverage).options(joinedload(Coverage.segment), joinedload(Coverage.stage))
        .join(Segment, Segment.id == Coverage.segment_id)
        .join(LifecycleStage, LifecycleStage.id == Coverage.stage_id)
        .where(Coverage.pod_id.in_(pod_ids), Coverage.valid_to.is_(None))
        .order_by(Segment.position, LifecycleStage.position)
    )
    return _by_pod((coverage.pod_id, coverage) for coverage in rows)


def pods_of_user(user: User, on: date) -> list[Pod]:
    """Pods the user belongs to or coaches now."""
    member_ids = select(Membership.pod_id).where(
        Membership.user_id == user.id, Membership.current(on))
    coach_ids = select(pod_coaches.c.pod_id).where(pod_coaches.c.user_id == user.id)
    return list(
        db.session.scalars(
            select(Pod).where(Pod.active, Pod.id.in_(member_ids.union(coach_ids))).order_by(Pod.name)
        )
    )


def change_password(actor: User, user: User, new_password: str) -> None:
    """Set a new password and end every other session of the user (their login ids stop matching)."""
    user.set_password(new_password)
    user.session_version += 1
    db.session.flush()
