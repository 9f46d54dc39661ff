"""Every write to the organisation model: users, segments, stages, pods, memberships, coverage."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.org.models import (
    DEFAULT_STAGES,
    Coverage,
    LifecycleStage,
    Membership,
    Organisation,
    Pod,
    Role,
    Segment,
    User,
    pod_coaches,
)
from app.timeutil import utcnow


class OrgError(ValueError):
    """A rule of the organisation model was broken; the message is shown to the user."""


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
        user.session_version += 1
    db.session.flush()
    return user


def deactivate_user(actor: User, user: User) -> None:
    """Stop a person from signing in; their history stays, their sessions end."""
    if user.id == actor.id:
        raise OrgError("cannot_demote_self")
    if user.active:
        user.active = False
        user.session_version += 1
        db.session.flush()


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


def _save_ordered(model, obj, *, name, description, position, active):
    name = name.strip()
    clash = db.session.scalar(select(model.id).where(func.lower(model.name) == name.lower()))
    if clash is not None and (obj is None or clash != obj.id):
        raise OrgError("name_taken")
    if obj is None:
        obj = model()
        db.session.add(obj)
    obj.name = name
    obj.description = description.strip()
    obj.position = position
    obj.active = active
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
    clash = db.session.scalar(select(Pod.id).where(func.lower(Pod.name) == name.lower()))
    if clash is not None and (pod is None or clash != pod.id):
        raise OrgError("name_taken")
    days = "".join(str(d) for d in sorted({int(d) for d in working_days}))
    if not days or any(ch not in "1234567" for ch in days):
        raise OrgError("working_days")
    if pod is None:
        pod = Pod()
        db.session.add(pod)
    pod.name = name
    pod.mission = mission.strip()
    pod.timezone = timezone
    pod.standup_time = standup_time
    pod.working_days = days
    db.session.flush()
    return pod


def set_pod_coaches(actor: User, pod: Pod, coaches: list[User]) -> None:
    for coach in coaches:
        if not coach.has_role(Role.COACH):
            raise OrgError("coach_role")
    pod.coaches = list(coaches)
    db.session.flush()


def add_member(actor: User, pod: Pod, user: User, *, start: date, profile: str = "generalist",
               skills: str = "") -> Membership:
    """Start a membership; a person already in the pod keeps their open membership."""
    open_one = db.session.scalar(
        select(Membership).where(Membership.pod_id == pod.id, Membership.user_id == user.id,
                                 Membership.end_date.is_(None))
    )
    if open_one is not None:
        raise OrgError("already_member")
    membership = Membership(pod=pod, user=user, start_date=start, profile=profile, skills=skills.strip())
    db.session.add(membership)
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise OrgError("already_member") from exc
    return membership


def update_membership(actor: User, membership: Membership, *, profile: str, skills: str) -> None:
    membership.profile = profile
    membership.skills = skills.strip()
    db.session.flush()


def end_membership(actor: User, membership: Membership, *, end: date) -> None:
    """Close a membership; the history of who was in the pod and when is kept."""
    if membership.end_date is not None:
        raise OrgError("already_ended")
    if end < membership.start_date:
        raise OrgError("end_before_start")
    membership.end_date = end
    db.session.flush()


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


def assign_coverage(actor: User, pod: Pod, segment: Segment, stage: LifecycleStage,
                    now: datetime | None = None) -> bool:
    """Make the pod an owner of the cell from now on; True when it was not already."""
    now = now or utcnow()
    existing = db.session.scalar(
        select(Coverage).where(Coverage.pod_id == pod.id, Coverage.segment_id == segment.id,
                               Coverage.stage_id == stage.id, Coverage.valid_to.is_(None))
    )
    if existing is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(Coverage(pod_id=pod.id, segment_id=segment.id, stage_id=stage.id, valid_from=now,
                                    assigned_by_id=actor.id))
    except IntegrityError:
        return False
    return True


def unassign_coverage(actor: User, pod: Pod, segment: Segment, stage: LifecycleStage,
                      now: datetime | None = None) -> bool:
    """End the pod's ownership of the cell; the history keeps when it owned it."""
    now = now or utcnow()
    existing = db.session.scalar(
        select(Coverage).where(Coverage.pod_id == pod.id, Coverage.segment_id == segment.id,
                               Coverage.stage_id == stage.id, Coverage.valid_to.is_(None))
    )
    if existing is None:
        return False
    existing.valid_to = now
    db.session.flush()
    return True


# --- reading helpers used by pages ----------------------------------------------------------------


def current_members_by_pod(pod_ids: list[int], on: date) -> dict[int, list[Membership]]:
    """Current memberships of several pods with their users, in one query."""
    from sqlalchemy.orm import joinedload

    result: dict[int, list[Membership]] = defaultdict(list)
    if not pod_ids:
        return result
    rows = db.session.scalars(
        select(Membership)
        .options(joinedload(Membership.user))
        .join(User, User.id == Membership.user_id)
        .where(Membership.pod_id.in_(pod_ids), Membership.start_date <= on,
               (Membership.end_date.is_(None)) | (Membership.end_date >= on))
        .order_by(User.display_name)
    )
    for membership in rows:
        result[membership.pod_id].append(membership)
    return result


def coaches_by_pod(pod_ids: list[int]) -> dict[int, list[User]]:
    result: dict[int, list[User]] = defaultdict(list)
    if not pod_ids:
        return result
    rows = db.session.execute(
        select(pod_coaches.c.pod_id, User)
        .join(User, User.id == pod_coaches.c.user_id)
        .where(pod_coaches.c.pod_id.in_(pod_ids))
        .order_by(User.display_name)
    )
    for pod_id, user in rows:
        result[pod_id].append(user)
    return result


def coverage_by_pod(pod_ids: list[int]) -> dict[int, list[Coverage]]:
    from sqlalchemy.orm import joinedload

    result: dict[int, list[Coverage]] = defaultdict(list)
    if not pod_ids:
        return result
    rows = db.session.scalars(
        select(Coverage)
        .options(joinedload(Coverage.segment), joinedload(Coverage.stage))
        .join(Segment, Segment.id == Coverage.segment_id)
        .join(LifecycleStage, LifecycleStage.id == Coverage.stage_id)
        .where(Coverage.pod_id.in_(pod_ids), Coverage.valid_to.is_(None))
        .order_by(Segment.position, LifecycleStage.position)
    )
    for coverage in rows:
        result[coverage.pod_id].append(coverage)
    return result


def pods_of_user(user: User, on: date) -> list[Pod]:
    """Pods the user belongs to or coaches now."""
    member_ids = select(Membership.pod_id).where(
        Membership.user_id == user.id, Membership.start_date <= on,
        (Membership.end_date.is_(None)) | (Membership.end_date >= on))
    coach_ids = select(pod_coaches.c.pod_id).where(pod_coaches.c.user_id == user.id)
    return list(
        db.session.scalars(
            select(Pod).where(Pod.active, Pod.id.in_(member_ids.union(coach_ids))).order_by(Pod.name)
        )
    )
