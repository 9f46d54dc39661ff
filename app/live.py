"""Live boards: a signed poll token and a per-board version that answer "nothing changed" before Flask runs.

A live page (a retro, a stand-up board) polls ``<its live path>?t=<token>&v=<version>`` every two seconds. The
token is signed with the app's secret key when the page is rendered (after the permission check) and names the
board, the person and what they may see. ``LivePolls`` sits in front of the Flask app: a poll whose token is valid
and whose version is still current is answered ``204`` from one primary-key read of the board's version column
(or one Redis ``GET`` when ``REDIS_URL`` is configured), with no session, user load, ORM or template. A feature
may also answer some changed polls here (``register(..., answer=)``: a retro's reflect counts, app/retros/poll.py)
from a token signed less than ``ANSWER_MAX_AGE`` ago: small fragments whose rules the token's claims settle.
Anything else — another change, an older, bad or expired token — goes on to the feature's Flask view, which signs
the person in as usual, asks the permission rules again, answers with what changed and signs a new token. A 204
tells nothing but "unchanged".

Writers keep bumping the version column in their own transaction (``UPDATE ... SET version = version + 1``, the
source of truth) and call ``changed(kind, id, version)``; after the commit the new version is copied to Redis
(keeping the larger value, so a late writer never moves it back).
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import parse_qs

from babel.support import NullTranslations, Translations
from flask import current_app, g, has_app_context
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import event, text
from sqlalchemy.orm import Session
from werkzeug.middleware.proxy_fix import ProxyFix

from app.extensions import db
from app.forms import INT_MAX

log = logging.getLogger(__name__)

TOKEN_MAX_AGE = 16 * 3600  # a working day: a page left open overnight signs in again through the full view
_SALT = "podium-live-poll"
_KEY_PREFIX = "podium:live:"
_MAX_SET = (
    "local c = tonumber(redis.call('GET', KEYS[1]) or '-1') "
    "if tonumber(ARGV[1]) > c then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end return 1"
)
_REDIS_TTL = 2 * 86400
_READ_TTL = 5


@dataclass(frozen=True)
class Poll:
    """A changed poll as ``LivePolls`` hands it to a feature's ``answer``: the valid token's claims, the query."""

    app: object  # the Flask app (its jinja_env and config; no request or app context is pushed)
    engine: object  # for reads of one statement each (``reader``: autocommit on PostgreSQL)
    token: str
    ident: int
    user_id: int
    sees: str
    locale: str
    query: dict[str, list[str]]
    seen: int | None = None  # the version the page shows, when the feature is asked before the version is read

    def arg(self, name: str) -> str:
        return (self.query.get(name) or [""])[0]

    def translations(self) -> NullTranslations:
        """The catalog of the token's language (no Babel context here), loaded once per process."""
        locale = self.locale
        if locale not in _TRANSLATIONS:
            config = self.app.config
            if locale in config.get("LANGUAGES", ()) and locale != "en":
                directory = str(config["BABEL_TRANSLATION_DIRECTORIES"]).split(";")[0]
                _TRANSLATIONS[locale] = Translations.load(os.fspath(directory), [locale], "messages")
            else:
                _TRANSLATIONS[locale] = NullTranslations()
        return _TRANSLATIONS[locale]


_TRANSLATIONS: dict[str, NullTranslations] = {}


@dataclass(frozen=True)
class LiveKind:
    kind: str
    path: re.Pattern  # matches PATH_INFO; group 1 is the board id
    table: str  # the table whose ``version`` column (primary key ``id``) is the board's version
    # A changed poll the feature can answer from the token alone (a small fragment, no session, user or ORM load):
    # returns the body, or None to let the Flask view answer. Only for tokens younger than ANSWER_MAX_AGE.
    answer: object = None
    # ``answer`` reads the board's version in its own statement and returns True when it is ``poll.seen`` (a 204):
    # while the board is busy (BUSY_SECONDS) it is asked first, without the version check before it.
    answers_unchanged: bool = False


KINDS: dict[str, LiveKind] = {}
# A changed poll is answered here only with a token signed this recently (the Flask view, which asks the
# permission rules again, signs a new one): someone who loses access sees at most this much more of a board.
ANSWER_MAX_AGE = 300


