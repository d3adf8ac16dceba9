"""The PostgreSQL store: durable, and shared by any number of server processes and machines.

Nothing is kept in the process: the database is the only truth, so every process answers every
read alike. Two tables hold everything:

- ``rocket_messages``: every accepted message, applied or waiting, keyed by (channel, number).
  The key makes a duplicate impossible across processes.
- ``rocket_channels``: one row per channel with its applied prefix, highest number, pending
  count and current state (plus the fields ``GET /rockets`` sorts and filters on).

A group runs in one transaction that first locks its channels' rows (``SELECT … FOR UPDATE``, in
channel order, so that two processes never wait on each other in a cycle), loads their
sequencing state, lets the engine work, then writes the new messages and states and commits.
The row lock is what serializes a channel across processes; the in-process worker pool only
spares a process from waiting on itself.

The database may go away and come back while the server runs: a request then gets a
:class:`StoreError` (a 503) within the store timeout, and the first request after the database
returns is served (see :mod:`rockets.stores.connections`).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import msgspec

from rockets.core.rocket_index import select
from rockets.core.sequencer import Sequencer
from rockets.core.state_schema import StateSchema, build_state_schema
from rockets.errors import SettingsError, StoreError, TransientStoreError
from rockets.records import Applied, Record
from rockets.settings import Limits
from rockets.state import RocketState
from rockets.stores.base import Commit, Fold, Group, Replay, Store
from rockets.stores.connections import Connections, reason
from rockets.stores.rows import COLUMNS, message_row, record_of
from rockets.wire import RocketQuery

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg.conninfo import conninfo_to_dict
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise SettingsError(
        "the PostgreSQL store needs psycopg: pip install 'rockets[postgres]'"
    ) from exc

__all__ = ["SCHEMA_VERSION", "PostgresStore"]


SCHEMA_VERSION = 2
_SCHEMA_LOCK = 727_001  # pg_advisory_xact_lock key: one process creates the schema at a time

# "C" collation: text sorts by code point, as the in-memory stores sort it.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS rockets_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS rocket_messages (
    channel text COLLATE "C" NOT NULL,
    number bigint NOT NULL,
    type text NOT NULL,
    message_time text NOT NULL,
    received_at text NOT NULL,
    payload bytea NOT NULL,
    PRIMARY KEY (channel, number)
);
ALTER TABLE rocket_messages ADD COLUMN IF NOT EXISTS version integer NOT NULL DEFAULT 1;
ALTER TABLE rocket_messages ADD COLUMN IF NOT EXISTS position bigint;
ALTER TABLE rocket_messages ADD COLUMN IF NOT EXISTS state bytea;
CREATE UNIQUE INDEX IF NOT EXISTS rocket_messages_by_position ON rocket_messages (position);
CREATE TABLE IF NOT EXISTS rocket_log (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    last bigint NOT NULL
);
INSERT INTO rocket_log (last) VALUES (0) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS rocket_projections (
    name text PRIMARY KEY,
    version integer NOT NULL,
    position bigint NOT NULL,
    value bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS rocket_channels (
    channel text COLLATE "C" PRIMARY KEY,
    applied bigint NOT NULL DEFAULT 0,
    highest bigint NOT NULL DEFAULT 0,
    pending integer NOT NULL DEFAULT 0,
    state bytea,
    type text COLLATE "C",
    mission text COLLATE "C",
    speed numeric,
    status text COLLATE "C",
    launched_at timestamptz,
    updated_at timestamptz
);
"""
_MESSAGE_COLUMNS = COLUMNS
# Version 1 kept no positions: each channel's applied prefix is numbered, channel after
# channel, as if it had been written so; its events' states were not kept (the follower falls
# back on the rocket's current state for them).
_MIGRATE = """
UPDATE rocket_messages m SET position = p.position
FROM (
    SELECT m.channel, m.number, row_number() OVER (ORDER BY m.channel, m.number) AS position
    FROM rocket_messages m JOIN rocket_channels c USING (channel)
    WHERE m.number <= c.applied
) p
WHERE m.channel = p.channel AND m.number = p.number;
UPDATE rocket_log SET last = (SELECT coalesce(max(position), 0) FROM rocket_messages);
"""
_NOTIFY = "rockets_log"
"""The PostgreSQL channel a commit notifies, so that every process's follower reads what is new."""
_UPDATE_STATES = (
    "UPDATE rocket_channels c SET applied = v.applied, highest = v.highest, "
    "pending = v.pending, state = v.state, type = v.type, mission = v.mission, "
    "speed = v.speed, status = v.status, launched_at = v.launched_at, "
    "updated_at = v.updated_at FROM unnest(%s::text[], %s::bigint[], %s::bigint[], "
    "%s::integer[], %s::bytea[], %s::text[], %s::text[], %s::numeric[], %s::text[], "
    "%s::timestamptz[], %s::timestamptz[]) AS v(channel, applied, highest, pending, "
    "state, type, mission, speed, status, launched_at, updated_at) "
    "WHERE c.channel = v.channel"
)
_MESSAGE_ARRAYS = (
    "%s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[], %s::bytea[], %s::integer[]"
)
_INSERT_MESSAGES = (
    f"INSERT INTO rocket_messages ({_MESSAGE_COLUMNS}, position, state) SELECT * FROM "
    f"unnest({_MESSAGE_ARRAYS}, %s::bigint[], %s::bytea[])"
)
_LOG_MESSAGES = (
    "WITH log AS (UPDATE rocket_log SET last = last + %s RETURNING last - %s AS base), "
    "received AS ("
    f"INSERT INTO rocket_messages ({_MESSAGE_COLUMNS}, position, state) "
    "SELECT v.channel, v.number, v.type, v.message_time, v.received_at, v.payload, v.version, "
    f"log.base + v.place, v.state FROM unnest({_MESSAGE_ARRAYS}, %s::bigint[], %s::bytea[]) "
    "AS v(channel, number, type, message_time, received_at, payload, version, place, state), "
    "log), "
    "joined AS (UPDATE rocket_messages m SET position = log.base + w.place, state = w.state "
    "FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::bytea[]) "
    "AS w(channel, number, place, state), log "
    "WHERE m.channel = w.channel AND m.number = w.number) "
    "SELECT base FROM log"
)
"""One statement for a group that applied events: the log's row moved on (and locked), the
messages received inserted with their positions, those that waited before given theirs."""
_FOLLOW_BATCH = 1000
_SORT_COLUMNS = {
    "channel": "channel",
    "speed": "speed",
    "type": "type",
    "mission": "mission",
    "status": "status",
    "launchedAt": "launched_at",
    "updatedAt": "updated_at",
    "lastMessageNumber": "applied",
    "pending": "pending",
}
_TRANSIENT = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)
_BIGINT_MAX = 2**63 - 1
"""No table has more rows, nor a channel more events: a larger limit or offset means as much."""

