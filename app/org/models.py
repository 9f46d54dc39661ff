"""Organisation model: people, segments, lifecycle stages, pods, memberships and coverage."""

from __future__ import annotations

import enum
from datetime import date, datetime, time

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import and_, or_, select, text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import ColumnElement, Select
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import Labelled, db, one_of
from app.timeutil import utcnow


def unique_while_open(name: str, *columns: str, open_column: str) -> sa.Index:
    """A unique index over the rows still open (``open_column IS NULL``), the same on SQLite and PostgreSQL:
    history rows may repeat, one open row at a time (two people acting at once cannot open a second)."""
    still_open = text(f"{open_column} IS NULL")
    return sa.Index(name, *columns, unique=True, sqlite_where=still_open, postgresql_where=still_open)


class Role(Labelled):
    AGENT = "agent", _l("Agent")
    COACH = "coach", _l("Coach")
    LEADER = "leader", _l("Leader")
    ADMIN = "admin", _l("Admin")


LOCALES = ("en", "es", "it")
WEEKDAYS = (1, 2, 3, 4, 5, 6, 7)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        one_of("role", Role, "role_valid"),
        sa.CheckConstraint("locale IN ('en', 'es', 'it')", name="locale_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(120))
    role: Mapped[str] = mapped_column(sa.String(16), default=Role.AGENT.value)
    # None until the person chooses a language in their profile: until then pages follow their browser.
    locale: Mapped[str | None] = mapped_column(sa.String(5), default=None)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Europe/Madrid")
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255), default="")
    session_version: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")

    def __repr__(self) -> str:
        return f"<User {self.email}>"

    @staticmethod
    def normalize_email(email: str) -> str:
        return (email or "").strip().lower()

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    # The random key of the sign-in session this object was loaded for (set at sign-in and by the user loader);
    # part of the login id so that sign-out can end that one session (app/auth). Not a column.
    session_key = None

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}:{self.session_key or ''}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def rank(self) -> int:
        return Role(self.role).rank

    def has_role(self, role: Role) -> bool:
        return self.rank >= Role(role).rank

    def pod_ids_on(self, day: date) -> Select:
        """A query for the ids of the pods this user is a member of on ``day``."""
        return select(Membership.pod_id).where(Membership.user_id == self.id, Membership.current(day))

    @property
    def initials(self) -> str:
        parts = [p for p in self.display_name.split() if p]
        return "".join(p[0] for p in parts[:2]).upper() or "?"


class Organisation(db.Model):
    """The single organisation this installation serves, with its org-wide settings."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), default="Podium")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Europe/Madrid")
    fiscal_year_start_month: Mapped[int] = mapped_column(sa.Integer, default=1)


class CatalogItem:
    """The columns of an entry of a catalog an admin keeps in order (segments, lifecycle stages, autonomy's action
    types): a unique name, a description, its position in lists, and whether it is still offered."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class Segment(CatalogItem, db.Model):
    __tablename__ = "segments"


class LifecycleStage(CatalogItem, db.Model):
    __tablename__ = "lifecycle_stages"


DEFAULT_STAGES = (
    ("Pre-sale", "Information and quotes before a customer buys."),
    ("Sale & onboarding", "Buying, contracting and getting started."),
    ("In-life service", "Everyday service while the customer uses the product."),
    ("Post-sale & warranty", "Repairs, replacements, claims and warranty."),
    ("Account closure", "Cancellation, porting out and final settlement."),
)