def register(kind: str, path: str, table: str, answer=None, answers_unchanged: bool = False) -> None:
    """A feature's live board: polls of ``path`` (a regex with the id as group 1) answer from ``table.version``;
    ``answer(poll)`` may answer a changed poll too (see LiveKind)."""
    KINDS[kind] = LiveKind(kind, re.compile(path), table, answer, answers_unchanged)


# Boards this process saw change lately: kind, id -> when. While a room writes (60 people reflecting: a new card every
# few hundred milliseconds) nearly every poll is a changed one, and checking the version first (a Redis GET) was a
# round trip more before the feature's own statement, which reads the version anyway. A board with a changed poll
# in the last BUSY_SECONDS is asked of the feature first (LiveKind.answers_unchanged); a quiet one as before.
BUSY_SECONDS = 2.0  # a page's poll interval
_BUSY: dict[tuple[str, int], float] = {}
_BUSY_SIZE = 4096


def _busy(key: tuple[str, int], now: float) -> bool:
    found = _BUSY.get(key)
    return found is not None and 0 <= now - found < BUSY_SECONDS


def _changed_lately(key: tuple[str, int], now: float) -> None:
    if len(_BUSY) >= _BUSY_SIZE:
        _BUSY.clear()  # as _VERIFIED: at worst a board is checked the quiet way once more
    _BUSY[key] = now


# --- the token ---------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT)  # built once: its constructor serializes a probe value


# Tokens signed lately, by their claims: a person writing cards gets a poller with every answer, and signing (JSON,
# base64, HMAC) was ~0.25 ms of each. A token with the same claims signed less than this long ago is given again;
# the view asked the rules before each call, and the claims are all a token says (besides its age, which stays
# well inside ANSWER_MAX_AGE).
_SIGNED: dict[tuple, tuple[str, float]] = {}
_SIGNED_SIZE = 4096
SIGN_REUSE = 30  # seconds


def sign(secret: str, kind: str, ident: int, user_id: int, sees: str, locale: str = "") -> str:
    """The poll token of one person on one board; ``sees`` is what they may see (the feature's word for it),
    ``locale`` the language answers given from the token alone are in."""
    claims = [kind, ident, user_id, sees, locale] if locale else [kind, ident, user_id, sees]
    key = (secret, *claims)
    now = time.time()
    found = _SIGNED.get(key)
    if found is not None and 0 <= now - found[1] < min(SIGN_REUSE, ANSWER_MAX_AGE / 4):
        return found[0]
    token = _serializer(secret).dumps(claims)
    if len(_SIGNED) >= _SIGNED_SIZE:
        _SIGNED.clear()  # as _VERIFIED: the next calls sign again
    _SIGNED[key] = (token, now)
    return token


def read(secret: str, token: str | None, max_age: int = TOKEN_MAX_AGE) -> tuple[str, int, int, str] | None:
    """(kind, board id, user id, sees) of a valid, unexpired token; None otherwise."""
    found = read_full(secret, token, max_age)
    return found[:4] if found else None


# Tokens whose signature was checked, with their claims: a page polls with the same token until something changes,
# and checking the signature again (JSON, base64, HMAC) was ~70 us of every poll. Only valid tokens are kept; the
# age is still taken at each read.
_VERIFIED: dict[tuple[str, str], tuple] = {}
_VERIFIED_SIZE = 4096


def read_full(secret: str, token: str | None, max_age: int = TOKEN_MAX_AGE):
    """(kind, board id, user id, sees, locale, age in seconds) of a valid, unexpired token; None otherwise."""
    if not token or len(token) > 300:
        return None
    found = _VERIFIED.get((secret, token))
    if found is None:
        found = _verify(secret, token)
        if found is None:
            return None
        if len(_VERIFIED) >= _VERIFIED_SIZE:
            _VERIFIED.clear()  # simpler than an LRU and safe across threads: the next reads check again
        _VERIFIED[(secret, token)] = found
    now = time.time()
    if not 0 <= int(now) - found[5] <= max_age:  # itsdangerous's max_age rule: expired, or signed in the future
        return None
    return (*found[:5], now - found[5])


def _verify(secret: str, token: str):
    try:
        claims, signed_at = _serializer(secret).loads(token, return_timestamp=True)
        kind, ident, user_id, sees, *rest = claims
    except (BadSignature, ValueError, TypeError):
        return None
    locale = rest[0] if len(rest) == 1 and isinstance(rest[0], str) else ""
    if not (isinstance(ident, int) and isinstance(user_id, int)) or len(rest) > 1:
        return None
    return kind, ident, user_id, sees, locale, int(signed_at.timestamp())


