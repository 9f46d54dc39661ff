"""Attribution: helpdesk values mapped to segments, stages, request types and people, and the pod rule."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import cast
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select, update

from app.errors import ServiceError
from app.extensions import db
from app.org.models import Coverage, LifecycleStage, Membership, Pod, Segment, User
from app.org.services import get_organisation
from app.outcomes.models import REQUEST_TYPES, Case, MappingKind, ValueMapping
from app.timeutil import utcnow

KIND_COLUMNS = {
    MappingKind.POD.value: Case.raw_group,
    MappingKind.USER.value: Case.raw_assignee,
    MappingKind.SEGMENT.value: Case.raw_segment,
    MappingKind.STAGE.value: Case.raw_stage,
    MappingKind.REQUEST_TYPE.value: Case.raw_request_type,
}
KINDS = tuple(KIND_COLUMNS)
REATTRIBUTE_BATCH = 5000
CACHE_LIMIT = 20_000


class MappingError(ServiceError, ValueError):
    """A mapping that cannot be saved: ``code`` names the reason, the message says it to the person (a 400)."""

    status = 400
    MESSAGES = {
        "unknown_kind": _l("There is no such kind of mapping."),
        "bad_value": _l("Write the value as the helpdesk writes it (up to 254 characters)."),
        "unknown_target": _l("Choose what the value means in Podium from the list."),
    }

    def __init__(self, code: str) -> None:
        super().__init__(self.MESSAGES[code], code=code)


def normalize(value: str) -> str:
    """How source values are compared: case and repeated spaces do not matter."""
    return " ".join(value.split()).casefold()


# --- lookups: source value -> Podium id or code ---------------------------------------------------


@dataclass
class Lookups:
    """For each kind, normalized source value → target: explicit mappings first, then names that match."""

    targets: dict[str, dict[str, int | str]]

    @classmethod
    def load(cls) -> Lookups:
        targets: dict[str, dict[str, int | str]] = {kind: {} for kind in KINDS}
        for model, kind in ((Segment, MappingKind.SEGMENT), (LifecycleStage, MappingKind.STAGE),
                            (Pod, MappingKind.POD)):
            for target_id, name in db.session.execute(select(model.id, model.name).order_by(model.id)):
                targets[kind.value].setdefault(normalize(name), target_id)
        users = targets[MappingKind.USER.value]
        names: dict[str, set[int]] = defaultdict(set)
        for user_id, email, display_name in db.session.execute(select(User.id, User.email, User.display_name)):
            users[normalize(email)] = user_id
            names[normalize(display_name)].add(user_id)
        for name, ids in names.items():
            if len(ids) == 1:
                users.setdefault(name, next(iter(ids)))
        types = targets[MappingKind.REQUEST_TYPE.value]
        for code in REQUEST_TYPES:
            types[code] = code
            types[normalize(code.replace("_", " "))] = code
        valid = {kind: set(values.values()) for kind, values in targets.items()}
        valid[MappingKind.USER.value] = set(db.session.scalars(select(User.id)))
        valid[MappingKind.REQUEST_TYPE.value] = set(REQUEST_TYPES)
        for mapping in db.session.scalars(select(ValueMapping)):
            if mapping.kind not in targets:
                continue
            target = mapping.target_value if mapping.kind == MappingKind.REQUEST_TYPE.value else mapping.target_id
            if target is not None and target in valid[mapping.kind]:
                targets[mapping.kind][normalize(mapping.source_value)] = target
        return cls(targets)

    def resolve(self, kind: str, value: str | None) -> int | str | None:
        if not value:
            return None
        return self.targets[kind].get(normalize(value))


# --- the pod rule ---------------------------------------------------------------------------------


class CoverageIndex:
    """Every coverage period, by (segment, stage) cell, to ask which pods covered a cell at a moment."""

    def __init__(self, rows: Iterable[tuple[int, int, int, datetime, datetime | None]]) -> None:
        self.cells: dict[tuple[int, int], list[tuple[datetime, datetime | None, int]]] = defaultdict(list)
        for pod_id, segment_id, stage_id, valid_from, valid_to in rows:
            self.cells[(segment_id, stage_id)].append((valid_from, valid_to, pod_id))

    @classmethod
    def load(cls) -> CoverageIndex:
        return cls(db.session.execute(
            select(Coverage.pod_id, Coverage.segment_id, Coverage.stage_id, Coverage.valid_from, Coverage.valid_to)
        ))

    def pods_at(self, segment_id: int | None, stage_id: int | None, moment: datetime) -> list[int]:
        if segment_id is None or stage_id is None:
            return []
        periods = self.cells.get((segment_id, stage_id))
        if not periods:
            return []
        return sorted({pod_id for start, end, pod_id in periods
                       if start <= moment and (end is None or moment < end)})


class MembershipIndex:
    """Every membership, by person, to ask which pods someone belonged to on the day a case was created."""

    def __init__(self, rows: Iterable[tuple[int, int, date, date | None]], timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        self.people: dict[int, list[tuple[date, date | None, int]]] = defaultdict(list)
        for user_id, pod_id, start, end in rows:
            self.people[user_id].append((start, end, pod_id))

    @classmethod
    def load(cls, timezone: str) -> MembershipIndex:
        return cls(db.session.execute(
            select(Membership.user_id, Membership.pod_id, Membership.start_date, Membership.end_date)
        ), timezone)

    def local_day(self, moment: datetime) -> date:
        return moment.replace(tzinfo=UTC).astimezone(self.zone).date()

    def pods_of(self, user_id: int | None, moment: datetime) -> list[int]:
        if user_id is None:
            return []
        periods = self.people.get(user_id)
        if not periods:
            return []
        day = self.local_day(moment)
        return sorted({pod_id for start, end, pod_id in periods if start <= day and (end is None or day <= end)})


def attribute_pod(*, segment_id: int | None, stage_id: int | None, created_at: datetime, assignee_id: int | None,
                  group_pod_id: int | None, coverage: CoverageIndex, memberships: MembershipIndex) -> int | None:
    """The pod a case belongs to.

    The pod whose coverage held the case's (segment, stage) cell when the case was created; with
    several (an overlap), the one the assignee belonged to, else the one the group maps to, else the
    lowest pod id. With no coverage: the pod the assignee belonged to on that day, else the group's pod.
    """
    covering = coverage.pods_at(segment_id, stage_id, created_at)
    if len(covering) == 1:
        return covering[0]
    member_of = memberships.pods_of(assignee_id, created_at)
    if covering:
        preferred = [pod_id for pod_id in covering if pod_id in member_of]
        if preferred:
            return preferred[0]
        if group_pod_id in covering:
            return group_pod_id
        return covering[0]
    if member_of:
        if group_pod_id in member_of:
            return group_pod_id
        return member_of[0]
    return group_pod_id


Attribution = tuple[int | None, int | None, str | None, int | None, int | None]
ATTRIBUTED = ("segment_id", "stage_id", "request_type", "assignee_id", "pod_id")


class Attributor:
    """Applies lookups and the pod rule to many cases with everything loaded once."""

    def __init__(self, lookups: Lookups, coverage: CoverageIndex, memberships: MembershipIndex) -> None:
        self.lookups = lookups
        self.coverage = coverage
        self.memberships = memberships
        self.caches: dict[str, dict[str | None, int | str | None]] = {kind: {} for kind in KINDS}

    @classmethod
    def load(cls) -> Attributor:
        return cls(Lookups.load(), CoverageIndex.load(), MembershipIndex.load(get_organisation().timezone))

    def resolve(self, kind: str, value: str | None) -> int | str | None:
        cache = self.caches[kind]
        if value in cache:
            return cache[value]
        found = self.lookups.resolve(kind, value)
        if len(cache) < CACHE_LIMIT:
            cache[value] = found
        return found

    def resolve_id(self, kind: str, value: str | None) -> int | None:
        return cast(int | None, self.resolve(kind, value))

    def attribute(self, raw_segment: str | None, raw_stage: str | None, raw_request_type: str | None,
                  raw_group: str | None, raw_assignee: str | None, created_at: datetime) -> Attribution:
        """(segment_id, stage_id, request_type, assignee_id, pod_id) for one case's raw values."""
        segment_id = self.resolve_id("segment", raw_segment)
        stage_id = self.resolve_id("stage", raw_stage)
        assignee_id = self.resolve_id("user", raw_assignee)
        pod_id = attribute_pod(
            segment_id=segment_id, stage_id=stage_id, created_at=created_at, assignee_id=assignee_id,
            group_pod_id=self.resolve_id("pod", raw_group), coverage=self.coverage, memberships=self.memberships,
        )
        request_type = cast(str | None, self.resolve("request_type", raw_request_type))
        return segment_id, stage_id, request_type, assignee_id, pod_id


