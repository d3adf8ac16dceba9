"""The PostgreSQL store's connections: a small pool of its own, which a request refills itself.

psycopg_pool reconnects in the background, with a pause that grows to minutes, and a request
waits for it: with the database down every request hung for the pool's timeout, and the first
one after it came back could wait out the pause. Here a request that finds no good idle
connection opens one itself, and everything it waits for (a free connection, a new one) is
bounded by the store timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from select import POLLIN, poll
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.pq import TransactionStatus

from rockets.settings import Limits

__all__ = ["Connections", "reason", "session_options"]

log = logging.getLogger("rockets.store")

# libpq gives no SQLSTATE for a failed connection, only its message: these are the reasons
# worth waiting out at start (the server is starting, or full for a moment). Any other failure,
# such as a wrong password or a missing database, will not mend by itself.
_PASSING_REASONS = (
    "connection refused",
    "the database system is starting up",
    "the database system is not yet accepting connections",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "too many connections",
    "too many clients already",
    "remaining connection slots are reserved",
    "server closed the connection unexpectedly",
    "connection reset by peer",
    "no route to host",
    "network is unreachable",
    "temporary failure in name resolution",
)
_START_PAUSE = 0.2
"""Seconds between two connection attempts while the server is starting: short, so that
rockets starts as soon as the database does."""


def session_options(limits: Limits, given: str = "") -> str:
    """libpq's ``options`` for a session of the store: the store's timeouts as PostgreSQL's
    settings, then ``given`` (the URL's own options, or PGOPTIONS), whose settings come later
    and so win.

    - ``statement_timeout``: no statement runs longer than a request may wait.
    - ``idle_in_transaction_session_timeout``: a session that keeps its transaction open
      waiting for its process (stopped, swapping or cut off) is ended by PostgreSQL, which lets
      go of its rows: another process's request waits for them at most that long, then goes
      on. Its own process finds the connection closed when it runs again, and the request it
      was serving gets a 503, nothing of it kept. PostgreSQL counts a session idle only after
      a Sync: a pipeline waits for its answers with one (the PostgreSQL store's ``_answered``).
    - ``lock_timeout``: no statement waits longer than that for a row another session holds,
      for a holder PostgreSQL cannot see idle (a process stopped between two statements of a
      pipeline looks busy). Longer than the idle timeout, so that a request waiting on a
      stopped peer is served, not refused.

    Given at connection, they cost no round trip.
    """
    timeouts = {
        "statement_timeout": limits.store_timeout,
        "lock_timeout": limits.store_lock_timeout,
        "idle_in_transaction_session_timeout": limits.store_idle_timeout,
    }
    told = " ".join(f"-c {name}={max(1, round(s * 1000))}" for name, s in timeouts.items())
    return f"{told} {given}".strip()


def reason(exc: BaseException) -> str:
    """What PostgreSQL or libpq said, on one line."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _passing(exc: psycopg.Error) -> bool:
    """Whether a failure to connect may go away by itself if the connection is tried again."""
    if isinstance(exc, pg_errors.ConnectionTimeout):
        return True
    if not isinstance(exc, psycopg.OperationalError):
        return False
    said = str(exc).lower()
    return any(reason in said for reason in _PASSING_REASONS)


def _quiet(conn: psycopg.AsyncConnection[Any]) -> bool:
    """Whether an idle connection is still good: an idle connection has nothing to read, so
    something to read is the server's goodbye (shut down, restarted, or the connection ended),
    seen without a round trip."""
    if conn.closed or conn.broken:
        return False
    try:
        poller = poll()
        poller.register(conn.fileno(), POLLIN)
    except (OSError, ValueError, psycopg.Error):
        return False
    return not poller.poll(0)


class Connections:
    """The store's connections, at most ``size`` at once, ``keep`` of them opened at start.

    A database that is down is a refused connection at once, and one that is back serves the
    very next request (see the module's docstring).
    """

    def __init__(self, params: dict[str, Any], size: int, keep: int, timeout: float) -> None:
        self._params = params
        self._size = size
        self._keep = keep
        self._timeout = timeout
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._slots: asyncio.Semaphore | None = None
        self._closed = False

    def _timed_out(self, waited_for: str) -> pg_errors.ConnectionTimeout:
        return pg_errors.ConnectionTimeout(
            f"no connection within {self._timeout:g} s (ROCKETS_STORE_TIMEOUT): {waited_for}"
        )

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(**self._params, autocommit=True)
        try:
            # The locking scheme relies on READ COMMITTED (a waiting writer sees the latest
            # committed row), whatever the database's default isolation level is.
            await conn.set_isolation_level(psycopg.IsolationLevel.READ_COMMITTED)
        except BaseException:
            # Cancelled (a task stopped at shutdown) or failed: never left open.
            await self._discard(conn)
            raise
        return conn

    async def connect(self) -> psycopg.AsyncConnection[Any]:
        """A connection of its own, outside the pool (to listen for notifications), made
        within the timeout."""
        return await self._connect_in_time()

    async def _connect_in_time(self) -> psycopg.AsyncConnection[Any]:
        try:
            async with asyncio.timeout(self._timeout):
                return await self._connect()
        except TimeoutError:
            raise self._timed_out("the server did not answer") from None

    async def open(self, patience: float) -> None:
        """Connect ``keep`` connections (at least one, to check the server); failures that may
        pass are tried again for ``patience`` seconds, the others raised at once."""
        # Made here, so that it belongs to the event loop that serves.
        self._slots = asyncio.Semaphore(self._size)
        self._closed = False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        told = ""
        while True:
            try:
                self._idle.append(await self._connect_in_time())
                break
            except psycopg.Error as exc:
                left = deadline - loop.time()
                if not _passing(exc) or left <= 0:
                    raise
                if reason(exc) != told:
                    told = reason(exc)
                    log.warning(
                        "postgresql: not ready (%s); trying again for up to %.0f s", told, left
                    )
                await asyncio.sleep(min(_START_PAUSE, left))
        while len(self._idle) < self._keep:
            self._idle.append(await self._connect_in_time())

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            await self._discard(conn)

    @staticmethod
    async def _discard(conn: psycopg.AsyncConnection[Any]) -> None:
        try:
            with suppress(psycopg.Error, OSError):
                await conn.close()
        except BaseException:
            # Cancelled while closing: the socket is closed at once, without the goodbye.
            conn.pgconn.finish()
            raise

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection for one use; a connection left broken or in a transaction by it is
        closed, not kept.

        Raises:
            psycopg.Error: no connection could be made (ConnectionTimeout: not within the
                timeout, for a free one or a new one).
        """
        slots = self._slots
        if slots is None or self._closed:
            raise psycopg.OperationalError("the store is not open")
        waiting_for = f"all {self._size} connections (pool_max) stayed in use"
        try:
            async with asyncio.timeout(self._timeout):
                await slots.acquire()
                try:
                    conn = None
                    while self._idle and conn is None:
                        candidate = self._idle.pop()
                        if _quiet(candidate):
                            conn = candidate
                        else:
                            await self._discard(candidate)
                    if conn is None:
                        waiting_for = "the server did not answer"
                        conn = await self._connect()
                except BaseException:
                    slots.release()
                    raise
        except TimeoutError:
            raise self._timed_out(waiting_for) from None
        try:
            yield conn
        finally:
            if (
                self._closed
                or conn.broken
                or conn.closed
                or conn.info.transaction_status != TransactionStatus.IDLE
            ):
                await self._discard(conn)
            else:
                self._idle.append(conn)
            slots.release()