# --- versions ----------------------------------------------------------------------------------------


class _Redis:
    """The optional Redis mirror of board versions; any Redis failure falls back to the database."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self._client = None
        self._pid = None

    def client(self):
        if not self.url:
            return None
        if self._client is None or self._pid != os.getpid():  # a connection pool per (forked) worker
            import redis  # optional: needed only when REDIS_URL is set

            self._client = redis.Redis.from_url(self.url, socket_timeout=0.5, socket_connect_timeout=0.5)
            self._pid = os.getpid()
        return self._client

    def get(self, key: str) -> int | None:
        client = self.client()
        if client is None:
            return None
        try:
            value = client.get(key)
        except Exception:  # noqa: BLE001 - Redis is an accelerator only; the database answers instead
            log.warning("live: Redis unavailable, reading versions from the database", exc_info=True)
            return None
        return int(value) if value is not None else None

    def put(self, key: str, version: int | None, ttl: int = _REDIS_TTL) -> None:
        client = self.client()
        if client is None:
            return
        try:
            if version is None:
                client.delete(key)
            else:
                client.eval(_MAX_SET, 1, key, version, ttl)
        except Exception:  # noqa: BLE001 - see get(); the version column stays the truth
            log.warning("live: could not publish a version to Redis", exc_info=True)


_redis_by_url: dict[str | None, _Redis] = {}


def _redis(url: str | None) -> _Redis:
    if url not in _redis_by_url:
        _redis_by_url[url] = _Redis(url)
    return _redis_by_url[url]


def _key(database: str, kind: str, ident: int) -> str:
    """One namespace per database, so two Podiums (or a test run) sharing a Redis never read each other's."""
    return f"{_KEY_PREFIX}{hashlib.sha1(database.encode()).hexdigest()[:10]}:{kind}:{ident}"


_READERS: dict[int, object] = {}


def reader(engine):
    """``engine`` for reads of one statement each: on PostgreSQL in autocommit, so a read is its one round trip
    (no BEGIN before it, no ROLLBACK when the connection goes back to the pool; each statement sees its own
    snapshot, as it does in a transaction at READ COMMITTED); other databases as they are (SQLite begins no
    transaction for a read)."""
    found = _READERS.get(id(engine))
    if found is None or found[0] is not engine:
        use = engine.execution_options(isolation_level="AUTOCOMMIT") if engine.dialect.name == "postgresql" else engine
        found = _READERS[id(engine)] = (engine, use)
    return found[1]


def current_version(engine, redis_url: str | None, kind: str, ident: int) -> int | None:
    """The board's version: Redis when configured and it knows it, else one primary-key read (then mirrored)."""
    mirror = _redis(redis_url)
    key = _key(str(engine.url), kind, ident) if redis_url else ""
    value = mirror.get(key) if redis_url else None
    if value is not None:
        return value
    table = KINDS[kind].table
    with reader(engine).connect() as conn:
        value = conn.execute(text(f"SELECT version FROM {table} WHERE id = :id"), {"id": ident}).scalar()
    if value is not None and redis_url:
        # A value read here may be overtaken by a commit whose "drop it" lands first: it lives a few seconds only.
        mirror.put(key, value, ttl=_READ_TTL)
    return value


def changed(session, kind: str, ident: int, version: int | None = None) -> None:
    """Note a new version written in ``session``'s transaction; it reaches Redis once the transaction commits.
    Without the number (a writer that bumps several boards at once) the mirrored value is dropped instead, and the
    next check reads the column again."""
    pending = session.info.setdefault("live_changed", {})
    key = (kind, ident)
    if version is None or pending.get(key, 0) is None:
        pending[key] = None
    else:
        pending[key] = max(version, pending.get(key, 0))


@event.listens_for(Session, "after_commit")
def _publish(session) -> None:
    pending = session.info.pop("live_changed", None)
    if not pending:
        return
    url = current_app.config.get("REDIS_URL") if has_app_context() else None
    if not url:
        return
    mirror = _redis(url)
    database = str(session.get_bind().url)
    for (kind, ident), version in pending.items():
        mirror.put(_key(database, kind, ident), version)


