"""Flask extensions, created here and bound to the app in create_app; the column helpers models share."""

import enum
import threading

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import CheckConstraint, MetaData, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


class Labelled(enum.StrEnum):
    """A string enum whose members carry the words for them: ``POD = "pod", _l("The pod")``, so a value and its
    label are written once, side by side. ``member.label`` is the label in the reader's language,
    ``Cls.labels()`` maps every value to its (lazy) label for choices and templates, ``Cls.label_of(stored)``
    reads a stored string (an unknown one comes back as it is)."""

    def __new__(cls, value: str, label=None):
        member = str.__new__(cls, value)
        member._value_ = value
        member._label = value if label is None else label
        return member

    @property
    def label(self) -> str:
        return str(self._label)

    @property
    def rank(self) -> int:
        """The member's place in the declaration, 0 first: the order of roles or levels is the order written."""
        return type(self)._member_names_.index(self.name)

    @classmethod
    def labels(cls) -> dict:
        return {member.value: member._label for member in cls}

    @classmethod
    def label_of(cls, value) -> str:
        member = cls._value2member_map_.get(value)
        return str(value) if member is None else member.label


def one_of(column: str, values, name: str, *, nullable: bool = False) -> CheckConstraint:
    """A CHECK that `column` holds one of `values` (an enum class or a list of strings), so the allowed values are
    written once, in the enum, rather than again in the constraint's SQL."""
    allowed = f"{column} IN ({', '.join(repr(str(getattr(v, 'value', v))) for v in values)})"
    return CheckConstraint(f"{column} IS NULL OR {allowed}" if nullable else allowed, name=name)


def dialect_insert(table, session=None):
    """An INSERT that has `on_conflict_do_update`/`do_nothing` on the database in use (PostgreSQL or SQLite)."""
    name = (session or db.session).get_bind().dialect.name
    return (pg_insert if name == "postgresql" else sqlite_insert)(table)


def inserted(row) -> bool:
    """Add `row` and write it in a savepoint: True when it was written, False when the database refused it (a unique
    key it clashes with: the row is there already, or the rule it would break is the caller's to answer). A refusal
    rolls back the savepoint alone; the row leaves the session and the transaction goes on."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return False
    return True


def commit_keeping() -> None:
    """Commit without expiring what the session holds: for an answer drawn from what its own transaction wrote and
    read (as of that commit), so rendering it reloads no row (the retro, the pod, the signed-in user)."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def client_address() -> str:
    return request.remote_addr or "unknown"


# SQLite has one writer at a time. A writer that finds the lock taken sleeps in SQLite's busy handler in steps of up
# to 100 ms, however soon the lock is free: in a burst of votes most of the wait was that sleeping. Writers of this
# process first queue on a Python lock, which wakes the next one the moment a write transaction ends; SQLite's
# busy timeout still orders them against other processes (the CLI, a scheduler run apart).
_SQLITE_WRITER = threading.Lock()
_WRITER_WAIT = 10.0  # seconds; then the write goes on to SQLite's own busy handling


def begin_write() -> None:
    """On SQLite, start the transaction IMMEDIATE so it holds the write lock before it reads anything: a
    read-then-write that checks a rule (a budget, a cap, a version) cannot interleave with another one.
    PostgreSQL needs nothing here: its callers take row or advisory locks."""
    session = db.session()
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if not raw.in_transaction:
        if not session.info.get("sqlite_writer") and _SQLITE_WRITER.acquire(timeout=_WRITER_WAIT):
            session.info["sqlite_writer"] = True
        raw.execute("BEGIN IMMEDIATE")


@event.listens_for(Session, "after_transaction_end")
def _release_writer(session, transaction) -> None:
    """The session's transaction ended (committed, rolled back or closed): the next writer of this process goes."""
    if transaction.parent is None and session.info.pop("sqlite_writer", False):
        _SQLITE_WRITER.release()