_encoder = msgspec.json.Encoder()


def _holds_nul(*texts: str | None) -> bool:
    # PostgreSQL text cannot hold NUL, so no kept channel or field has one: a value with it
    # matches nothing, as it matches nothing in the other stores (and psycopg refuses to send
    # it at all).
    return any(text is not None and "\x00" in text for text in texts)


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """``rows`` of ``width`` values as ``width`` columns: the arrays a statement unnests."""
    if not rows:
        return [[] for _ in range(width)]
    return [list(column) for column in zip(*rows, strict=True)]


def _state_row(sequencer: Sequencer, state: RocketState) -> tuple[Any, ...]:
    return (
        state.channel,
        *sequencer.position(state.channel),
        _encoder.encode(state),
        state.type,
        state.mission,
        state.speed,
        state.status,
        state.launched_at,
        state.updated_at,
    )


class _PostgresGroup(Group):
    def __init__(
        self,
        conn: psycopg.AsyncConnection[Any],
        sequencer: Sequencer,
        states: dict[str, RocketState],
    ) -> None:
        self.sequencer = sequencer
        self._conn = conn
        self._states = states
        self.staged: Commit | None = None

    def state(self, channel: str) -> RocketState | None:
        return self._states.get(channel)

    async def applied(self, channel: str, number: int) -> Record | None:
        cursor = await self._conn.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM rocket_messages WHERE channel = %s AND number = %s",
            (channel, number),
        )
        row = await cursor.fetchone()
        return None if row is None else record_of(row)

    def stage(self, commit: Commit) -> None:
        self.staged = commit