@event.listens_for(Session, "after_rollback")
def _forget(session) -> None:
    session.info.pop("live_changed", None)


# --- renders shared by everyone in the same situation ---------------------------------------------------
#
# When a phase starts, every page of the room asks for the new board within two seconds. Where what they see is
# the same for everyone in the same situation (the feature decides, and names that situation in ``key``), it is
# rendered once: in this process (a per-key lock, so threads wait for the one render instead of each making it)
# and, with Redis, once for every worker (the first takes a short lock and renders; the others wait for its result
# rather than render it again, and render it themselves if it does not come).

_RENDERS: OrderedDict[str, tuple[float, str]] = OrderedDict()  # key: (kept until, text)
_RENDERS_SIZE = 16
_RENDER_LOCKS: dict[str, threading.Lock] = {}
_RENDER_TTL = 120  # seconds; keys carry the board's version, so an old render is never served for a new version
_RENDER_WAIT = 3.0  # seconds another worker's render is waited for
_NOT_SHARED = "\x00not shared\x00"


def shared_render(key: str, render) -> str:
    """The text for ``key``, rendered once for everyone asking with the same key (see above). ``render()`` returns
    (text, shareable): a text that is not shareable (the feature found it differs by person after all) is kept by
    nobody, and each caller renders their own."""
    found = _kept(key)
    if found is not None:
        return found
    with _RENDER_LOCKS.setdefault(key, threading.Lock()):
        found = _kept(key)
        if found is None:
            found, shareable = _shared_across_workers(key, render)
            if shareable:
                _RENDERS[key] = (time.monotonic() + _RENDER_TTL, found)
                while len(_RENDERS) > _RENDERS_SIZE:
                    _RENDERS.popitem(last=False)
    if len(_RENDER_LOCKS) > 4 * _RENDERS_SIZE:
        _RENDER_LOCKS.clear()  # held locks stay with their holders; a later caller at worst renders once more
    return found


def _kept(key: str) -> str | None:
    """This process's render for ``key`` while it is young (what is not part of the key, such as today's date in a
    date field's lower bound, is at most this old)."""
    found = _RENDERS.get(key)
    if found is None or found[0] < time.monotonic():
        return None
    return found[1]


def _shared_across_workers(key: str, render) -> tuple[str, bool]:
    client = _redis(current_app.config.get("REDIS_URL") or None).client()
    if client is None:
        return render()
    name = _key(str(db.engine.url), "render", int(hashlib.sha1(key.encode()).hexdigest()[:15], 16))
    try:
        stored = client.get(name)
        if stored is None and not client.set(name + ":lock", "1", nx=True, ex=10):
            deadline = time.monotonic() + _RENDER_WAIT
            while stored is None and time.monotonic() < deadline:
                time.sleep(0.02)
                stored = client.get(name)
        if stored is not None:
            found = stored.decode()
            return render() if found == _NOT_SHARED else (found, True)
    except Exception:  # noqa: BLE001 - Redis is an accelerator only: render here
        log.warning("live: Redis unavailable for a shared render", exc_info=True)
        return render()
    found, shareable = render()
    try:
        client.set(name, found if shareable else _NOT_SHARED, ex=_RENDER_TTL)
        client.delete(name + ":lock")
    except Exception:  # noqa: BLE001 - see above
        log.warning("live: could not share a render through Redis", exc_info=True)
    return found, shareable


# --- the WSGI front ----------------------------------------------------------------------------------