# --- services -------------------------------------------------------------------------------------


def reattribute_cases(actor: User | None, *, days: set | None = None,
                      after_batch: Callable[[int, int], None] | None = None) -> int:
    """Recompute every case's segment, stage, request type, assignee and pod from its raw values.

    Run after mappings or coverage change, so figures follow the new mapping without importing again.
    Reads cases in id order, a batch at a time, and writes only the cases that change; flushes.
    Returns the number of cases changed.

    The re-attribution job passes `days`, a set that collects the UTC days of the changed cases' created,
    resolved and closed times (it refreshes their rollups once, at its end, instead of at every commit), and
    `after_batch(examined, changed)`, called after each batch with the totals so far, which commits.
    """
    attributor = Attributor.load()
    columns = (Case.id, Case.raw_segment, Case.raw_stage, Case.raw_request_type, Case.raw_group,
               Case.raw_assignee, Case.created_at, Case.first_resolved_at, Case.closed_at, Case.segment_id,
               Case.stage_id, Case.request_type, Case.assignee_id, Case.pod_id)
    bulk = update(Case.__table__).where(Case.__table__.c.id == bindparam("case_id"))
    changed = 0
    examined = 0
    last_id = 0
    while True:
        rows = db.session.execute(
            select(*columns).where(Case.id > last_id).order_by(Case.id).limit(REATTRIBUTE_BATCH)
        ).all()
        if not rows:
            break
        last_id = rows[-1][0]
        examined += len(rows)
        updates = []
        for row in rows:
            new = attributor.attribute(row[1], row[2], row[3], row[4], row[5], row[6])
            if new != tuple(row[9:]):
                # row_hash None: the case no longer matches its imported row's digest (ingest compares columns)
                updates.append({"id": row[0], **dict(zip(ATTRIBUTED, new, strict=True)), "row_hash": None})
                if days is not None:
                    days.update(moment.date() for moment in row[6:9] if moment is not None)
        if updates:
            if days is None:  # the ORM bulk statement: the rollups follow at commit
                db.session.execute(update(Case), updates)
            else:  # around the ORM: the caller refreshes the rollups of `days`
                db.session.connection().execute(bulk, [{"case_id": u.pop("id"), **u} for u in updates])
            changed += len(updates)
        if after_batch is not None:
            after_batch(examined, changed)
    db.session.flush()
    return changed


