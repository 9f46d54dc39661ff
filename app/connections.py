"""Pooled PostgreSQL connections checked for life without a round trip to the server.

SQLAlchemy's ``pool_pre_ping`` sends ``SELECT 1`` each time a request takes a connection from the pool, so a
connection the server ended (a restart, a terminated backend, a fail-over) is replaced before the request uses it.
A full room makes hundreds of requests a second, each paying that round trip in the app and in the database.

A server that ends a connection tells the client: it sends an error ("terminating connection ...") and closes the
socket, so the idle connection's socket turns readable, which one ``poll()`` system call sees at no cost to the
server. A connection whose socket has news (or that psycopg already knows is closed or broken) is replaced on
check-out, as the pre-ping would have replaced it; one idle for longer than ``IDLE_PING_SECONDS`` (long enough for a
firewall to have dropped it silently, which no packet announces) is still pinged the old way. Other databases and
drivers keep ``pool_pre_ping``.
"""

from __future__ import annotations

import select
import time

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine, make_url

IDLE_PING_SECONDS = 30.0
_IDLE_SINCE = "podium_idle_since"


def watched_by_socket(uri: str) -> bool:
    """Whether connections to ``uri`` are checked through their socket (PostgreSQL through psycopg)."""
    url = make_url(uri)
    return url.get_backend_name() == "postgresql" and url.get_driver_name() == "psycopg"


def watch(engine: Engine, idle_ping_seconds: float = IDLE_PING_SECONDS) -> None:
    """Replace a pooled connection the server ended when it is taken from the pool (the engine has no pre-ping)."""

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection, record) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _still_alive(dbapi_connection, record, _proxy) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None:  # connected for this check-out (the info is cleared on every reconnect)
            return
        if _ended(engine, dbapi_connection):
            raise exc.DisconnectionError("the server ended this pooled connection")
        if time.monotonic() - since > idle_ping_seconds and not _pings(engine, dbapi_connection):
            raise exc.DisconnectionError("a pooled connection idle for long did not answer")


def _ended(engine: Engine, dbapi_connection) -> bool:
    """Whether psycopg knows the connection is gone, or its idle socket holds something the server sent unasked
    (the notice of its end, or the end of the stream)."""
    if dbapi_connection.closed or dbapi_connection.broken:
        return True
    try:
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except (OSError, ValueError, engine.dialect.loaded_dbapi.Error):  # no socket any more
        return True


def _pings(engine: Engine, dbapi_connection) -> bool:
    try:
        return bool(engine.dialect.do_ping(dbapi_connection))
    except engine.dialect.loaded_dbapi.Error:
        return False