class LivePolls:
    """WSGI middleware: an unchanged poll with a valid token is a 204 here; everything else goes to Flask."""

    def __init__(self, wsgi_app, flask_app) -> None:
        self.wsgi_app = wsgi_app
        self.flask_app = flask_app
        self._engine = None

    def engine(self):
        if self._engine is None:
            with self.flask_app.app_context():
                self._engine = db.engine
        return self._engine

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO", "").startswith(
            ("/retros/", "/standups/")
        ):
            answer = self._answer(environ)
            if answer is True:
                start_response("204 No Content", [("Cache-Control", "no-store"), ("Content-Length", "0")])
                return [b""]
            if answer:
                start_response(
                    "200 OK",
                    [
                        ("Content-Type", "text/html; charset=utf-8"),
                        ("Cache-Control", "no-store"),
                        ("Content-Length", str(len(answer))),
                    ],
                )
                return [answer]
        return self.wsgi_app(environ, start_response)

    def _answer(self, environ) -> bool | bytes | None:
        """True: unchanged (204); bytes: a changed poll the feature answered from the token; else Flask answers."""
        path = environ.get("PATH_INFO", "")
        for kind in KINDS.values():
            match = kind.path.fullmatch(path)
            if match:
                break
        else:
            return None
        try:
            query = parse_qs(environ.get("QUERY_STRING", ""), max_num_fields=8)
        except ValueError:  # more fields than a poll sends: not a poll, Flask answers it
            return None
        seen = (query.get("v") or [""])[0]
        if not seen.isascii() or not seen.isdigit() or len(seen) > 10:
            return None
        config = self.flask_app.config
        token = (query.get("t") or [None])[0]
        claims = read_full(config["SECRET_KEY"], token)
        if claims is None or claims[0] != kind.kind or claims[1] != int(match.group(1)):
            return None
        fresh = kind.answer is not None and claims[5] <= ANSWER_MAX_AGE and environ.get("HTTP_HX_REQUEST") == "true"
        board, now = (kind.kind, claims[1]), time.monotonic()
        declined = False
        if fresh and kind.answers_unchanged and _busy(board, now):
            poll = Poll(self.flask_app, reader(self.engine()), token, *claims[1:5], query, int(seen))
            found = self._ask(kind, poll)
            if found is not None:  # None: not for the feature to answer (another phase...): as a quiet board's
                if found is not True:
                    _changed_lately(board, now)
                return found
            declined = True  # and asking again after the version check would decline again (a phase change)
        version = current_version(self.engine(), config.get("REDIS_URL"), kind.kind, claims[1])
        if version is not None and version == int(seen):
            return True
        if version is not None:
            _changed_lately(board, now)
        if not fresh or version is None or declined:
            return None
        poll = Poll(self.flask_app, reader(self.engine()), token, claims[1], claims[2], claims[3], claims[4], query)
        return self._ask(kind, poll)

    @staticmethod
    def _ask(kind: LiveKind, poll: Poll):
        try:
            return kind.answer(poll)
        except Exception:  # noqa: BLE001 - the Flask view answers the same poll the long way
            log.warning("live: a %s poll fell back to the view", kind.kind, exc_info=True)
            return None


# --- lean writes ---------------------------------------------------------------------------------------
#
# The commonest writes of a full room (a vote, a card) are small, but the full Flask path around them loads the
# signed-in person as an ORM entity, then the board as another, then the person's pods in a third query, and reads
# the form twice (WTForms' CSRF check repeats the app's). A feature may answer such a write here instead
# (``register_write(path, handler)``): in a pushed request context (the session cookie, CSRF, Babel and url_for as
# usual) after the app's own ``before_request`` hooks (the CSRF check, hostile-input refusal, rate limits), the
# handler reads the person, the board and what the rules need in one statement, calls the same services and
# answers with the same fragment; the app's ``after_request`` hooks then add the headers and save the session.
# A refusal the handler's service raises (a ServiceError, an abort) is answered by the app's own error handlers, as
# the full path answers it. The handler returns None for what it does not answer itself (a form it does not take,
# a person or board that is not there, someone the rules refuse): the transaction is rolled back and the full Flask
# path answers the same request, with its messages. Nothing falls through once the handler has committed
# (or said with ``wrote()`` that its change is stored).


@dataclass(frozen=True)
class LeanWrite:
    path: re.Pattern  # matches PATH_INFO; group 1 is the board id
    handler: object  # handler(board_id) -> a Flask response, or None: the full path answers


WRITES: list[LeanWrite] = []
# Live checks that go on to Flask (a new phase: 60 pages at once) may be answered the same way (``register_read``):
# the person, the board and their relation in one statement instead of the user loader's, the board's and the
# relations' own, each in a transaction of its own round trips.
READS: list[LeanWrite] = []
MAX_LEAN_BODY = 16 * 1024  # a vote or a card is a few hundred bytes; anything larger takes the full path


def wrote() -> None:
    """A lean write's handler says its change is stored though the session has not committed (a single statement
    in autocommit): from here on a failure is answered as an error, never by the full path doing it again."""
    g._lean_wrote = True