def unmapped_values(kind: str, lookups: Lookups | None = None) -> list[tuple[str, int]]:
    """Source values of one kind that nothing maps to, with how many cases carry each, most first.

    Values differing only in case or spacing count as one (they map as one).
    """
    column = KIND_COLUMNS[kind]
    lookups = lookups or Lookups.load()
    counted: dict[str, list] = {}
    rows = db.session.execute(
        select(column, func.count()).where(column.is_not(None), column != "").group_by(column)
    )
    for value, count in rows:
        key = normalize(value)
        if not key or lookups.resolve(kind, value) is not None:
            continue
        entry = counted.setdefault(key, [value, 0])
        entry[1] += count
    return sorted(((value, count) for value, count in counted.values()), key=lambda item: (-item[1], item[0]))


def unmapped_by_kind() -> dict[str, list[tuple[str, int]]]:
    """Every kind's unmapped values (see unmapped_values), with the lookups loaded once."""
    lookups = Lookups.load()
    return {kind: unmapped_values(kind, lookups) for kind in KINDS}


def _valid_target(kind: str, target_id: int | None, target_value: str | None) -> bool:
    if kind == MappingKind.REQUEST_TYPE.value:
        return target_value in REQUEST_TYPES
    model = {MappingKind.POD.value: Pod, MappingKind.USER.value: User, MappingKind.SEGMENT.value: Segment,
             MappingKind.STAGE.value: LifecycleStage}[kind]
    return target_id is not None and db.session.get(model, target_id) is not None


def find_mapping(kind: str, source_value: str) -> ValueMapping | None:
    """The mapping of a value whatever its case or spacing (a kind has a handful to a few hundred)."""
    key = normalize(source_value)
    return next((mapping for mapping in db.session.scalars(select(ValueMapping).where(ValueMapping.kind == kind))
                 if normalize(mapping.source_value) == key), None)


def save_mapping(actor: User | None, kind: str, source_value: str, *, target_id: int | None = None,
                 target_value: str | None = None, now: datetime | None = None) -> ValueMapping:
    """Say what a helpdesk value means in Podium (a group is a pod, "Garantía" is warranty...).

    Creates or replaces the mapping for the value, whatever its case; cases follow on re-attribution.
    Flushes.
    """
    if kind not in KIND_COLUMNS:
        raise MappingError("unknown_kind")
    source_value = " ".join(source_value.split())
    if not source_value or len(source_value) > 254:
        raise MappingError("bad_value")
    if kind == MappingKind.REQUEST_TYPE.value:
        target_id = None
    else:
        target_value = None
    if not _valid_target(kind, target_id, target_value):
        raise MappingError("unknown_target")
    mapping = find_mapping(kind, source_value)
    if mapping is None:
        mapping = ValueMapping(kind=kind, source_value=source_value)
        db.session.add(mapping)
    mapping.target_id = target_id
    mapping.target_value = target_value
    mapping.updated_by_id = actor.id if actor is not None else None
    mapping.updated_at = now or utcnow()
    db.session.flush()
    return mapping


def delete_mapping(actor: User | None, mapping: ValueMapping) -> None:
    """Forget a mapping; the value is matched by name again (or listed as unmapped). Flushes."""
    db.session.delete(mapping)
    db.session.flush()


def mappings_by_kind() -> dict[str, list[ValueMapping]]:
    result: dict[str, list[ValueMapping]] = {kind: [] for kind in KINDS}
    for mapping in db.session.scalars(select(ValueMapping).order_by(func.lower(ValueMapping.source_value))):
        if mapping.kind in result:
            result[mapping.kind].append(mapping)
    return result