pod_coaches = sa.Table(
    "pod_coaches",
    db.metadata,
    sa.Column("pod_id", sa.ForeignKey("pods.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Pod(db.Model):
    __tablename__ = "pods"
    __table_args__ = (
        sa.CheckConstraint("length(working_days) BETWEEN 1 AND 7", name="working_days_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    mission: Mapped[str] = mapped_column(sa.Text, default="")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Europe/Madrid")
    standup_time: Mapped[time] = mapped_column(sa.Time, default=time(9, 30))
    working_days: Mapped[str] = mapped_column(sa.String(7), default="12345")
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    coaches: Mapped[list[User]] = relationship(secondary=pod_coaches, order_by="User.display_name")
    memberships: Mapped[list[Membership]] = relationship(back_populates="pod", order_by="Membership.start_date")
    coverage: Mapped[list[Coverage]] = relationship(
        back_populates="pod",
        primaryjoin="and_(Pod.id == Coverage.pod_id, Coverage.valid_to.is_(None))",
        viewonly=True,
    )

    def __repr__(self) -> str:
        return f"<Pod {self.name}>"

    @property
    def weekdays(self) -> list[int]:
        return sorted(int(d) for d in self.working_days)

    def is_working_day(self, day: date) -> bool:
        return str(day.isoweekday()) in self.working_days

    def members_on(self, day: date) -> Select:
        """A query for the users who are members of this pod on ``day``, by name."""
        return (select(User).join(Membership, Membership.user_id == User.id)
                .where(Membership.pod_id == self.id, Membership.current(day)).order_by(User.display_name))

    def member_ids_on(self, day: date) -> Select:
        return select(Membership.user_id).where(Membership.pod_id == self.id, Membership.current(day))


class MemberProfile(str, enum.Enum):
    GENERALIST = "generalist"
    SPECIALIST = "specialist"


class Membership(db.Model):
    """A person's time in a pod; history is kept by closing a membership, never deleting it."""

    __tablename__ = "memberships"
    __table_args__ = (
        one_of("profile", MemberProfile, "profile_valid"),
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_ordered"),
        sa.Index("ix_memberships_user_current", "user_id", "end_date"),
        unique_while_open("uq_memberships_open", "pod_id", "user_id", open_column="end_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pod_id: Mapped[int] = mapped_column(sa.ForeignKey("pods.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    start_date: Mapped[date] = mapped_column(sa.Date)
    end_date: Mapped[date | None] = mapped_column(sa.Date, nullable=True)
    profile: Mapped[str] = mapped_column(sa.String(16), default=MemberProfile.GENERALIST.value)
    skills: Mapped[str] = mapped_column(sa.String(500), default="")

    pod: Mapped[Pod] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(back_populates="memberships")

    def is_current(self, on: date) -> bool:
        return self.start_date <= on and (self.end_date is None or self.end_date >= on)

    # The one rule of "who is a member": a membership counts on a day when it started on or before that day and
    # has not ended before it (end_date is the last day in the pod). Every query about members uses these.
    @classmethod
    def current(cls, on: date) -> ColumnElement[bool]:
        """SQL condition: the membership counts on day ``on``."""
        return and_(cls.start_date <= on, or_(cls.end_date.is_(None), cls.end_date >= on))

    @classmethod
    def overlapping(cls, first: date, last: date) -> ColumnElement[bool]:
        """SQL condition: the membership counts on at least one day of ``first``..``last``."""
        return and_(cls.start_date <= last, or_(cls.end_date.is_(None), cls.end_date >= first))

    @classmethod
    def open(cls) -> ColumnElement[bool]:
        """SQL condition: the membership has not been ended (it may start in the future)."""
        return cls.end_date.is_(None)


class MembershipAction(Labelled):
    ADDED = "added", _l("Added")
    ENDED = "ended", _l("Ended")
    EDITED = "edited", _l("Profile or skills changed")


class MembershipChange(db.Model):
    """The audit trail of memberships: who started, ended or changed whose membership, when, with which dates."""

    __tablename__ = "org_membership_changes"
    __table_args__ = (
        one_of("action", MembershipAction, "action_valid"),
        sa.Index("ix_org_membership_changes_pod_at", "pod_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pod_id: Mapped[int] = mapped_column(sa.ForeignKey("pods.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    membership_id: Mapped[int | None] = mapped_column(sa.ForeignKey("memberships.id", ondelete="SET NULL"),
                                                      nullable=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    action: Mapped[str] = mapped_column(sa.String(16))
    start_date: Mapped[date] = mapped_column(sa.Date)
    end_date: Mapped[date | None] = mapped_column(sa.Date, nullable=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    member: Mapped[User] = relationship(foreign_keys=[member_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])

    @property
    def action_label(self) -> str:
        return MembershipAction(self.action).label


class Coverage(db.Model):
    """A pod owning one (segment, lifecycle stage) cell over a period of time."""

    __tablename__ = "coverage"
    __table_args__ = (
        unique_while_open("uq_coverage_open", "pod_id", "segment_id", "stage_id", open_column="valid_to"),
        sa.Index("ix_coverage_cell", "segment_id", "stage_id", "valid_from"),
        sa.UniqueConstraint("pod_id", "segment_id", "stage_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pod_id: Mapped[int] = mapped_column(sa.ForeignKey("pods.id", ondelete="CASCADE"))
    segment_id: Mapped[int] = mapped_column(sa.ForeignKey("segments.id", ondelete="CASCADE"))
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("lifecycle_stages.id", ondelete="CASCADE"))
    valid_from: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    valid_to: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    assigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    pod: Mapped[Pod] = relationship(back_populates="coverage")
    segment: Mapped[Segment] = relationship()
    stage: Mapped[LifecycleStage] = relationship()
