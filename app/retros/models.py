"""Retrospective models: retros and their phases, cards, groups, votes, notes, action items and templates."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    or_,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Labelled, db, one_of
from app.formatting import name_in
from app.org.models import Pod, User
from app.org.principles import Principle
from app.outcomes import metrics
from app.timeutil import utcnow


class Phase(Labelled):
    CHECKIN = "checkin", _l("Check-in")
    REVIEW = "review", _l("Review past actions")
    REFLECT = "reflect", _l("Reflect")
    GROUP = "group", _l("Group")
    VOTE = "vote", _l("Vote")
    DISCUSS = "discuss", _l("Discuss")
    CLOSED = "closed", _l("Closed")


PHASES = tuple(p.value for p in Phase)


def next_phase(phase: str) -> str | None:
    index = PHASES.index(phase)
    return PHASES[index + 1] if index + 1 < len(PHASES) else None


class ActionStatus(Labelled):
    OPEN = "open", _l("Pending")
    DONE = "done", _l("Done")
    NOT_DONE = "not_done", _l("Not done")
    DROPPED = "dropped", _l("Dropped")


OPEN_STATUSES = (ActionStatus.OPEN.value, ActionStatus.NOT_DONE.value)

# An action's expected effect is stored as "up"/"down"; the metric registry says "higher"/"lower". This is the
# one mapping between the two.
REGISTRY_DIRECTION = {"up": "higher", "down": "lower"}
STORED_DIRECTION = {registry: stored for stored, registry in REGISTRY_DIRECTION.items()}


phase_label = Phase.label_of
status_label = ActionStatus.label_of


class Retro(db.Model):
    """One retrospective of a pod; `version` is bumped by every change so pages poll cheaply."""

    __tablename__ = "retros"
    __table_args__ = (
        one_of("phase", PHASES, "phase_valid"),
        CheckConstraint("votes_per_person BETWEEN 1 AND 50", name="budget_range"),
        CheckConstraint("max_votes_per_item BETWEEN 1 AND votes_per_person", name="cap_range"),
        CheckConstraint("grouping IN ('everyone', 'facilitator')", name="grouping_valid"),
        Index("uq_retros_one_open_per_pod", "pod_id", unique=True,
              sqlite_where=text("phase <> 'closed'"), postgresql_where=text("phase <> 'closed'")),
        Index("ix_retros_pod_created", "pod_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pod_id: Mapped[int] = mapped_column(ForeignKey("pods.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(120))
    template_key: Mapped[str] = mapped_column(String(40))
    template_name: Mapped[str] = mapped_column(String(80), default="")
    template_names: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # a pod template's names per language
    columns: Mapped[list] = mapped_column(JSON)
    facilitator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    votes_per_person: Mapped[int] = mapped_column(Integer, default=5)
    max_votes_per_item: Mapped[int] = mapped_column(Integer, default=3)
    hide_votes: Mapped[bool] = mapped_column(Boolean, default=True)
    grouping: Mapped[str] = mapped_column(String(12), default="everyone")
    phase: Mapped[str] = mapped_column(String(12), default=Phase.CHECKIN.value)
    phase_started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    phase_ends_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    authors_erased: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    pod: Mapped[Pod] = relationship()
    facilitator: Mapped[User | None] = relationship(foreign_keys=[facilitator_id])

    def __repr__(self) -> str:
        return f"<Retro {self.id} {self.phase}>"

    @property
    def is_closed(self) -> bool:
        return self.phase == Phase.CLOSED.value

    def column_keys(self) -> list[str]:
        return [c["key"] for c in self.columns]


class RetroTemplate(db.Model):
    """A pod's own retro template, saved by its coach: a name and its columns."""

    __tablename__ = "retro_templates"
    __table_args__ = (UniqueConstraint("pod_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pod_id: Mapped[int] = mapped_column(ForeignKey("pods.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    names: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # {"es": ..., "it": ...}; `name` is the fallback
    columns: Mapped[list] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def label(self) -> str:
        """The name in the reader's language, else the base name."""
        return name_in(self.names, self.name)


class RetroCheckin(db.Model):
    """A person's pulse (1–5) at check-in; only the aggregate is ever shown."""

    __tablename__ = "retro_checkins"
    __table_args__ = (
        UniqueConstraint("retro_id", "user_id"),
        CheckConstraint("pulse BETWEEN 1 AND 5", name="pulse_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    retro_id: Mapped[int] = mapped_column(ForeignKey("retros.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    pulse: Mapped[int] = mapped_column(Integer)


class RetroGroup(db.Model):
    __tablename__ = "retro_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    retro_id: Mapped[int] = mapped_column(ForeignKey("retros.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RetroCard(db.Model):
    """A card; in an anonymous retro `author_id` is erased (set NULL) when the retro leaves reflect."""

    __tablename__ = "retro_cards"
    __table_args__ = (Index("ix_retro_cards_retro", "retro_id", "column_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    retro_id: Mapped[int] = mapped_column(ForeignKey("retros.id", ondelete="CASCADE"))
    column_key: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("retro_groups.id", ondelete="SET NULL"), nullable=True,
                                                 index=True)
    case_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    metric_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    author: Mapped[User | None] = relationship()

    # Not a column (so not annotated): the others' cards per column, {column key: count}, as the statement that wrote
    # this card read them, when they are those of the version it made (services.add_card on PostgreSQL), for its
    # author's answer (board.card_view); None: whoever needs them reads them.
    others_by_column = None


class RetroVoteTally(db.Model):
    """Votes a person has used in a retro: the counter row the budget is enforced on."""

    __tablename__ = "retro_vote_tallies"
    __table_args__ = (CheckConstraint("used >= 0", name="used_nonnegative"),)

    retro_id: Mapped[int] = mapped_column(ForeignKey("retros.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    used: Mapped[int] = mapped_column(Integer, default=0)


class RetroVote(db.Model):
    """A person's dots on one card or group: the counter row the per-item cap is enforced on."""

    __tablename__ = "retro_votes"
    __table_args__ = (
        UniqueConstraint("user_id", "card_id"),
        UniqueConstraint("user_id", "group_id"),
        CheckConstraint("(card_id IS NULL) <> (group_id IS NULL)", name="one_target"),
        CheckConstraint("count >= 0", name="count_nonnegative"),
        Index("ix_retro_votes_retro", "retro_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    retro_id: Mapped[int] = mapped_column(ForeignKey("retros.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    card_id: Mapped[int | None] = mapped_column(ForeignKey("retro_cards.id", ondelete="CASCADE"), nullable=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("retro_groups.id", ondelete="CASCADE"), nullable=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class RetroNote(db.Model):
    """A discussion note on a topic (a group or an ungrouped card)."""

    __tablename__ = "retro_notes"
    __table_args__ = (
        CheckConstraint("(card_id IS NULL) <> (group_id IS NULL)", name="one_topic"),
        Index("ix_retro_notes_retro", "retro_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    retro_id: Mapped[int] = mapped_column(ForeignKey("retros.id", ondelete="CASCADE"))
    card_id: Mapped[int | None] = mapped_column(ForeignKey("retro_cards.id", ondelete="CASCADE"), nullable=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("retro_groups.id", ondelete="CASCADE"), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RetroAction(db.Model):
    """An action item agreed in a retro, optionally with the metric effect it is expected to have."""

    __tablename__ = "retro_actions"
    __table_args__ = (
        one_of("status", ActionStatus, "status_valid"),
        one_of("principle", Principle, "principle_valid"),
        CheckConstraint("scope_kind IS NULL OR scope_kind IN ('pod', 'segment', 'stage')", name="scope_valid"),
        CheckConstraint("direction IS NULL OR direction IN ('up', 'down')", name="direction_valid"),
        Index("ix_retro_actions_pod_status", "pod_id", "status"),
        Index("ix_retro_actions_due", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    retro_id: Mapped[int] = mapped_column(ForeignKey("retros.id", ondelete="CASCADE"), index=True)
    pod_id: Mapped[int] = mapped_column(ForeignKey("pods.id", ondelete="CASCADE"))
    card_id: Mapped[int | None] = mapped_column(ForeignKey("retro_cards.id", ondelete="SET NULL"), nullable=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("retro_groups.id", ondelete="SET NULL"), nullable=True)
    title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    due_date: Mapped[date] = mapped_column(Date)
    principle: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12), default=ActionStatus.OPEN.value)
    reviewed_in_id: Mapped[int | None] = mapped_column(ForeignKey("retros.id", ondelete="SET NULL"), nullable=True)
    metric_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    scope_kind: Mapped[str | None] = mapped_column(String(10), nullable=True)
    scope_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    direction: Mapped[str | None] = mapped_column(String(4), nullable=True)
    baseline_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    baseline_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    baseline_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    baseline_numerator: Mapped[float | None] = mapped_column(Float, nullable=True)
    baseline_denominator: Mapped[float | None] = mapped_column(Float, nullable=True)
    result_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    result_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    result_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    result_numerator: Mapped[float | None] = mapped_column(Float, nullable=True)
    result_denominator: Mapped[float | None] = mapped_column(Float, nullable=True)
    reminded_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    retro: Mapped[Retro] = relationship(foreign_keys=[retro_id])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, today: date) -> bool:
        return self.is_open and self.due_date < today

    @property
    def has_effect(self) -> bool:
        return self.metric_code is not None

    @property
    def arrow(self) -> str:
        return "↑" if self.direction == "up" else "↓"

    @hybrid_property
    def worked(self) -> bool | None:
        """Whether the measured change went the expected way; None until both figures exist.

        In SQL (``RetroAction.worked`` in a query) it is the condition "both figures exist and the change went the
        expected way", for other features that count or list actions that worked."""
        if self.baseline_value is None or self.result_value is None or self.direction not in REGISTRY_DIRECTION:
            return None
        improved = metrics.better(self.metric_code or "", self.result_value, self.baseline_value)
        if improved is None:  # no change (or a metric the registry no longer ranks): it did not work
            return self.result_value != self.baseline_value and (
                (self.result_value > self.baseline_value) == (self.direction == "up"))
        definition = metrics.METRICS[self.metric_code]
        # The pod may expect the metric to move against its usual "better" way; then worse is what was wanted.
        return improved if definition.direction == REGISTRY_DIRECTION[self.direction] else not improved

    @worked.inplace.expression
    @classmethod
    def _worked_expression(cls):
        return or_(and_(cls.direction == "up", cls.result_value > cls.baseline_value),
                   and_(cls.direction == "down", cls.result_value < cls.baseline_value))