def register_write(path: str, handler) -> None:
    """A write ``POST path`` (htmx only) that ``handler(board_id)`` may answer before Flask's dispatch."""
    WRITES.append(LeanWrite(re.compile(path), handler))


def register_read(path: str, handler) -> None:
    """A live check ``GET path`` (htmx only) that ``handler(board_id)`` may answer before Flask's dispatch."""
    READS.append(LeanWrite(re.compile(path), handler))


def _lean(registered: list[LeanWrite], environ) -> tuple[LeanWrite | None, int]:
    """The registration whose path this request's is, and the board id in it; (None, 0) for none, or for an id past
    what an id column holds (the full path's router answers it 404, as ``BoundedIntConverter`` does)."""
    path = environ.get("PATH_INFO", "")
    for lean in registered:
        match = lean.path.fullmatch(path)
        if match:
            ident = int(match.group(1))
            return (lean, ident) if ident <= INT_MAX else (None, 0)
    return None, 0


class LeanWrites:
    """WSGI middleware just outside Flask's own ``wsgi_app`` (inside any ProxyFix): see ``register_write``."""

    def __init__(self, wsgi_app, flask_app) -> None:
        self.wsgi_app = wsgi_app
        self.flask_app = flask_app

    def __call__(self, environ, start_response):
        if (
            WRITES
            and environ.get("REQUEST_METHOD") == "POST"
            and environ.get("HTTP_HX_REQUEST") == "true"
            and "HTTP_HX_HISTORY_RESTORE_REQUEST" not in environ
        ):
            write, ident = _lean(WRITES, environ)
            length = environ.get("CONTENT_LENGTH") or ""
            if write and length.isdigit() and int(length) <= MAX_LEAN_BODY:
                # Read once, so the full path can read the same body again if it answers instead.
                body = environ["wsgi.input"].read(int(length))
                environ["wsgi.input"] = io.BytesIO(body)
                response = self._answer(environ, write, ident)
                if response is not None:
                    return response(environ, start_response)
                environ["wsgi.input"] = io.BytesIO(body)
        elif READS and environ.get("REQUEST_METHOD") == "GET" and environ.get("HTTP_HX_REQUEST") == "true":
            read, ident = _lean(READS, environ)
            if read:
                response = self._answer(environ, read, ident)
                if response is not None:
                    return response(environ, start_response)
        return self.wsgi_app(environ, start_response)

    def _answer(self, environ, write: LeanWrite, ident: int):
        app = self.flask_app
        ctx = app.request_context(environ)
        committed = []
        with ctx:
            session = db.session()
            mark = lambda _session: committed.append(True)  # noqa: E731
            event.listen(session, "after_commit", mark)
            try:
                if app.preprocess_request() is not None:  # a before_request hook answered: the full path does
                    return None
                response = write.handler(ident)
                if response is None:
                    db.session.rollback()
                    return None
                return app.process_response(app.make_response(response))
            except Exception as error:  # noqa: BLE001 - see below
                if committed or g.get("_lean_wrote"):
                    return app.make_response(app.handle_exception(error))
                # The handler rolls back, which expires what the session holds: the signed-in person, read at the
                # start of this request and never changed by it, stays as read (the answer's headers ask whether
                # they are signed in, which was one more SELECT of their row for every refused vote).
                user = g.get("_login_user")
                if user is not None and user in session:
                    session.expunge(user)
                try:  # a refused rule (a ServiceError, an abort): the app's own handler answers, as in the full path
                    answer = app.handle_user_exception(error)
                except Exception:  # noqa: BLE001 - nothing handles it here: the full path answers the same request
                    db.session.rollback()
                    log.warning("live: a write fell back to the full path", exc_info=True)
                    return None
                db.session.rollback()
                return app.process_response(app.make_response(answer))
            finally:
                event.remove(session, "after_commit", mark)
                session.expire_all()  # a session that outlives the request (tests) holds none of its copies as fresh
                g.pop("_login_user", None)  # the app context may outlive this request (tests): leak nothing
                g.pop("_pod_relations", None)
                g.pop("_lean_wrote", None)


def init_app(app) -> None:
    inner = app.wsgi_app
    if isinstance(inner, ProxyFix):  # the lean writes see the client address and scheme the proxy saw
        inner.app = LeanWrites(inner.app, app)
    else:
        inner = LeanWrites(inner, app)
    app.wsgi_app = LivePolls(inner, app)