class PostgresStore(Store):
    """A store in a PostgreSQL database, shareable by many server processes.

    Args:
        conninfo: a libpq connection string or URL.
        limits: the pending-buffer bounds. The bound per channel holds across processes; the
            bound over all channels is not enforced (counting every channel's buffer would cost
            a scan per group). ``store_timeout`` bounds every wait for a connection (a free one,
            a new one) and, as PostgreSQL's ``statement_timeout``, every statement.
        pool_min, pool_max: connections opened at start, and at most at once.
        open_timeout: how long ``open`` waits for a database that is starting or full
            (seconds); any other failure to connect fails ``open`` at once.

    Raises:
        SettingsError: the pool sizes are wrong, or libpq refuses the connection string.
    """

    name: ClassVar[str] = "postgresql"
    durable: ClassVar[bool] = True
    shared: ClassVar[bool] = True
    keeps_states: ClassVar[bool] = True

    def __init__(
        self,
        conninfo: str,
        limits: Limits,
        pool_min: int = 1,
        pool_max: int = 10,
        open_timeout: float = 30.0,
    ) -> None:
        self.conninfo = conninfo
        self.limits = limits
        self.open_timeout = open_timeout
        self._schema = build_state_schema(())
        if pool_max < 1 or not 0 <= pool_min <= pool_max:
            raise SettingsError(
                f"ROCKETS_STORE: need 0 <= pool_min <= pool_max and pool_max >= 1 "
                f"(got pool_min={pool_min}, pool_max={pool_max})"
            )
        try:
            params = conninfo_to_dict(conninfo)
        except psycopg.Error as exc:
            raise SettingsError(f"ROCKETS_STORE: {reason(exc)}") from None
        # Given at connection, so that it costs no round trip; first, so that an explicit
        # statement_timeout in the URL's own options still wins.
        timeout_ms = max(1, round(limits.store_timeout * 1000))
        # (Giving options hides libpq's PGOPTIONS, so that is passed on too.)
        given = params.get("options", os.environ.get("PGOPTIONS", ""))
        params["options"] = f"-c statement_timeout={timeout_ms} {given}".strip()
        self._connections = Connections(params, pool_max, pool_min, limits.store_timeout)
        self._listener: psycopg.AsyncConnection[Any] | None = None
        self._closed = False

    @classmethod
    def from_url(cls, url: str, limits: Limits) -> PostgresStore:
        """``postgresql://user:password@host:port/database``; ``pool_min``, ``pool_max`` and
        ``open_timeout`` in the query string are the store's, other parameters go to libpq."""
        parts = urlsplit(url)
        params = dict(parse_qsl(parts.query))
        try:
            pool_min = int(params.pop("pool_min", 1))
            pool_max = int(params.pop("pool_max", 10))
            open_timeout = float(params.pop("open_timeout", 30))
        except ValueError:
            raise SettingsError(
                "ROCKETS_STORE: pool_min, pool_max and open_timeout must be numbers"
            ) from None
        # libpq reads %20 as a space, never '+' (urlencode's default).
        conninfo = urlunsplit(parts._replace(query=urlencode(params, quote_via=quote)))
        return cls(conninfo, limits, pool_min, pool_max, open_timeout)

    async def open(self, schema: StateSchema, fold: Fold, replay: Replay | None = None) -> int:
        # States are kept, not rebuilt: ``fold`` is for ``rockets rebuild``, not for opening,
        # and nothing is read back for ``replay``: projections catch up by following the log.
        self._schema = schema
        self._closed = False
        try:
            await self._connections.open(self.open_timeout)
            async with self._connections.connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                await conn.execute(_SCHEMA)
                cursor = await conn.execute(
                    "SELECT value FROM rockets_meta WHERE key = 'schema_version'"
                )
                row = await cursor.fetchone()
                if row is not None and int(row[0]) == 1:
                    await conn.execute(_MIGRATE)
                if row is None or int(row[0]) <= SCHEMA_VERSION:
                    await conn.execute(
                        "INSERT INTO rockets_meta (key, value) VALUES ('schema_version', %s) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (str(SCHEMA_VERSION),),
                    )
                    row = (str(SCHEMA_VERSION),)
        except psycopg.Error as exc:
            await self._connections.close()
            raise StoreError(f"postgresql: cannot open the store: {reason(exc)}") from exc
        assert row is not None
        if int(row[0]) > SCHEMA_VERSION:
            raise StoreError(
                f"postgresql: schema version {row[0]} was written by a newer rockets "
                f"(this one knows {SCHEMA_VERSION})"
            )
        return 0

    async def close(self) -> None:
        self._closed = True
        listener, self._listener = self._listener, None
        if listener is not None:
            with suppress(psycopg.Error, OSError):
                await listener.close()
        await self._connections.close()

    async def position(self) -> int:
        rows = await self._query("SELECT last FROM rocket_log")
        return int(rows[0][0]) if rows else 0

    async def follow(self, after: int) -> AsyncIterator[list[Applied]]:
        """Every process's events after ``after``: read by position, woken by the commits'
        notifications (and once a second without one, should a notification be lost). While
        the database is down, it waits and tries again."""
        while not self._closed:
            try:
                batch = await self._events_after(after)
                if batch:
                    after = batch[-1].position
                    yield batch
                    continue
                if self._listener is None:
                    self._listener = await self._connections.connect()
                    await self._listener.execute(f"LISTEN {_NOTIFY}")
                async for _ in self._listener.notifies(timeout=1.0, stop_after=1):
                    pass
            except (psycopg.Error, OSError, StoreError):
                listener, self._listener = self._listener, None
                if listener is not None:
                    with suppress(psycopg.Error, OSError):
                        await listener.close()
                if not self._closed:
                    await asyncio.sleep(1.0)

    async def _events_after(self, after: int) -> list[Applied]:
        rows = await self._query(
            f"SELECT m.position, {', '.join('m.' + c for c in COLUMNS.split(', '))}, "
            "coalesce(m.state, c.state) FROM rocket_messages m JOIN rocket_channels c "
            "USING (channel) WHERE m.position > %s ORDER BY m.position LIMIT %s",
            (after, _FOLLOW_BATCH),
        )
        decode = self._schema.decoder.decode
        return [Applied(row[0], record_of(row[1:8]), decode(row[8])) for row in rows]

    async def load_projection(self, name: str) -> tuple[int, int, bytes] | None:
        rows = await self._query(
            "SELECT version, position, value FROM rocket_projections WHERE name = %s", (name,)
        )
        return None if not rows else (int(rows[0][0]), int(rows[0][1]), bytes(rows[0][2]))

    async def save_projection(self, name: str, version: int, position: int, value: bytes) -> None:
        # Every process folds the same log to the same value: the furthest one is kept.
        await self._query(
            "INSERT INTO rocket_projections (name, version, position, value) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET version = excluded.version, "
            "position = excluded.position, value = excluded.value "
            "WHERE excluded.version <> rocket_projections.version "
            "OR excluded.position > rocket_projections.position RETURNING name",
            (name, version, position, value),
        )

    async def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            async with self._connections.connection() as conn:
                cursor = await conn.execute(sql, params)
                return await cursor.fetchall()
        except psycopg.Error as exc:
            raise StoreError(f"postgresql: {reason(exc)}") from exc

    async def ping(self) -> None:
        await self._query("SELECT 1")

    @asynccontextmanager
    async def group(self, channels: Sequence[str]) -> AsyncIterator[Group]:
        # In pipeline mode, what needs no answer before the next statement goes in one round
        # trip: BEGIN with the statement that locks the channels, then every write, the
        # notification and COMMIT together. A group costs two round trips (three when some of
        # its channels have messages waiting), where one per statement cost seven.
        try:
            async with self._connections.connection() as conn:
                async with conn.pipeline(), conn.transaction():
                    group = await self._lock(conn, channels)
                    yield group
                    staged, logged = group.staged, None
                    if staged is not None:
                        logged = await self._write(conn, group, staged)
                if staged is not None and logged is not None:
                    # Answered with the COMMIT: where the log stood before this group's events.
                    row = await logged.fetchone()
                    assert row is not None
                    first = int(row[0]) + 1
                    group.positions = range(first, first + len(staged.applied))
        except _TRANSIENT as exc:
            raise TransientStoreError(f"postgresql: {reason(exc)}") from exc
        except psycopg.Error as exc:
            raise StoreError(f"postgresql: {reason(exc)}") from exc

    async def _lock(
        self, conn: psycopg.AsyncConnection[Any], channels: Sequence[str]
    ) -> _PostgresGroup:
        # One statement creates missing rows and locks them all, in channel order (so that
        # processes never wait on each other in a cycle); the no-op update is what locks an
        # existing row, and RETURNING then sees its latest committed version.
        cursor = await conn.execute(
            "INSERT INTO rocket_channels AS c (channel) SELECT unnest(%s::text[]) ORDER BY 1 "
            "ON CONFLICT (channel) DO UPDATE SET pending = c.pending "
            "RETURNING channel, applied, highest, pending, state",
            (list(channels),),
        )
        # The bound over all channels is not enforced here: see the class docstring.
        sequencer = Sequencer(self.limits.max_pending_per_channel, sys.maxsize)
        states: dict[str, RocketState] = {}
        waiting: list[tuple[str, int]] = []
        positions: dict[str, tuple[int, int]] = {}
        for channel, applied, highest, pending, state in await cursor.fetchall():
            positions[channel] = (applied, highest)
            if state is not None:
                states[channel] = self._schema.decoder.decode(state)
            if pending:
                waiting.append((channel, applied))
        held: dict[str, list[Record]] = {}
        if waiting:
            cursor = await conn.execute(
                f"SELECT {', '.join('m.' + c for c in _MESSAGE_COLUMNS.split(', '))} "
                "FROM rocket_messages m JOIN unnest(%s::text[], %s::bigint[]) AS w(channel, "
                "applied) ON m.channel = w.channel WHERE m.number > w.applied",
                ([c for c, _ in waiting], [a for _, a in waiting]),
            )
            for row in await cursor.fetchall():
                record = record_of(row)
                held.setdefault(record.channel, []).append(record)
        for channel, (applied, highest) in positions.items():
            sequencer.load(channel, applied, highest, held.get(channel, ()))
        return _PostgresGroup(conn, sequencer, states)

    async def _write(
        self, conn: psycopg.AsyncConnection[Any], group: _PostgresGroup, commit: Commit
    ) -> psycopg.AsyncCursor[Any] | None:
        """Queue the group's writes (whole arrays in one statement each) and its notification;
        the cursor whose one row is where the log stood before this group's events, or None
        when it applied none."""
        sequencer = group.sequencer
        if commit.states:
            rows = [_state_row(sequencer, s) for s in commit.states]
            await conn.execute(_UPDATE_STATES, _columns(rows, 11))
        if not commit.applied:
            if commit.received:
                rows = [(*message_row(r), None, None) for r in commit.received]
                await conn.execute(_INSERT_MESSAGES, _columns(rows, 9))
            return None
        # Each applied event's place among this group's (1, 2, 3…) and the state after it; the
        # statement adds where the log stood, taken from its one row, locked until COMMIT, so
        # that positions are committed in the order they are taken and a follower never sees a
        # later one before an earlier.
        encode = _encoder.encode
        places = {
            (record.channel, record.message_number): (place, encode(state))
            for place, (record, state) in enumerate(
                zip(commit.applied, commit.after, strict=True), start=1
            )
        }
        received = []
        for record in commit.received:
            place, state = places.pop((record.channel, record.message_number), (None, None))
            received.append((*message_row(record), place, state))
        # What is left waited behind a gap in an earlier group: it joins the log now.
        joined = [
            (channel, number, place, state) for (channel, number), (place, state) in places.items()
        ]
        count = len(commit.applied)
        logged = await conn.execute(
            _LOG_MESSAGES, [count, count, *_columns(received, 9), *_columns(joined, 4)]
        )
        await conn.execute(f"NOTIFY {_NOTIFY}")
        return logged

    async def rocket(self, channel: str) -> RocketState | None:
        if _holds_nul(channel):
            return None
        rows = await self._query(
            "SELECT state FROM rocket_channels WHERE channel = %s AND state IS NOT NULL",
            (channel,),
        )
        return self._schema.decoder.decode(rows[0][0]) if rows else None

    async def rockets(self, query: RocketQuery) -> tuple[int, list[RocketState]]:
        if _holds_nul(query.status, query.type, query.mission):
            return 0, []
        where, params = ["state IS NOT NULL"], []
        for name in ("status", "type", "mission"):
            value = getattr(query, name)
            if value is not None:
                where.append(f"{name} = %s")
                params.append(value)
        condition = " AND ".join(where)
        decode = self._schema.decoder.decode
        column = _SORT_COLUMNS.get(query.sort)
        if column is None or query.where:
            # A plugin's field has no column: select in Python, over every matching rocket.
            rows = await self._query(f"SELECT state FROM rocket_channels WHERE {condition}", params)
            plain = msgspec.structs.replace(query, status=None, type=None, mission=None)
            return select((decode(row[0]) for row in rows), plain, self._schema)
        direction = "DESC" if query.order == "desc" else "ASC"
        order = f"{column} {direction} NULLS LAST, channel {direction}"
        offset = min(int(query.offset), _BIGINT_MAX)
        page = "" if query.limit is None else f" LIMIT {min(int(query.limit), _BIGINT_MAX)}"
        # The count rides along with the page, so that both come from one snapshot.
        rows = await self._query(
            f"SELECT count(*) OVER (), state FROM rocket_channels WHERE {condition} "
            f"ORDER BY {order}{page} OFFSET {offset}",
            params,
        )
        if rows:
            return int(rows[0][0]), [decode(row[1]) for row in rows]
        (total,) = (
            await self._query(f"SELECT count(*) FROM rocket_channels WHERE {condition}", params)
        )[0]
        return int(total), []

    async def events(self, channel: str, start: int, limit: int) -> list[Record]:
        if _holds_nul(channel) or start > _BIGINT_MAX:
            return []
        limit = min(limit, _BIGINT_MAX)
        rows = await self._query(
            f"SELECT {_MESSAGE_COLUMNS} FROM rocket_messages WHERE channel = %s AND number >= %s "
            "AND number <= (SELECT applied FROM rocket_channels WHERE channel = %s) "
            "ORDER BY number LIMIT %s",
            (channel, start, channel, limit),
        )
        return [record_of(row) for row in rows]

    async def waiting(self) -> list[RocketState]:
        rows = await self._query(
            "SELECT state FROM rocket_channels WHERE pending > 0 AND state IS NOT NULL"
        )
        return [self._schema.decoder.decode(row[0]) for row in rows]

    async def count(self) -> int:
        rows = await self._query("SELECT count(*) FROM rocket_channels WHERE state IS NOT NULL")
        return int(rows[0][0])

    async def received(self) -> AsyncIterator[Record]:
        rows = await self._query(
            f"SELECT {_MESSAGE_COLUMNS} FROM rocket_messages ORDER BY channel, number"
        )
        for row in rows:
            yield record_of(row)
